//! What the server has been doing, for status pages: the pictures it sent
//! most recently, how each source fared, and the tail of its log.
//!
//! Every collection here is a bounded ring or a map keyed by a small fixed
//! set of names, so nothing grows with uptime or with what clients send.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::sync::lock;

/// Pictures kept by [`RecentPictures`].
pub(crate) const RECENT_PICTURES: usize = 24;
/// Lines kept by [`LogTail`].
pub(crate) const LOG_LINES: usize = 500;
/// Longest log message kept, in bytes; longer ones are cut.
pub(crate) const MAX_LOG_MESSAGE: usize = 2048;
/// Longest source error kept, in bytes.
const MAX_SOURCE_ERROR: usize = 300;
/// Source names tracked; further names share the last entry's fate of
/// being ignored, so a client cannot grow the map.
const MAX_SOURCES: usize = 32;

/// One picture packet a session sent, as [`RecentPictures`] and
/// [`SessionInfo::last_picture`](crate::SessionInfo::last_picture) keep it
/// (see [`RecentPictures`] for an example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentPicture {
    /// Unique for the life of the state, starting at 1.
    pub seq: u64,
    /// The session it went to.
    pub session: u64,
    /// When it was sent.
    pub at: SystemTime,
    /// The source it came from ("files", "search", ...).
    pub source: String,
    /// The mode byte of its header.
    pub mode: u8,
    /// How long the server took from the request to a ready packet
    /// (loading and converting; near zero when cached or prefetched).
    pub took: Duration,
    /// The packet as sent.
    pub packet: Arc<[u8]>,
}

/// The last 24 pictures sent, newest last, reached through
/// [`ServerState::recent_pictures`]; sessions add to it with
/// [`ConnectionGuard::record_picture`].
///
/// [`ServerState::recent_pictures`]: crate::ServerState::recent_pictures
/// [`ConnectionGuard::record_picture`]: crate::ConnectionGuard::record_picture
///
/// ```
/// use std::time::Duration;
/// use yail_state::ServerState;
///
/// let state = ServerState::new();
/// let session = state.connect("192.0.2.7:50000".parse().unwrap());
/// session.set_source("files", None);
/// for mode in [8, 9, 10] {
///     session.record_picture(&[0x01, 0x01, 0x00, mode], Duration::from_millis(5));
/// }
/// let held = state.recent_pictures().snapshot();
/// let modes: Vec<u8> = held.iter().map(|p| p.mode).collect();
/// assert_eq!(modes, [8, 9, 10]); // oldest first
/// let newest = state.recent_pictures().get(held[2].seq).unwrap();
/// assert_eq!((newest.source.as_str(), &newest.packet[..]), ("files", &[1, 1, 0, 10][..]));
/// ```
#[derive(Debug, Default)]
pub struct RecentPictures {
    next_seq: AtomicU64,
    ring: Mutex<VecDeque<Arc<SentPicture>>>,
}

impl RecentPictures {
    /// Records a picture and returns it as stored (with its sequence number).
    pub(crate) fn push(
        &self,
        session: u64,
        source: &str,
        took: Duration,
        packet: &[u8],
    ) -> Arc<SentPicture> {
        let packet: Arc<[u8]> = Arc::from(packet);
        let source = source.to_string();
        // The number is taken under the ring's lock, so the ring is always
        // in number order however many sessions record at once.
        let mut ring = lock(&self.ring);
        let picture = Arc::new(SentPicture {
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed) + 1,
            session,
            at: SystemTime::now(),
            source,
            mode: packet.get(3).copied().unwrap_or(0),
            took,
            packet,
        });
        if ring.len() == RECENT_PICTURES {
            ring.pop_front();
        }
        ring.push_back(Arc::clone(&picture));
        picture
    }

    /// Every picture held, oldest first.
    pub fn snapshot(&self) -> Vec<Arc<SentPicture>> {
        lock(&self.ring).iter().cloned().collect()
    }

    /// The picture with sequence number `seq`, while it is still held.
    pub fn get(&self, seq: u64) -> Option<Arc<SentPicture>> {
        lock(&self.ring).iter().find(|p| p.seq == seq).cloned()
    }
}

/// How one image source has fared (see [`SourceStatuses`] for an
/// example).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceStatus {
    /// The source's name.
    pub name: String,
    /// Pictures it delivered.
    pub successes: u64,
    /// Requests it failed.
    pub failures: u64,
    /// When it last delivered a picture.
    pub last_success: Option<SystemTime>,
    /// When it last failed, and why.
    pub last_error: Option<(SystemTime, String)>,
}

/// Per-source outcomes, by source name, reached through
/// [`ServerState::sources`]. Sessions record them through their
/// [`ConnectionGuard`](crate::ConnectionGuard); at most 32 names are
/// tracked, so clients cannot grow the map.
///
/// [`ServerState::sources`]: crate::ServerState::sources
///
/// ```
/// use yail_state::ServerState;
///
/// let state = ServerState::new();
/// state.sources().record_error("search", "the engine did not answer");
/// let search = &state.sources().snapshot()[0];
/// assert_eq!((search.name.as_str(), search.successes, search.failures), ("search", 0, 1));
/// assert_eq!(
///     search.last_error.as_ref().map(|(_, why)| why.as_str()),
///     Some("the engine did not answer")
/// );
/// ```
#[derive(Debug, Default)]
pub struct SourceStatuses {
    by_name: Mutex<BTreeMap<String, SourceStatus>>,
}

impl SourceStatuses {
    fn with(&self, name: &str, change: impl FnOnce(&mut SourceStatus)) {
        let mut map = lock(&self.by_name);
        if !map.contains_key(name) && map.len() >= MAX_SOURCES {
            return;
        }
        let status = map.entry(name.to_string()).or_insert_with(|| SourceStatus {
            name: name.to_string(),
            ..SourceStatus::default()
        });
        change(status);
    }

    /// Records a picture delivered by `name`.
    pub(crate) fn record_success(&self, name: &str) {
        self.with(name, |s| {
            s.successes += 1;
            s.last_success = Some(SystemTime::now());
        });
    }

    /// Records a failed request to `name` (its message cut to 300 bytes).
    pub fn record_error(&self, name: &str, message: &str) {
        let message = truncated(message, MAX_SOURCE_ERROR);
        self.with(name, |s| {
            s.failures += 1;
            s.last_error = Some((SystemTime::now(), message));
        });
    }

    /// Every source, by name.
    pub fn snapshot(&self) -> Vec<SourceStatus> {
        lock(&self.by_name).values().cloned().collect()
    }
}

/// One line of the server's log (see [`LogTail`] for an example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Unique and increasing, starting at 1.
    pub seq: u64,
    /// When it was logged.
    pub at: SystemTime,
    /// "ERROR", "WARN", "INFO", "DEBUG" or "TRACE".
    pub level: String,
    /// The module that logged it.
    pub target: String,
    /// The message and its fields, as text.
    pub message: String,
}

/// The last 500 lines of the server's log, reached through
/// [`ServerState::logs`]; a logging layer pushes them, a status page reads
/// what is new since the last line it showed.
///
/// [`ServerState::logs`]: crate::ServerState::logs
///
/// ```
/// use yail_state::ServerState;
///
/// let state = ServerState::new();
/// let first = state.logs().push("INFO", "yail_server", "listening on 0.0.0.0:5556");
/// state.logs().push("WARN", "yail_server::session", "request failed");
/// let new: Vec<String> = state.logs().since(first).into_iter().map(|l| l.message).collect();
/// assert_eq!(new, ["request failed"]);
/// assert_eq!(state.logs().since(0).len(), 2);
/// ```
#[derive(Debug, Default)]
pub struct LogTail {
    ring: Mutex<(u64, VecDeque<LogLine>)>,
}

impl LogTail {
    /// Appends a line (its message cut to 2048 bytes) and returns its
    /// sequence number.
    pub fn push(&self, level: &str, target: &str, message: &str) -> u64 {
        let message = truncated(message, MAX_LOG_MESSAGE);
        let mut ring = lock(&self.ring);
        ring.0 += 1;
        let line = LogLine {
            seq: ring.0,
            at: SystemTime::now(),
            level: level.to_string(),
            target: target.to_string(),
            message,
        };
        if ring.1.len() == LOG_LINES {
            ring.1.pop_front();
        }
        ring.1.push_back(line);
        ring.0
    }

    /// The lines after `seq` still held, oldest first (`0`: all of them).
    pub fn since(&self, seq: u64) -> Vec<LogLine> {
        let ring = lock(&self.ring);
        let skip = ring.1.partition_point(|l| l.seq <= seq);
        ring.1.iter().skip(skip).cloned().collect()
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn truncated(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_pictures_keep_the_newest_in_order() {
        let recent = RecentPictures::default();
        for i in 0..RECENT_PICTURES + 5 {
            recent.push(1, "files", Duration::from_millis(i as u64), &[1, 1, 0, 2]);
        }
        let held = recent.snapshot();
        assert_eq!(held.len(), RECENT_PICTURES);
        assert_eq!(held[0].seq, 6);
        assert_eq!(held.last().map(|p| p.seq), Some(RECENT_PICTURES as u64 + 5));
        assert!(held.windows(2).all(|w| w[0].seq < w[1].seq));
        assert!(recent.get(5).is_none() && recent.get(6).is_some());
        assert_eq!(held[0].mode, 2);
    }

    #[test]
    fn log_tail_returns_lines_after_a_sequence_number() {
        let tail = LogTail::default();
        for i in 0..LOG_LINES + 10 {
            tail.push("INFO", "t", &format!("line {i}"));
        }
        assert_eq!(tail.since(0).len(), LOG_LINES);
        let after = tail.since(LOG_LINES as u64 + 7);
        assert_eq!(
            after.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            ["line 507", "line 508", "line 509"]
        );
        assert!(tail.since(LOG_LINES as u64 + 10).is_empty());
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let tail = LogTail::default();
        tail.push("INFO", "t", &"é".repeat(MAX_LOG_MESSAGE));
        let kept = &tail.since(0)[0].message;
        assert!(kept.len() <= MAX_LOG_MESSAGE + '…'.len_utf8());
        assert!(kept.ends_with('…'));
    }

    #[test]
    fn source_names_are_bounded() {
        let sources = SourceStatuses::default();
        for i in 0..MAX_SOURCES + 10 {
            sources.record_error(&format!("s{i}"), "down");
        }
        assert_eq!(sources.snapshot().len(), MAX_SOURCES);
        sources.record_success("s0");
        let s0 = sources.snapshot().into_iter().find(|s| s.name == "s0");
        assert!(s0.is_some_and(|s| s.successes == 1 && s.failures == 1));
    }
}
