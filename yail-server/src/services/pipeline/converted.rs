//! What the pipeline hands out: a packet ready to send.

use bytes::Bytes;
use yail_proto::GfxMode;

/// A converted picture: the packet's bytes and the mode they are in, so
/// nobody has to read the mode back out of the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The concrete mode the picture was converted to.
    pub mode: GfxMode,
    /// The whole packet, as sent.
    pub bytes: Bytes,
}
