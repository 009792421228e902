//! The admin server against a running YAIL server with connected clients.

mod api;
mod browser;
mod security;
mod settings;
mod support;
