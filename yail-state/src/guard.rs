//! The guard a session holds while it lives: it updates the session's
//! record and the server-wide activity, and deregisters the session when
//! dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sessions::{Dialect, SessionInfo};
use crate::shared::Shared;
use crate::sync::lock;

/// Longest search term or prompt kept per session, in characters.
const MAX_TERM_CHARS: usize = 200;

/// A registered session, made by [`ServerState::connect`]. Dropping it
/// deregisters the session and uncounts its connection, whether the
/// session ended normally, panicked or was cancelled.
///
/// [`ServerState::connect`]: crate::ServerState::connect
///
/// ```
/// use std::time::Duration;
/// use yail_state::{Dialect, ServerState};
///
/// let state = ServerState::new();
/// let session = state.connect("192.0.2.7:50000".parse().unwrap());
/// session.set_mode(17); // only the legacy client sends 17
/// session.set_source("search", Some("atari 800"));
/// session.record_picture(&[0x01, 0x01, 0x00, 17], Duration::from_millis(40));
///
/// let info = session.info();
/// assert_eq!((info.mode, info.dialect), (Some(17), Dialect::Legacy));
/// assert_eq!((info.activity.as_str(), info.term.as_deref()), ("search", Some("atari 800")));
/// assert_eq!(info.images_sent, 1);
/// assert_eq!(state.recent_pictures().snapshot()[0].session, session.id());
/// ```
#[must_use = "the session is deregistered when the guard is dropped"]
pub struct ConnectionGuard {
    shared: Arc<Shared>,
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
    /// Registers a session for `peer` and counts its connection.
    pub(crate) fn register(shared: &Arc<Shared>, peer: std::net::SocketAddr) -> ConnectionGuard {
        shared.metrics.open_connection();
        let (id, record) = shared.sessions.register(peer);
        ConnectionGuard {
            shared: Arc::clone(shared),
            id,
            record,
        }
    }

    /// The session's id.
    pub fn id(&self) -> u64 {
        self.id
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
        let shared = &self.shared;
        let picture = shared.recent.push(self.id, &source, took, packet);
        shared.metrics.record_request(took);
        shared.sources.record_success(&source);
        let mut record = lock(&self.record);
        record.images_sent += 1;
        record.last_picture = Some(picture);
    }

    /// Records a request of this session that failed with `message`,
    /// against its current source.
    ///
    /// ```
    /// use yail_state::ServerState;
    ///
    /// let state = ServerState::new();
    /// let session = state.connect("192.0.2.7:50000".parse().unwrap());
    /// session.set_source("search", Some("cats"));
    /// session.record_failure("the search engine did not answer");
    /// let search = &state.sources().snapshot()[0];
    /// assert_eq!((search.name.as_str(), search.failures), ("search", 1));
    /// ```
    pub fn record_failure(&self, message: &str) {
        let source = lock(&self.record).activity.clone();
        self.shared.sources.record_error(&source, message);
    }

    /// The session's record as it is now.
    pub fn info(&self) -> SessionInfo {
        lock(&self.record).clone()
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared.sessions.remove(self.id);
        self.shared.metrics.close_connection();
    }
}
