#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod alloc;
pub mod cache;
pub mod client;
mod config;
mod connection;
mod error;
pub mod files;
pub mod gallery;
pub mod pipeline;
mod server;
mod session;
mod sources;

pub use config::{Config, DEFAULT_GEN_MODEL};
pub use server::{BUSY_MESSAGE, run};

use pipeline::Pipeline;
use yail_state::ServerState;

/// What every session shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) state: ServerState,
    pub(crate) pipeline: Pipeline,
    pub(crate) generator: sources::generate::Generator,
    /// The capture task of `--camera`, if one is configured.
    pub(crate) camera: Option<sources::camera::Camera>,
}
