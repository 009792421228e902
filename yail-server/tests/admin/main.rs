//! The admin server against a running YAIL server with connected clients.

mod api;
mod browser;
#[path = "../common/huge_png.rs"]
mod huge_png;
mod security;
mod settings;
mod support;
mod try_it;
