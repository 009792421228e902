//! Integration tests for the wire protocol, one module per area.

mod decoder;
mod golden;
mod hostile;
mod roundtrip;
