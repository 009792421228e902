#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

// Modules from the ground up; each imports only modules listed above it
// (docs/architecture.md draws the layers).
pub mod admin;
mod admission;
mod authority;
mod config;
mod connection;
mod delivery;
mod download_clock;
mod error;
pub mod fetch;
mod log_budget;
mod network;
mod refusal;
mod server;
mod services;
mod session;
mod sources;
mod sync;

pub use admin::{AdminOptions, run_admin};
pub use admission::{BUSY_MESSAGE, TOO_MANY_MESSAGE};
pub use config::args::Args;
pub use config::load as load_settings;
pub use config::{
    ADMIN_KEYS, Config, ConfigError, LoadError, Loaded, Origin, SaveError, SearchEngine,
    SettingsStore, Source,
};
pub use server::run;
pub use services::catalogue::gallery;
pub use services::search::EngineSetupError;
pub use services::{Services, SetupError};
