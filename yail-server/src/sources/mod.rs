//! Where pictures come from. A session holds one [`Source`]: the last
//! request that `next` repeats. Each source produces one packet per request
//! and may prepare the next one while the Atari shows the current one.

use crate::error::RequestError;
use crate::services::pipeline::Converted;

pub(crate) mod files;
pub(crate) mod request;
pub(crate) mod search;
pub(crate) mod url;

/// What `next` repeats.
pub(crate) enum Source {
    /// No request yet.
    Nothing,
    /// Pictures from --paths or the gallery.
    Files(files::Files),
    /// One picture from a URL (`showurl`).
    Url(url::UrlSource),
    /// Web image search results (`search`).
    Search(search::SearchSource),
    /// The camera (`video`); answered by the session.
    Video,
    /// `gen`: `next` generates again from the same prompt; answered by the
    /// session.
    Generate {
        /// The model chosen for this session.
        model: String,
        /// This session's prompt.
        prompt: String,
    },
}

impl Source {
    /// What the admin page shows the session doing.
    pub(crate) fn activity(&self) -> &'static str {
        match self {
            Source::Nothing => "idle",
            Source::Files(_) => "files",
            Source::Url(_) => "showurl",
            Source::Search(_) => "search",
            Source::Video => "video",
            Source::Generate { .. } => "generate",
        }
    }

    /// What the admin page shows beside the activity: the search term,
    /// the URL or the prompt.
    pub(crate) fn term(&self) -> Option<&str> {
        match self {
            Source::Url(url) => Some(url.url()),
            Source::Search(search) => Some(search.term()),
            Source::Generate { prompt, .. } => Some(prompt),
            Source::Nothing | Source::Files(_) | Source::Video => None,
        }
    }

    /// The packet for the next request. Video and generation are answered
    /// by the session.
    pub(crate) async fn next(
        &mut self,
        request: &request::Request,
    ) -> Result<Converted, RequestError> {
        match self {
            Source::Nothing => Err(RequestError::NothingToRepeat),
            Source::Files(files) => files.next(request).await,
            Source::Url(url) => url.next(request).await,
            Source::Search(search) => search.next(request).await,
            Source::Video => Err(RequestError::NoCamera),
            Source::Generate { .. } => Err(RequestError::GenerationNotConfigured),
        }
    }

    /// Starts preparing the following picture, where that makes sense.
    pub(crate) fn prefetch(&mut self, request: &request::Request) {
        match self {
            Source::Files(files) => files.prefetch(request),
            Source::Search(search) => search.prefetch(request),
            _ => {}
        }
    }
}
