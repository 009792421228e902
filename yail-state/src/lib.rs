#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

// Modules import downward only: `state` (the handle) and `guard` (a
// session's registration) sit on `shared`, which gathers the parts below it;
// every part locks through `sync`.
mod activity;
mod catalogue;
mod guard;
mod metrics;
mod runtime;
mod sessions;
mod shared;
mod state;
mod sync;

pub use activity::{LogLine, LogTail, RecentPictures, SentPicture, SourceStatus, SourceStatuses};
pub use catalogue::Catalogue;
pub use guard::ConnectionGuard;
pub use metrics::{ErrorKind, HistogramSnapshot, Metrics, MetricsSnapshot};
pub use runtime::RuntimeSettings;
pub use sessions::{Dialect, SessionInfo};
pub use state::ServerState;
