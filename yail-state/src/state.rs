//! The handle a server passes to all its sessions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::activity::{LogTail, RecentPictures, SourceStatuses};
use crate::catalogue::Catalogue;
use crate::guard::ConnectionGuard;
use crate::metrics::Metrics;
use crate::runtime::RuntimeSettings;
use crate::sessions::SessionInfo;
use crate::shared::Shared;

/// The state a YAIL server shares between all its sessions.
///
/// A cheap handle: clones share the same state. Every method takes `&self`
/// and returns owned values, so callers never hold a lock themselves (in
/// particular never across an `.await`).
///
/// ```
/// use yail_state::ServerState;
///
/// let state = ServerState::new();
/// let for_a_session = state.clone();
/// let _session = for_a_session.connect("192.0.2.7:50000".parse().unwrap());
/// assert_eq!(state.connections(), 1); // the clone shares everything
/// ```
#[derive(Clone, Default)]
pub struct ServerState {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("files", &self.file_count())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl ServerState {
    /// Empty state: no files, no connections.
    pub fn new() -> ServerState {
        ServerState::default()
    }

    /// A file chosen uniformly at random, other than `previous` whenever
    /// the catalogue has another one, so a slideshow does not show the same
    /// picture twice in a row. `None` when the catalogue is empty.
    ///
    /// ```
    /// use std::path::{Path, PathBuf};
    /// use yail_state::ServerState;
    ///
    /// let state = ServerState::new();
    /// assert_eq!(state.random_file_except(None), None);
    /// state.replace_files(["a.png", "b.png"].map(PathBuf::from).into_iter().collect());
    /// let next = state.random_file_except(Some(Path::new("a.png")));
    /// assert_eq!(next.as_deref(), Some(Path::new("b.png")));
    /// ```
    pub fn random_file_except(&self, previous: Option<&Path>) -> Option<PathBuf> {
        self.shared.catalogue.load().random(previous).cloned()
    }

    /// How many files the catalogue holds.
    pub fn file_count(&self) -> usize {
        self.shared.catalogue.load().len()
    }

    /// Replaces the whole catalogue at once (a rescan). Readers see either
    /// the old or the new catalogue, never a mixture.
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use yail_state::{Catalogue, ServerState};
    ///
    /// let state = ServerState::new();
    /// let scanned: Catalogue = (0..3).map(|i| PathBuf::from(format!("{i}.jpg"))).collect();
    /// state.replace_files(scanned);
    /// assert_eq!(state.file_count(), 3);
    /// state.replace_files(Catalogue::new());
    /// assert_eq!(state.file_count(), 0);
    /// ```
    pub fn replace_files(&self, catalogue: Catalogue) {
        self.shared.catalogue.replace(catalogue);
    }

    /// Connections open now: sessions whose [`ConnectionGuard`] is alive.
    pub fn connections(&self) -> usize {
        self.shared.metrics.open_connections()
    }

    /// Registers a session for `peer` and counts its connection; both are
    /// undone when the guard is dropped (also on panic or when the task
    /// owning it is cancelled).
    ///
    /// ```
    /// use yail_state::ServerState;
    ///
    /// let state = ServerState::new();
    /// let guard = state.connect("192.0.2.7:50000".parse().unwrap());
    /// assert_eq!(state.connections(), 1);
    /// assert_eq!(state.sessions()[0].id, guard.id());
    /// drop(guard);
    /// assert_eq!(state.connections(), 0);
    /// assert!(state.sessions().is_empty());
    /// ```
    pub fn connect(&self, peer: std::net::SocketAddr) -> ConnectionGuard {
        ConnectionGuard::register(&self.shared, peer)
    }

    /// A snapshot of every registered session, ordered by id.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.sessions.snapshot()
    }

    /// The server's counters and latency histograms ([`Metrics`]).
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The pictures sent most recently ([`RecentPictures`]).
    pub fn recent_pictures(&self) -> &RecentPictures {
        &self.shared.recent
    }

    /// How each image source has fared ([`SourceStatuses`]).
    pub fn sources(&self) -> &SourceStatuses {
        &self.shared.sources
    }

    /// The tail of the server's log ([`LogTail`]; filled by whoever
    /// installs a logger that writes into it).
    pub fn logs(&self) -> &LogTail {
        &self.shared.logs
    }

    /// The runtime-changeable settings as they are now.
    pub fn runtime_settings(&self) -> Arc<RuntimeSettings> {
        self.shared.runtime.load()
    }

    /// Replaces the runtime-changeable settings; requests that start
    /// afterwards see the new ones, and a snapshot taken before does not
    /// change under its reader.
    ///
    /// ```
    /// use yail_state::{RuntimeSettings, ServerState};
    ///
    /// let state = ServerState::new();
    /// let before = state.runtime_settings();
    /// state.set_runtime_settings(RuntimeSettings {
    ///     search_engine: Some("searxng".into()),
    ///     ..RuntimeSettings::default()
    /// });
    /// assert_eq!(state.runtime_settings().search_engine.as_deref(), Some("searxng"));
    /// assert_eq!(before.search_engine, None);
    /// ```
    pub fn set_runtime_settings(&self, settings: RuntimeSettings) {
        self.shared.runtime.store(settings);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;
    use std::time::Duration;

    use proptest::prelude::*;

    use super::ServerState;
    use crate::activity::{LOG_LINES, RECENT_PICTURES};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Sessions on several threads recording pictures and log lines at
        /// once: the rings keep exactly the newest entries, each once, in
        /// order, and every session's count and last picture are its own.
        #[test]
        fn pictures_and_log_lines_from_many_threads_are_all_accounted_for(
            per_thread in proptest::collection::vec(0usize..40, 1..5)
        ) {
            let state = ServerState::new();
            let barrier = Barrier::new(per_thread.len());
            let counts: Vec<(u64, u64, Option<u64>)> = std::thread::scope(|scope| {
                let handles: Vec<_> = per_thread.iter().enumerate().map(|(t, &n)| {
                    let (state, barrier) = (&state, &barrier);
                    scope.spawn(move || {
                        let guard = state.connect(format!("127.0.0.{}:1", t + 1).parse().unwrap());
                        guard.set_source("files", None);
                        barrier.wait();
                        for i in 0..n {
                            guard.record_picture(&[1, 1, 0, t as u8, i as u8], Duration::from_micros(i as u64));
                            state.logs().push("INFO", "test", &format!("{t}/{i}"));
                        }
                        let info = guard.info();
                        let last = info.last_picture.as_ref().map(|p| u64::from(p.packet[4]));
                        prop_assert!(info.last_picture.iter().all(|p| p.session == guard.id() && p.mode == t as u8));
                        Ok((guard.id(), info.images_sent, last))
                    })
                }).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect::<Result<_, TestCaseError>>()
            })?;
            let total: usize = per_thread.iter().sum();
            for ((_, sent, last), &n) in counts.iter().zip(&per_thread) {
                prop_assert_eq!(*sent, n as u64);
                prop_assert_eq!(*last, n.checked_sub(1).map(|l| l as u64));
            }
            let recent = state.recent_pictures().snapshot();
            prop_assert_eq!(recent.len(), total.min(RECENT_PICTURES));
            let seqs: Vec<u64> = recent.iter().map(|p| p.seq).collect();
            let expected: Vec<u64> = ((total - recent.len()) as u64 + 1..=total as u64).collect();
            prop_assert_eq!(seqs, expected);
            let lines = state.logs().since(0);
            prop_assert_eq!(lines.len(), total.min(LOG_LINES));
            prop_assert!(lines.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
            let files = state.sources().snapshot();
            prop_assert_eq!(files.iter().map(|s| s.successes).sum::<u64>(), total as u64);
            prop_assert_eq!(state.metrics().snapshot().requests.count, total as u64);
        }
    }
}
