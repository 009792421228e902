#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod admin;
mod cache;
mod config;
mod connection;
mod error;
pub mod fetch;
mod files;
pub mod gallery;
mod pipeline;
mod server;
mod session;
mod shared;
mod sources;
mod sync;

pub use admin::{AdminOptions, run_admin};
pub use config::{Config, DEFAULT_GEN_MODEL, SearchEngine};
pub use server::{BUSY_MESSAGE, TOO_MANY_MESSAGE, run};
