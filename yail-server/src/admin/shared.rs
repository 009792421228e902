//! What every admin handler shares.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use yail_state::ServerState;

use super::tries::Tries;
use crate::config::Config;

/// What every admin handler shares.
pub(crate) struct AdminShared {
    pub(crate) state: ServerState,
    pub(crate) config: Config,
    pub(crate) token: Option<String>,
    pub(crate) started: Instant,
    pub(crate) started_at: SystemTime,
    pub(crate) tries: Tries,
}

/// The handle every handler gets as its state.
pub(crate) type Shared = Arc<AdminShared>;
