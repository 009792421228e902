//! `video` (and `camera`): the camera's newest frame, one per `next`,
//! always an 8800-byte frame, because the current client's video loop
//! reads nothing else; a problem is drawn into such a frame as text.

use std::time::Duration;

use yail_core::Fit;
use yail_proto::GfxMode;

use super::request::{Pictures, Request};
use crate::error::RequestError;
use crate::services::pipeline::Converted;

/// How long `video` waits for a camera frame newer than the one the
/// client has; after that it sends the newest one again.
const FRAME_WAIT: Duration = Duration::from_secs(1);
/// How long the first `video` request waits for the camera's first frame.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(5);

/// A session watching the camera.
#[derive(Default)]
pub(crate) struct CameraFeed {
    /// Sequence number of the last frame sent (0: none yet).
    last: u64,
}

impl Pictures for CameraFeed {
    fn activity(&self) -> (&'static str, Option<&str>) {
        ("video", None)
    }

    async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        let Some(camera) = request.services.camera() else {
            return Err(RequestError::NoCamera);
        };
        let wait = if self.last == 0 {
            FIRST_FRAME_WAIT
        } else {
            FRAME_WAIT
        };
        let frame = camera.next_frame(self.last, wait).await?;
        self.last = frame.seq;
        let identity = format!("frame:{}", frame.seq);
        let mut settings = request.settings.clone();
        settings.mode = frame_mode(settings.mode);
        settings.fit = Fit::Crop;
        let data = frame.data;
        let packet =
            request
                .services
                .pipeline()
                .packet("camera frame", &identity, &settings, async { Ok(data) });
        Ok(packet.await?)
    }

    fn error_frame_mode(&self, mode: GfxMode) -> Option<GfxMode> {
        Some(frame_mode(mode))
    }
}

/// The mode camera frames are sent in: the session's when it is one of the
/// 8800-byte frame modes, Graphics 8 otherwise.
fn frame_mode(mode: GfxMode) -> GfxMode {
    match mode {
        GfxMode::Gr8 | GfxMode::Gr9 | GfxMode::Gr11 | GfxMode::Gr15 => mode,
        _ => GfxMode::Gr8,
    }
}
