//! What a source is given for each request.

use std::sync::Arc;

use yail_core::Settings;
use yail_proto::GfxMode;

use crate::shared::Shared;

/// What a source needs to produce a packet.
pub(crate) struct Context {
    pub(crate) shared: Arc<Shared>,
    /// The mode the client asked for (perhaps "random").
    pub(crate) requested: GfxMode,
    /// The session's settings, with a concrete mode.
    pub(crate) settings: Settings,
}
