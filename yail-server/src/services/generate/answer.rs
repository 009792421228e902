//! What the generation backends (openai.rs, gemini.rs) answer with, and
//! the bounds and helpers they share for reading an answer.

use super::error::GenError;

/// Largest answer read from a generation API. Pictures come back base64
/// encoded inside JSON; 4096x4096 PNGs stay well below this.
pub(super) const MAX_ANSWER_BYTES: usize = 48 << 20;
/// Largest picture accepted from a generation API, decoded.
pub(super) const MAX_PICTURE_BYTES: usize = 32 << 20;

/// What a picture API answered with.
pub(crate) enum Answer {
    /// The picture itself.
    Bytes(Vec<u8>),
    /// Where to fetch it.
    Url(String),
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

/// Why a request to an API failed before an answer came, without the URL
/// (which reqwest's own message names): the innermost cause, such as
/// "Connection refused (os error 111)" or a DNS failure.
pub(super) fn transport_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return String::from("no answer in time");
    }
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason = cause.to_string();
        source = cause.source();
    }
    short(&reason, 120)
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
