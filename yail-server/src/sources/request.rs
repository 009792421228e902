//! What every source is given for a request, and what every source does
//! ([`Pictures`]): the contract a new source implements.

use std::net::IpAddr;
use std::time::Duration;

use yail_core::Settings;
use yail_proto::GfxMode;

use crate::error::RequestError;
use crate::services::Services;
use crate::services::generate::GenSettings;
use crate::services::pipeline::Converted;

/// What a source needs to answer one request.
pub(crate) struct Request {
    /// The server's services.
    pub(crate) services: Services,
    /// The mode the client asked for (perhaps "random").
    pub(crate) requested: GfxMode,
    /// The session's settings, with a concrete mode.
    pub(crate) settings: Settings,
    /// The client's address (generation quotas count by it).
    pub(crate) client: IpAddr,
    /// The session's generation settings.
    pub(crate) generation: GenSettings,
}

/// What every source does: answer `next` with a picture, and optionally
/// prepare the following one, take longer, or have its errors drawn.
pub(crate) trait Pictures {
    /// What the admin page shows the session doing: the source's name, and
    /// its search term, URL or prompt.
    fn activity(&self) -> (&'static str, Option<&str>);

    /// The packet for this request.
    async fn next(&mut self, request: &Request) -> Result<Converted, RequestError>;

    /// Starts preparing the following picture while the Atari shows the
    /// one just sent (the session calls this only with prefetch on).
    fn prefetch(&mut self, _request: &Request) {}

    /// How long a request may take before the client gets a timeout error.
    fn time_limit(&self, services: &Services) -> Duration {
        services.config().request_timeout
    }

    /// The mode an error is drawn in, as a picture, when the client reads
    /// nothing but pictures while it shows this source; `None`: errors go
    /// as error packets.
    fn error_frame_mode(&self, _mode: GfxMode) -> Option<GfxMode> {
        None
    }
}
