//! The registry of live sessions and the guard that keeps an entry alive.
//!
//! Each session's record has its own mutex, so a session updating its
//! activity never contends with other sessions; the registry's map is only
//! locked to register, deregister and take a snapshot.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::{ServerState, lock};

/// What the admin page shows about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Unique for the life of the state, starting at 1.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// When the session began.
    pub started: SystemTime,
    /// The graphics mode value the client chose, if any yet.
    pub mode: Option<u8>,
    /// What the session is doing, in a few words ("idle", "files", ...).
    pub activity: String,
    /// Images sent so far.
    pub images_sent: u64,
}

#[derive(Default)]
pub(crate) struct Sessions {
    next_id: AtomicU64,
    live: Mutex<BTreeMap<u64, Arc<Mutex<SessionInfo>>>>,
}

impl Sessions {
    pub(crate) fn register(&self, state: ServerState, peer: SocketAddr) -> ConnectionGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let record = Arc::new(Mutex::new(SessionInfo {
            id,
            peer,
            started: SystemTime::now(),
            mode: None,
            activity: String::from("idle"),
            images_sent: 0,
        }));
        lock(&self.live).insert(id, Arc::clone(&record));
        ConnectionGuard { state, id, record }
    }

    pub(crate) fn snapshot(&self) -> Vec<SessionInfo> {
        // Clone the handles first so per-session locks are taken after the
        // registry lock is released.
        let records: Vec<_> = lock(&self.live).values().cloned().collect();
        records.iter().map(|r| lock(r).clone()).collect()
    }

    fn remove(&self, id: u64) {
        lock(&self.live).remove(&id);
    }
}

/// A registered session. Dropping it deregisters the session and uncounts
/// its connection, whether the session ended normally, panicked or was
/// cancelled.
#[must_use = "the session is deregistered when the guard is dropped"]
pub struct ConnectionGuard {
    state: ServerState,
    id: u64,
    record: Arc<Mutex<SessionInfo>>,
}

impl std::fmt::Debug for ConnectionGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionGuard")
            .field("id", &self.id)
            .finish()
    }
}

impl ConnectionGuard {
    /// The session's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Changes the session's record (mode, activity...). The closure runs
    /// under the session's own lock: keep it short.
    pub fn update(&self, change: impl FnOnce(&mut SessionInfo)) {
        let mut record = lock(&self.record);
        let id = record.id;
        change(&mut record);
        record.id = id; // the id is the registry key; it does not change
    }

    /// Counts one image sent to this session.
    pub fn record_image(&self) {
        lock(&self.record).images_sent += 1;
    }

    /// The session's record as it is now.
    pub fn info(&self) -> SessionInfo {
        lock(&self.record).clone()
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.state.shared.sessions.remove(self.id);
        self.state.decrement_connections();
    }
}
