//! What the generation back-ends (openai.rs, gemini.rs) share with the
//! generator that drives them: the settings they are asked with, what they
//! answer and how they fail.

/// Largest answer read from a generation API. Pictures come back base64
/// encoded inside JSON; 4096x4096 PNGs stay well below this.
pub(super) const MAX_ANSWER_BYTES: usize = 48 << 20;
/// Largest picture accepted from a generation API, decoded.
pub(super) const MAX_PICTURE_BYTES: usize = 32 << 20;

/// Why a generation gave no picture. The text goes to the Atari.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GenError {
    /// The backend the model needs has no key.
    #[error("image generation with {0} is not configured on this server")]
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

/// What a picture API answered with.
pub(crate) enum Answer {
    /// The picture itself.
    Bytes(Vec<u8>),
    /// Where to fetch it.
    Url(String),
}

/// One session's generation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GenSettings {
    pub(crate) model: String,
    pub(crate) size: String,
    pub(crate) quality: String,
    /// Put before every prompt of the session (empty: nothing).
    pub(crate) system_prompt: String,
}

/// The first `max` characters of an API's message, on one line.
pub(super) fn short(message: &str, max: usize) -> String {
    let one_line: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut cut: String = one_line.chars().take(max).collect();
        cut.push_str("...");
        cut
    }
}

/// Decodes a base64 picture, refusing more than [`MAX_PICTURE_BYTES`].
pub(super) fn decode_base64(service: &'static str, data: &str) -> Result<Vec<u8>, GenError> {
    use base64::Engine;
    if data.len() / 4 * 3 > MAX_PICTURE_BYTES {
        return Err(GenError::BadAnswer {
            service,
            reason: format!("picture larger than {} MB", MAX_PICTURE_BYTES >> 20),
        });
    }
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| GenError::BadAnswer {
            service,
            reason: format!("bad base64: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pictures_are_decoded_and_bounded() {
        assert_eq!(decode_base64("OpenAI", "aGVsbG8="), Ok(b"hello".to_vec()));
        assert!(decode_base64("OpenAI", "not base64!").is_err());
        let huge = "A".repeat(MAX_PICTURE_BYTES / 3 * 4 + 8);
        assert!(decode_base64("OpenAI", &huge).is_err());
    }
}
