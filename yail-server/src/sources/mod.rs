//! Where a session's pictures come from. A session holds one [`Source`]:
//! the last request, which `next` repeats. Every kind of source is a type
//! of its own, in a file of its own, implementing [`Pictures`] (what a
//! source does, in `request.rs`); the enum only forwards to it.
//!
//! To add a source: write its file here implementing [`Pictures`], add a
//! variant (and its line in `each!`) below, and choose it in `session.rs`
//! from the command that asks for it.

mod camera;
mod files;
mod generate;
mod prefetch;
mod request;
mod search;
mod url;

use std::time::Duration;

use yail_proto::GfxMode;

pub(crate) use camera::CameraFeed;
pub(crate) use files::Slideshow;
pub(crate) use generate::Generation;
pub(crate) use request::{Pictures, Request};
pub(crate) use search::SearchResults;
pub(crate) use url::UrlPicture;

use crate::error::RequestError;
use crate::services::Services;
use crate::services::pipeline::Converted;

/// What `next` repeats.
pub(crate) enum Source {
    /// Pictures from --paths or the gallery (`files`).
    Files(Slideshow),
    /// One picture from a URL (`showurl`).
    Url(UrlPicture),
    /// Web image search results (`search`).
    Search(SearchResults),
    /// A picture generated again from the same prompt (`gen`).
    Generation(Generation),
    /// The camera's newest frame (`video`).
    Camera(CameraFeed),
}

/// Runs `$body` with `$source` bound to whichever kind `$self` holds.
macro_rules! each {
    ($self:expr, $source:ident => $body:expr) => {
        match $self {
            Source::Files($source) => $body,
            Source::Url($source) => $body,
            Source::Search($source) => $body,
            Source::Generation($source) => $body,
            Source::Camera($source) => $body,
        }
    };
}

impl Pictures for Source {
    fn activity(&self) -> (&'static str, Option<&str>) {
        each!(self, source => source.activity())
    }

    async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        each!(self, source => source.next(request).await)
    }

    fn prefetch(&mut self, request: &Request) {
        each!(self, source => source.prefetch(request))
    }

    fn time_limit(&self, services: &Services) -> Duration {
        each!(self, source => source.time_limit(services))
    }

    fn error_frame_mode(&self, mode: GfxMode) -> Option<GfxMode> {
        each!(self, source => source.error_frame_mode(mode))
    }
}
