//! One integration-test target, one module per area.

mod caching;
mod dialects;
mod errors;
mod hostile;
mod limits;
mod modes;
mod network;
mod search;
mod shutdown;
mod sources;
