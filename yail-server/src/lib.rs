#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod alloc;
pub mod cache;
pub mod client;
mod config;
mod connection;
mod error;
pub mod fetch;
pub mod files;
pub mod gallery;
pub mod pipeline;
mod server;
mod session;

pub use config::Config;
pub use server::{BUSY_MESSAGE, run};

use pipeline::Pipeline;
use yail_state::ServerState;

/// What every session shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) state: ServerState,
    pub(crate) pipeline: Pipeline,
}
