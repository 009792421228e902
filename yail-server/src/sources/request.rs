//! What a source is given for each request.

use yail_core::Settings;
use yail_proto::GfxMode;

use crate::services::Services;

/// What a source needs to produce a packet.
pub(crate) struct Request {
    pub(crate) services: Services,
    /// The mode the client asked for (perhaps "random").
    pub(crate) requested: GfxMode,
    /// The session's settings, with a concrete mode.
    pub(crate) settings: Settings,
}
