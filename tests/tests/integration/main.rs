//! One integration-test target, one module per area.

mod caching;
mod dialects;
mod errors;
mod hostile;
mod limits;
mod modes;
mod shutdown;
mod sources;
