//! Google Gemini's REST API: `generateContent` with image output. The key
//! travels in the `x-goog-api-key` header, never in the URL, so it cannot
//! end up in a log line that quotes a URL.

use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::json;

use super::answer::{Answer, MAX_ANSWER_BYTES, decode_base64, short, transport_reason};
use super::error::GenError;
use super::list_request::{error_message, is_gemini_key_refusal, key_header};
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
        Some(Gemini {
            http: super::openai::http_client(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key_header("", key)?,
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
            .map_err(|e| unreachable(transport_reason(&e)))?;
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

/// The answer of `generateContent`: candidates with parts, or a prompt
/// blocked before any candidate
/// (<https://ai.google.dev/api/generate-content#generatecontentresponse>).
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
    /// A part of the model's thinking: with Gemini 3 image models, text
    /// and up to two draft pictures come before the final picture, marked
    /// `"thought": true` (Google's image generation guide, "thinking
    /// process"; minimaxir/gemimg#21 filters them the same way).
    thought: bool,
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

/// The picture in a successful answer: the last image part of the first
/// candidate that is not part of the model's thinking. Text parts are never
/// taken for a picture; an answer without a final picture says why.
fn picture(body: &[u8]) -> Result<Vec<u8>, GenError> {
    let response: Response = serde_json::from_slice(body).map_err(|e| GenError::BadAnswer {
        service: SERVICE,
        reason: format!("unreadable answer ({e})"),
    })?;
    let no_picture = |reason: String| GenError::NoPicture {
        service: SERVICE,
        reason,
    };
    if let Some(reason) = response.prompt_feedback.and_then(|f| f.block_reason) {
        return Err(no_picture(blocked_prompt(&reason)));
    }
    let Some(candidate) = response.candidates.into_iter().next() else {
        return Err(no_picture(String::from("the answer holds no picture")));
    };
    let parts = candidate.content.map(|c| c.parts).unwrap_or_default();
    let finals = || parts.iter().filter(|p| !p.thought);
    if let Some(image) = finals()
        .filter_map(|p| p.inline_data.as_ref())
        .rfind(|d| d.mime_type.to_ascii_lowercase().starts_with("image/"))
    {
        return decode_base64(SERVICE, &image.data);
    }
    if let Some(reason) = candidate
        .finish_reason
        .as_deref()
        .and_then(withheld_picture)
    {
        return Err(no_picture(reason));
    }
    // The model answered in words only: say what it said, briefly.
    let said: String = finals().filter_map(|p| p.text.as_deref()).collect();
    let drafts = parts.iter().any(|p| p.thought && p.inline_data.is_some());
    let reason = match (said.trim(), candidate.finish_reason) {
        ("", _) if drafts => String::from("only drafts came, no finished picture; try again"),
        ("", Some(finish)) => format!("none in the answer (finished: {finish})"),
        ("", None) => String::from("none in the answer"),
        (text, _) => format!("the model said: {}", short(text, 100)),
    };
    Err(no_picture(reason))
}

/// What a `promptFeedback.blockReason` means for the user (values from
/// `BlockedReason` in googleapis/python-genai `types.py`).
fn blocked_prompt(reason: &str) -> String {
    let why = match reason {
        "SAFETY" | "IMAGE_SAFETY" => "Gemini's safety filters blocked the prompt",
        "PROHIBITED_CONTENT" => "the prompt asks for prohibited content",
        "BLOCKLIST" => "the prompt contains blocked words",
        _ => "Gemini blocked the prompt",
    };
    format!("{why} ({reason}); try other words")
}

/// What a `finishReason` that ends without a picture means for the user,
/// or `None` for a normal end (values from `FinishReason` in
/// googleapis/python-genai `types.py`; `NO_IMAGE`: "expected to generate
/// an image, but none was generated").
fn withheld_picture(finish: &str) -> Option<String> {
    let why = match finish {
        "STOP" | "FINISH_REASON_UNSPECIFIED" => return None,
        "IMAGE_SAFETY" | "SAFETY" => "Gemini's safety filters withheld the picture",
        "IMAGE_PROHIBITED_CONTENT" | "PROHIBITED_CONTENT" => {
            "the picture would show prohibited content"
        }
        "IMAGE_RECITATION" | "RECITATION" => {
            "the picture was withheld as too close to an existing work"
        }
        "BLOCKLIST" => "the prompt contains blocked words",
        "SPII" => "the picture would show personal information",
        "NO_IMAGE" => "Gemini answered without a picture; ask for a picture of something",
        "MAX_TOKENS" => "the answer was cut off before the picture",
        _ => "Gemini gave no picture",
    };
    Some(format!("{why} ({finish})"))
}

/// An error answer: `{"error":{"code","message","status","details"}}`
/// (<https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes>).
fn refusal(status: u16, body: &[u8]) -> GenError {
    let message = match status {
        300..=399 => format!("answered with a redirect ({status}), which is not followed"),
        401 | 403 => String::from("the server's API key was not accepted"),
        // A key Gemini does not know is refused with 400 INVALID_ARGUMENT,
        // reason API_KEY_INVALID (continuedev/continue#8516).
        400 if is_gemini_key_refusal(body) => String::from("the server's API key was not accepted"),
        // An unknown or shut-down model: 404 NOT_FOUND, "models/… is not
        // found for API version v1beta, or is not supported for
        // generateContent" (lofcz/LLMTornado#146).
        404 => String::from("the model is not available (shut down, or unknown)"),
        429 => String::from("busy (too many requests or no quota left); try again later"),
        500..=599 => String::from("the service failed; try again later"),
        _ => error_message(body),
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
    fn the_last_final_image_is_the_picture_and_drafts_are_skipped() {
        let body = br#"{"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Planning the layout", "thought": true},
            {"inlineData": {"mimeType": "image/png", "data": "ZHJhZnQ="}, "thought": true},
            {"text": "Here you are"},
            {"inlineData": {"mimeType": "image/png", "data": "ZmlueA=="}, "thoughtSignature": "c2ln"},
            {"inlineData": {"mimeType": "image/png", "data": "aGk="}, "thoughtSignature": "c2ln"}
        ]}, "finishReason": "STOP", "safetyRatings": []}], "usageMetadata": {"x": 1}}"#;
        assert_eq!(picture(body), Ok(b"hi".to_vec()));
    }

    #[test]
    fn text_parts_never_become_the_picture() {
        let body = br#"{"candidates": [{"content": {"parts": [
            {"inlineData": {"mimeType": "text/plain", "data": "aGk="}},
            {"text": "A lovely castle."}
        ]}, "finishReason": "STOP"}]}"#;
        let error = picture(body).map_err(|e| e.to_string());
        assert_eq!(
            error,
            Err(String::from(
                "Gemini made no picture: the model said: A lovely castle."
            ))
        );
        let drafts_only = br#"{"candidates": [{"content": {"parts": [
            {"inlineData": {"mimeType": "image/png", "data": "aGk="}, "thought": true}
        ]}, "finishReason": "STOP"}]}"#;
        let error = picture(drafts_only).map_err(|e| e.to_string());
        assert!(
            matches!(&error, Err(e) if e.contains("only drafts")),
            "{error:?}"
        );
    }

    #[test]
    fn answers_without_a_picture_say_why() {
        let cases: [(&[u8], &str); 5] = [
            (
                br#"{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {}}"#,
                "Gemini made no picture: the prompt asks for prohibited content (PROHIBITED_CONTENT); try other words",
            ),
            (
                br#"{"candidates": [{"content": {"parts": [{"text": "I can't create that image."}]}, "finishReason": "IMAGE_SAFETY"}]}"#,
                "Gemini made no picture: Gemini's safety filters withheld the picture (IMAGE_SAFETY)",
            ),
            (
                br#"{"candidates": [{"content": {"parts": []}, "finishReason": "NO_IMAGE"}]}"#,
                "Gemini made no picture: Gemini answered without a picture; ask for a picture of something (NO_IMAGE)",
            ),
            (
                br#"{"candidates": [{"finishReason": "IMAGE_OTHER"}]}"#,
                "Gemini made no picture: Gemini gave no picture (IMAGE_OTHER)",
            ),
            (br#"{"candidates": []}"#, "Gemini made no picture: the answer holds no picture"),
        ];
        for (body, expected) in cases {
            assert_eq!(
                picture(body).map_err(|e| e.to_string()),
                Err(expected.to_owned())
            );
        }
        assert!(matches!(
            picture(b"{not json"),
            Err(GenError::BadAnswer { .. })
        ));
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
        let bad_key = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
        assert!(
            refusal(400, bad_key)
                .to_string()
                .contains("key was not accepted")
        );
        let gone = br#"{"error":{"code":404,"message":"models/gemini-3-pro-image-preview is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.","status":"NOT_FOUND"}}"#;
        assert!(refusal(404, gone).to_string().contains("not available"));
        // The body of a 401 is not repeated: it may quote the key.
        let key = refusal(401, br#"{"error": {"message": "API key AIza-x invalid"}}"#).to_string();
        assert!(!key.contains("AIza-x"), "{key}");
    }
}
