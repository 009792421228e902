//! Google Gemini's REST API: `generateContent` with image output. The key
//! travels in the `x-goog-api-key` header, never in the URL, so it cannot
//! end up in a log line that quotes a URL.

use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::json;

use super::answer::{Answer, MAX_ANSWER_BYTES, decode_base64, short};
use super::error::GenError;
use crate::fetch::read_limited;

const SERVICE: &str = "Gemini";

pub(super) struct Gemini {
    http: reqwest::Client,
    base_url: String,
    key: HeaderValue,
}

impl Gemini {
    /// `None` when the key cannot be sent as a header value.
    pub(super) fn new(base_url: &str, key: &str) -> Option<Gemini> {
        let mut key = HeaderValue::from_str(key).ok()?;
        key.set_sensitive(true);
        Some(Gemini {
            http: super::openai::http_client(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key,
        })
    }

    pub(super) async fn generate(&self, model: &str, prompt: &str) -> Result<Answer, GenError> {
        if !model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(GenError::BadAnswer {
                service: SERVICE,
                reason: format!("{model:?} is not a model name"),
            });
        }
        let url = format!("{}/v1beta/models/{model}:generateContent", self.base_url);
        let body = json!({
            "contents": [{ "role": "user", "parts": [{ "text": prompt }] }],
            "generationConfig": { "responseModalities": ["TEXT", "IMAGE"] },
        });
        let mut headers = HeaderMap::new();
        headers.insert("x-goog-api-key", self.key.clone());
        let unreachable = |reason: String| GenError::Unreachable {
            service: SERVICE,
            reason,
        };
        let response = self
            .http
            .post(url)
            .headers(headers)
            .json(&body)
            .send()
            .await
            .map_err(|e| unreachable(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let text = read_limited(response, MAX_ANSWER_BYTES as u64)
            .await
            .map_err(|source| GenError::ReadAnswer {
                service: SERVICE,
                source,
            })?;
        if !(200..300).contains(&status) {
            return Err(refusal(status, &text));
        }
        picture(&text).map(Answer::Bytes)
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Response {
    candidates: Vec<Candidate>,
    prompt_feedback: Option<Feedback>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Content {
    parts: Vec<Part>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Part {
    text: Option<String>,
    inline_data: Option<InlineData>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct InlineData {
    mime_type: String,
    data: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Feedback {
    block_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorDetail {
    message: String,
    status: String,
}

/// The picture in a successful answer: the first inline image part of the
/// first candidate.
fn picture(body: &[u8]) -> Result<Vec<u8>, GenError> {
    let bad = |reason: String| GenError::BadAnswer {
        service: SERVICE,
        reason,
    };
    let response: Response =
        serde_json::from_slice(body).map_err(|e| bad(format!("unreadable answer ({e})")))?;
    if let Some(reason) = response.prompt_feedback.and_then(|f| f.block_reason) {
        return Err(bad(format!("the prompt was blocked ({reason})")));
    }
    let Some(candidate) = response.candidates.into_iter().next() else {
        return Err(bad(String::from("the answer holds no candidate")));
    };
    let parts = candidate.content.map(|c| c.parts).unwrap_or_default();
    if let Some(image) = parts
        .iter()
        .filter_map(|p| p.inline_data.as_ref())
        .find(|d| d.mime_type.starts_with("image/") || d.mime_type.is_empty())
    {
        return decode_base64(SERVICE, &image.data);
    }
    // The model answered in words only: say what it said, briefly.
    let said: String = parts.iter().filter_map(|p| p.text.as_deref()).collect();
    let reason = match (said.trim(), candidate.finish_reason) {
        ("", Some(finish)) => format!("no picture (finished: {finish})"),
        ("", None) => String::from("no picture in the answer"),
        (text, _) => format!("no picture; the model said: {}", short(text, 100)),
    };
    Err(bad(reason))
}

fn refusal(status: u16, body: &[u8]) -> GenError {
    let detail = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| b.error)
        .unwrap_or_default();
    let message = match status {
        401 | 403 => String::from("the server's API key was not accepted"),
        429 => String::from("busy (too many requests or no quota left); try again later"),
        500..=599 => String::from("the service failed; try again later"),
        _ if !detail.message.is_empty() => short(&detail.message, 120),
        _ if !detail.status.is_empty() => detail.status,
        _ => String::from("no explanation given"),
    };
    GenError::Refused {
        service: SERVICE,
        status,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_inline_image_is_the_picture() {
        let body = br#"{"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Here you are"},
            {"inlineData": {"mimeType": "image/png", "data": "aGk="}}
        ]}, "finishReason": "STOP", "safetyRatings": []}], "usageMetadata": {"x": 1}}"#;
        assert_eq!(picture(body), Ok(b"hi".to_vec()));
    }

    #[test]
    fn answers_without_a_picture_say_why() {
        let words =
            br#"{"candidates": [{"content": {"parts": [{"text": "I cannot draw that."}]}}]}"#;
        let error = picture(words).map_err(|e| e.to_string());
        assert!(
            matches!(&error, Err(e) if e.contains("I cannot draw that.")),
            "{error:?}"
        );
        let blocked = br#"{"promptFeedback": {"blockReason": "SAFETY"}}"#;
        let error = picture(blocked).map_err(|e| e.to_string());
        assert!(
            matches!(&error, Err(e) if e.contains("SAFETY")),
            "{error:?}"
        );
        assert!(picture(b"{not json").is_err());
        assert!(picture(br#"{"candidates": []}"#).is_err());
    }

    #[test]
    fn refusals_carry_the_status_and_a_short_reason() {
        let body =
            br#"{"error": {"code": 400, "message": "Bad model", "status": "INVALID_ARGUMENT"}}"#;
        assert_eq!(
            refusal(400, body),
            GenError::Refused {
                service: SERVICE,
                status: 400,
                message: String::from("Bad model")
            }
        );
        let garbage = refusal(500, b"<html>oops</html>").to_string();
        assert!(garbage.contains("500"), "{garbage}");
        // The body of a 401 is not repeated: it may quote the key.
        let key = refusal(401, br#"{"error": {"message": "API key AIza-x invalid"}}"#).to_string();
        assert!(!key.contains("AIza-x"), "{key}");
    }
}
