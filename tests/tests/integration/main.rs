//! One integration-test target, one module per area.

mod caching;
mod dialects;
mod error_pictures;
mod errors;
mod fake_api;
mod generation;
mod generation_limits;
mod hostile;
mod limits;
mod logs;
mod modes;
mod network;
mod refusals;
mod search;
mod shutdown;
mod slow_downloads;
mod sources;
mod video;
