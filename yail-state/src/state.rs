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

    /// Adds a file to the catalogue; `false` if it was already there.
    pub fn add_file(&self, path: impl Into<PathBuf>) -> bool {
        self.shared.catalogue.add(path.into())
    }

    /// A file chosen uniformly at random, `None` when the catalogue is empty.
    pub fn random_file(&self) -> Option<PathBuf> {
        self.shared.catalogue.load().random(None).cloned()
    }

    /// A random file other than `previous` whenever the catalogue has
    /// another one, so a slideshow does not show the same picture twice in
    /// a row.
    pub fn random_file_except(&self, previous: Option<&Path>) -> Option<PathBuf> {
        self.shared.catalogue.load().random(previous).cloned()
    }

    /// How many files the catalogue holds.
    pub fn file_count(&self) -> usize {
        self.shared.catalogue.load().len()
    }

    /// Replaces the whole catalogue at once (a rescan). Readers see either
    /// the old or the new catalogue, never a mixture.
    pub fn replace_files(&self, catalogue: Catalogue) {
        self.shared.catalogue.replace(catalogue);
    }

    /// The current catalogue, as an immutable snapshot.
    pub fn files(&self) -> Arc<Catalogue> {
        self.shared.catalogue.load()
    }

    /// Counts a connection; returns the new count.
    pub fn increment_connections(&self) -> usize {
        self.shared.metrics.open_connection()
    }

    /// Uncounts a connection; returns the new count, which never goes
    /// below zero (an extra decrement is ignored).
    pub fn decrement_connections(&self) -> usize {
        self.shared.metrics.close_connection()
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.shared.metrics.open_connections()
    }

    /// Registers a session for `peer` and counts its connection; both are
    /// undone when the guard is dropped (also on panic or when the task
    /// owning it is cancelled).
    pub fn connect(&self, peer: std::net::SocketAddr) -> ConnectionGuard {
        ConnectionGuard::register(&self.shared, peer)
    }

    /// A snapshot of every registered session, ordered by id.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.sessions.snapshot()
    }

    /// The server's counters and latency histogram.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The pictures sent most recently.
    pub fn recent_pictures(&self) -> &RecentPictures {
        &self.shared.recent
    }

    /// How each image source has fared.
    pub fn sources(&self) -> &SourceStatuses {
        &self.shared.sources
    }

    /// The tail of the server's log (filled by whoever installs a logger
    /// that writes into it).
    pub fn logs(&self) -> &LogTail {
        &self.shared.logs
    }

    /// The runtime-changeable settings as they are now.
    pub fn runtime_settings(&self) -> Arc<RuntimeSettings> {
        self.shared.runtime.load()
    }

    /// Replaces the runtime-changeable settings; requests that start
    /// afterwards see the new ones.
    pub fn set_runtime_settings(&self, settings: RuntimeSettings) {
        self.shared.runtime.store(settings);
    }
}
