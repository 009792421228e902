//! How a generation fails. The text is what the Atari prints.

use crate::fetch::FetchError;

/// Why a generation gave no picture. The text goes to the Atari.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GenError {
    /// No backend has a key.
    #[error("image generation is not configured on this server")]
    Unconfigured,
    /// The backend the model needs has no key.
    #[error("{0} is not configured on this server")]
    NotConfigured(&'static str),
    /// This client started too many generations lately.
    #[error("generation limit reached ({per_minute} a minute); try again in {wait_secs} s")]
    RateLimited { per_minute: u32, wait_secs: u64 },
    /// The generation took longer than the generation timeout.
    #[error("the picture generator did not answer within {0} s; try again")]
    Timeout(u64),
    /// The API refused the request.
    #[error("{service} refused the request ({status}): {message}")]
    Refused {
        service: &'static str,
        status: u16,
        message: String,
    },
    /// The API could not be reached, or the answer could not be read.
    #[error("{service} could not be reached: {reason}")]
    Unreachable {
        service: &'static str,
        reason: String,
    },
    /// The picture the API pointed to could not be downloaded.
    #[error("{service} could not be reached: picture download: {source}")]
    Download {
        service: &'static str,
        source: FetchError,
    },
    /// The API's answer could not be read whole.
    #[error("{service} could not be reached: {source}")]
    ReadAnswer {
        service: &'static str,
        source: FetchError,
    },
    /// The service answered, but made no picture of this prompt (blocked,
    /// withheld, or words only); `reason` says why in the user's terms.
    #[error("{service} made no picture: {reason}")]
    NoPicture {
        service: &'static str,
        reason: String,
    },
    /// The answer holds no usable picture.
    #[error("{service} sent no usable picture: {reason}")]
    BadAnswer {
        service: &'static str,
        reason: String,
    },
    /// The prompt is empty.
    #[error("say what to draw: gen \"<prompt>\"")]
    EmptyPrompt,
}
