//! What every admin handler shares.

use std::time::{Instant, SystemTime};

use super::tries::Tries;
use crate::services::Services;

/// What every admin handler shares (behind an `Arc`, as axum's state).
pub(crate) struct AdminShared {
    /// The same services the YAIL server uses.
    pub(crate) services: Services,
    pub(crate) token: Option<String>,
    pub(crate) started: Instant,
    pub(crate) started_at: SystemTime,
    pub(crate) tries: Tries,
}
