//! The registry of live sessions and the guard that keeps an entry alive.
//!
//! Each session's record has its own mutex, so a session updating its
//! activity never contends with other sessions; the registry's map is only
//! locked to register, deregister and take a snapshot.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::activity::SentPicture;
use crate::{ServerState, lock};

/// Longest search term or prompt kept per session, in characters.
const MAX_TERM_CHARS: usize = 200;

/// Which YAIL client a session seems to be, judged from what it sent.
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
    pub fn from_mode_value(value: u8) -> Dialect {
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
    pub(crate) fn register(&self, state: ServerState, peer: SocketAddr) -> ConnectionGuard {
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

    /// Records the mode the client chose; a value only one client sends
    /// also settles the session's dialect.
    pub fn set_mode(&self, value: u8) {
        let mut record = lock(&self.record);
        record.mode = Some(value);
        let dialect = Dialect::from_mode_value(value);
        if dialect != Dialect::Unknown {
            record.dialect = dialect;
        }
    }

    /// Records which client the session is, when a command gives it away.
    pub fn set_dialect(&self, dialect: Dialect) {
        lock(&self.record).dialect = dialect;
    }

    /// Records the session's new source (shown as its activity) and its
    /// search terms or prompt, cut to a bounded length.
    pub fn set_source(&self, source: &str, term: Option<&str>) {
        let term = term.map(|t| t.chars().take(MAX_TERM_CHARS).collect());
        let mut record = lock(&self.record);
        source.clone_into(&mut record.activity);
        record.term = term;
    }

    /// Records a picture packet sent to this session for the current
    /// source, `took` after the request: counts it, keeps it as the
    /// session's last picture and among the server's recent ones, and
    /// marks the source as working.
    pub fn record_picture(&self, packet: &[u8], took: Duration) {
        let source = lock(&self.record).activity.clone();
        let shared = &self.state.shared;
        let picture = shared.recent.push(self.id, &source, took, packet);
        shared.metrics.record_request(took);
        shared.sources.record_success(&source);
        let mut record = lock(&self.record);
        record.images_sent += 1;
        record.last_picture = Some(picture);
    }

    /// Records a request of this session that failed with `message`,
    /// against its current source.
    pub fn record_failure(&self, message: &str) {
        let source = lock(&self.record).activity.clone();
        self.state.shared.sources.record_error(&source, message);
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
