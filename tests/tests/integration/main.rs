//! One integration-test target, one module per area.

mod caching;
mod dialects;
mod errors;
mod fake_api;
mod generation;
mod limits;
mod modes;
mod shutdown;
mod sources;
mod video;
