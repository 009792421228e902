//! What every admin handler shares.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use yail_state::ServerState;

use super::logins::{FailedLogins, LoginSessions};
use super::origin::{HostRules, RefusalLog};
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
    /// The names the admin server answers to.
    pub(crate) hosts: HostRules,
    /// Requests refused for their host or origin, for the log.
    pub(crate) refusals: RefusalLog,
    /// Browsers logged in with the token.
    pub(crate) sessions: LoginSessions,
    /// Wrong tokens by network, and how long each must wait.
    pub(crate) logins: FailedLogins,
}

/// The handle every handler gets as its state.
pub(crate) type Shared = Arc<AdminShared>;
