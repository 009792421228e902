//! What every admin handler shares.

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use super::logins::{FailedLogins, LoginSessions};
use super::origin::{HostRules, RefusalLog};
use super::tries::Tries;
use crate::config::SettingsStore;
use crate::services::Services;

/// What every admin handler shares (behind an `Arc`, as axum's state).
pub(crate) struct AdminShared {
    /// The same services the YAIL server uses.
    pub(crate) services: Services,
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
    /// What an Atari opens to reach the YAIL server, for the dashboard.
    pub(crate) atari_address: Option<String>,
    /// Largest picture "try it" accepts, in bytes.
    pub(crate) max_try_bytes: usize,
    /// Where the settings page's changes are saved.
    pub(crate) settings: SettingsStore,
    /// Held while a change is checked, saved and applied: one at a time.
    pub(crate) changing: Mutex<()>,
}
