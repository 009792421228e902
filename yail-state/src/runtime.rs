//! Settings an operator may change while the server runs (from the admin
//! page). Sources read a snapshot per request, so a change applies to the
//! next request without restarting sessions.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::sync::lock;

/// The runtime-changeable, non-secret settings (see
/// [`ServerState::set_runtime_settings`] for an example).
///
/// [`ServerState::set_runtime_settings`]: crate::ServerState::set_runtime_settings
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuntimeSettings {
    /// The image model `gen` uses when the client names none (or names a
    /// retired one); `None`: the generator's own default.
    pub default_model: Option<String>,
    /// Models a client may ask for by name besides the default one;
    /// `None`: those the server started with (an empty list allows only
    /// the default).
    pub allowed_models: Option<Vec<String>>,
    /// The web image search engine `search` uses; `None`: the default one.
    pub search_engine: Option<String>,
    /// Files and folders `files` serves (a rescan applies a change);
    /// `None`: those the server started with (an empty list: the built-in
    /// gallery).
    pub picture_paths: Option<Vec<PathBuf>>,
}

/// The current [`RuntimeSettings`], replaced whole on every change.
#[derive(Debug, Default)]
pub(crate) struct RuntimeCell {
    current: Mutex<Arc<RuntimeSettings>>,
}

impl RuntimeCell {
    pub(crate) fn load(&self) -> Arc<RuntimeSettings> {
        Arc::clone(&lock(&self.current))
    }

    pub(crate) fn store(&self, settings: RuntimeSettings) {
        *lock(&self.current) = Arc::new(settings);
    }
}
