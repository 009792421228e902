//! The registry of live sessions: what the admin page shows of each.
//!
//! Each session's record has its own mutex, so a session updating its
//! activity never contends with other sessions; the registry's map is only
//! locked to register, deregister and take a snapshot.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::activity::SentPicture;
use crate::sync::lock;

/// Which YAIL client a session seems to be, judged from the graphics
/// modes it asked for ([`ConnectionGuard::set_mode`]).
///
/// [`ConnectionGuard::set_mode`]: crate::ConnectionGuard::set_mode
///
/// ```
/// use yail_state::{Dialect, ServerState};
///
/// let state = ServerState::new();
/// let session = state.connect("192.0.2.7:50000".parse().unwrap());
/// session.set_mode(8); // both clients send 8
/// assert_eq!(session.info().dialect, Dialect::Unknown);
/// session.set_mode(10); // only the current client sends 10
/// assert_eq!(session.info().dialect.name(), "current (v2)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Nothing telling yet.
    #[default]
    Unknown,
    /// The legacy client (v1.5.x): VBXE as 17, hi-res 18, `gen <model> "..."`.
    Legacy,
    /// The current client (v2.x): Graphics 15 as 6, Graphics 10 as 10, VBXE as 16.
    Current,
}

impl Dialect {
    /// The dialect a `gfx` value gives away, if it is one only one client
    /// sends: 6, 10 and 16 (current), 17 and 18 (legacy). The others (2, 4,
    /// 8, 42) both clients send.
    pub(crate) fn from_mode_value(value: u8) -> Dialect {
        match value {
            6 | 10 | 16 => Dialect::Current,
            17 | 18 => Dialect::Legacy,
            _ => Dialect::Unknown,
        }
    }

    /// A short name for status pages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Unknown => "unknown",
            Dialect::Legacy => "legacy (v1.5)",
            Dialect::Current => "current (v2)",
        }
    }
}

/// What the admin page shows about one session: a copy taken by
/// [`ServerState::sessions`] or [`ConnectionGuard::info`].
///
/// [`ServerState::sessions`]: crate::ServerState::sessions
/// [`ConnectionGuard::info`]: crate::ConnectionGuard::info
///
/// ```
/// use yail_state::{Dialect, ServerState};
///
/// let state = ServerState::new();
/// let _session = state.connect("192.0.2.7:50000".parse().unwrap());
/// let info = &state.sessions()[0];
/// assert_eq!(info.peer.to_string(), "192.0.2.7:50000");
/// assert_eq!((info.activity.as_str(), info.mode, info.dialect), ("idle", None, Dialect::Unknown));
/// assert!(info.last_picture.is_none());
/// ```
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
    /// Which client it seems to be.
    pub dialect: Dialect,
    /// The search terms or prompt of the current source, if it has one.
    pub term: Option<String>,
    /// The last picture packet sent.
    pub last_picture: Option<Arc<SentPicture>>,
}

#[derive(Default)]
pub(crate) struct Sessions {
    next_id: AtomicU64,
    live: Mutex<BTreeMap<u64, Arc<Mutex<SessionInfo>>>>,
}

impl Sessions {
    /// Adds a record for a new session; returns its id and the record,
    /// which the session then updates under the record's own lock.
    pub(crate) fn register(&self, peer: SocketAddr) -> (u64, Arc<Mutex<SessionInfo>>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let record = Arc::new(Mutex::new(SessionInfo {
            id,
            peer,
            started: SystemTime::now(),
            mode: None,
            activity: String::from("idle"),
            images_sent: 0,
            dialect: Dialect::Unknown,
            term: None,
            last_picture: None,
        }));
        lock(&self.live).insert(id, Arc::clone(&record));
        (id, record)
    }

    pub(crate) fn snapshot(&self) -> Vec<SessionInfo> {
        // Clone the handles first so per-session locks are taken after the
        // registry lock is released.
        let records: Vec<_> = lock(&self.live).values().cloned().collect();
        records.iter().map(|r| lock(r).clone()).collect()
    }

    pub(crate) fn remove(&self, id: u64) {
        lock(&self.live).remove(&id);
    }
}
