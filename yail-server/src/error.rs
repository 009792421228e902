//! Why a request got an error packet: one enum, mapped once to the
//! message the Atari prints and to the metrics category.

use yail_proto::CommandError;
use yail_state::ErrorKind;

use crate::fetch::FetchError;
use crate::services::camera::CameraError;
use crate::services::generate::{GenError, SettingError};
use crate::services::pipeline::PipelineError;
use crate::services::search::SearchError;

/// A request that could not be answered with a picture.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    /// `next` before any request that it could repeat.
    #[error("nothing to show again yet: ask for files first")]
    NothingToRepeat,
    /// A `gfx` value the client sent earlier was refused.
    #[error("unsupported graphics mode: {0}")]
    BadMode(#[source] CommandError),
    /// A command that could not be parsed.
    #[error("bad command: {0}")]
    BadCommand(#[source] CommandError),
    /// `search` without a term.
    #[error("bad command: search needs a term")]
    NoSearchTerm,
    /// `showurl` without a URL.
    #[error("bad command: showurl needs a URL")]
    NoUrl,
    /// A command nobody knows.
    #[error("unknown command: {0}")]
    UnknownCommand(String),
    /// `openai-config` on a server without generation.
    #[error("image generation is not configured on this server")]
    GenerationNotConfigured,
    /// The catalogue is empty.
    #[error("this server has no pictures to show")]
    NoPictures,
    /// Every picture tried failed.
    #[error("no readable pictures found; last problem: {0}")]
    NoReadablePictures(#[source] PipelineError),
    /// `video` on a server without a camera.
    #[error("no camera configured on this server")]
    NoCamera,
    /// The request took longer than the request timeout.
    #[error("the picture took too long; try again")]
    Timeout,
    /// The server was full and closed this session, whose request had
    /// waited long on a download, to let another client in.
    #[error("server full: the download took too long; try again later")]
    Evicted,
    /// `video` while the camera cannot be read.
    #[error("camera unreachable: {0}")]
    Camera(#[from] CameraError),
    /// A generation failed or was refused.
    #[error(transparent)]
    Generation(#[from] GenError),
    /// `openai-config` refused a change.
    #[error(transparent)]
    BadSetting(#[from] SettingError),
    /// The picture could not be loaded or converted.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A download failed or was refused.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A web image search gave no results.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// Every search result tried failed.
    #[error("no usable pictures among the results; last problem: {0}")]
    NoUsableResults(#[source] Box<RequestError>),
}

impl RequestError {
    /// The metrics category of this error.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            RequestError::NothingToRepeat
            | RequestError::BadMode(_)
            | RequestError::BadCommand(_)
            | RequestError::NoSearchTerm
            | RequestError::NoUrl
            | RequestError::UnknownCommand(_)
            | RequestError::BadSetting(_)
            | RequestError::Generation(GenError::EmptyPrompt) => ErrorKind::BadRequest,
            RequestError::Generation(GenError::Timeout(_)) => ErrorKind::Timeout,
            RequestError::Generation(_) | RequestError::Camera(_) => ErrorKind::Source,
            RequestError::GenerationNotConfigured
            | RequestError::NoPictures
            | RequestError::NoCamera => ErrorKind::Source,
            RequestError::NoReadablePictures(e) | RequestError::Pipeline(e) => e.kind(),
            RequestError::Timeout => ErrorKind::Timeout,
            RequestError::Evicted => ErrorKind::Busy,
            RequestError::Fetch(e) => fetch_kind(e),
            RequestError::Search(SearchError::Fetch(e)) => fetch_kind(e),
            RequestError::Search(_) => ErrorKind::Source,
            RequestError::NoUsableResults(e) => e.kind(),
        }
    }
}

impl RequestError {
    /// Whether the error is the operator's business, logged as a warning:
    /// a failing source or conversion, a timeout, and a URL the address
    /// policy refused (a client probing the LAN). A client's own mistakes
    /// are not.
    pub(crate) fn is_operators_business(&self) -> bool {
        self.kind() != ErrorKind::BadRequest || self.is_policy_refusal()
    }

    /// The error as the log shows it: the client's message, with the chain
    /// of causes where the message does not already say them.
    pub(crate) fn detail(&self) -> String {
        match self.causes() {
            Some(causes) => format!("{self} (caused by: {causes})"),
            None => self.to_string(),
        }
    }

    /// The errors beneath this one that its message does not repeat.
    fn causes(&self) -> Option<String> {
        let message = self.to_string();
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                causes.push(text);
            }
            source = cause.source();
        }
        (!causes.is_empty()).then(|| causes.join(": "))
    }

    fn is_policy_refusal(&self) -> bool {
        match self {
            RequestError::Fetch(e) | RequestError::Search(SearchError::Fetch(e)) => {
                matches!(e, FetchError::Refused(_))
            }
            RequestError::NoUsableResults(e) => e.is_policy_refusal(),
            _ => false,
        }
    }
}

fn fetch_kind(error: &FetchError) -> ErrorKind {
    match error {
        FetchError::BadUrl(_) | FetchError::Scheme(_) | FetchError::Refused(_) => {
            ErrorKind::BadRequest
        }
        FetchError::Timeout(_) => ErrorKind::Timeout,
        _ => ErrorKind::Source,
    }
}
