//! What every handle on one server's state points to.

use crate::activity::{LogTail, RecentPictures, SourceStatuses};
use crate::catalogue::CatalogueCell;
use crate::metrics::Metrics;
use crate::runtime::RuntimeCell;
use crate::sessions::Sessions;

/// The state behind a `ServerState` and the guards of its sessions. Each
/// part synchronises itself, so there is no lock around the whole.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) catalogue: CatalogueCell,
    pub(crate) sessions: Sessions,
    pub(crate) metrics: Metrics,
    pub(crate) recent: RecentPictures,
    pub(crate) sources: SourceStatuses,
    pub(crate) logs: LogTail,
    pub(crate) runtime: RuntimeCell,
}
