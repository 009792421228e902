//! The requests that read a provider's model list: where to ask, with
//! the key in the provider's header; OpenAI's list in one answer,
//! Gemini's page by page; each request and each answer bounded. What the
//! lists mean for a model name is `discovery`'s.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;

use super::answer::{short, transport_reason};
use super::backend::Backend;
use super::listing::{ListFormatError, ModelList};
use crate::fetch::read_limited;

/// Longest one list request may take, its body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest answer read for one page of a list. OpenAI's whole list is
/// about 20 KB.
const MAX_LIST_BYTES: u64 = 4 << 20;
/// Most pages of Gemini's list read (1000 models a page).
const MAX_GEMINI_PAGES: usize = 10;
/// Models asked for per page: Gemini's largest page
/// (<https://ai.google.dev/api/rest/v1beta/models/list>: "at most 1000").
const GEMINI_PAGE_SIZE: u32 = 1000;

/// Why a model list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ListError {
    /// The provider refused the key.
    #[error("the API key was not accepted ({status})")]
    KeyRefused { status: u16 },
    /// An error status other than a refused key.
    #[error("the model list request was refused ({status}): {message}")]
    Status { status: u16, message: String },
    /// A redirect, which the API clients never follow: it would take the
    /// key to another host.
    #[error("the API answered with a redirect ({status}), which is not followed")]
    Redirected { status: u16 },
    /// No connection, or the answer broke off.
    #[error("the API could not be reached: {0}")]
    Unreachable(String),
    /// No whole answer in time.
    #[error("the API did not answer within {0} s")]
    Timeout(u64),
    /// An answer that is not a model list.
    #[error(transparent)]
    Format(#[from] ListFormatError),
    /// An answer over the size bound.
    #[error("the model list is larger than {0} bytes")]
    TooLarge(u64),
    /// More pages than read.
    #[error("the model list has more than {0} pages")]
    TooManyPages(usize),
}

/// Where to ask one provider, with its key.
pub(super) struct Account {
    pub(super) base_url: String,
    pub(super) key: HeaderValue,
}

/// A key as a header value, marked sensitive so that no debug output
/// shows it; `None` when it cannot be sent as a header.
pub(crate) fn key_header(prefix: &str, key: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("{prefix}{key}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `backend`'s model list, read with `account`'s key: OpenAI's in one
/// request, Gemini's page by page (at most [`MAX_GEMINI_PAGES`] pages).
pub(super) async fn read(
    http: &reqwest::Client,
    backend: Backend,
    account: &Account,
) -> Result<ModelList, ListError> {
    match backend {
        Backend::OpenAi => {
            let url = format!("{}/models", account.base_url);
            let body = get(http, &url, AUTHORIZATION.as_str(), &account.key).await?;
            Ok(ModelList::openai(&body)?)
        }
        Backend::Gemini => {
            let mut list = ModelList::new(Backend::Gemini);
            let mut token: Option<String> = None;
            for _ in 0..MAX_GEMINI_PAGES {
                let mut url = url::Url::parse(&format!("{}/v1beta/models", account.base_url))
                    .map_err(|e| ListError::Unreachable(format!("bad base URL: {e}")))?;
                url.query_pairs_mut()
                    .append_pair("pageSize", &GEMINI_PAGE_SIZE.to_string());
                if let Some(token) = &token {
                    url.query_pairs_mut().append_pair("pageToken", token);
                }
                let body = get(http, url.as_str(), "x-goog-api-key", &account.key).await?;
                token = list.add_gemini_page(&body)?;
                if token.is_none() {
                    return Ok(list);
                }
            }
            Err(ListError::TooManyPages(MAX_GEMINI_PAGES))
        }
    }
}

/// One bounded GET with the key in `header`; the body of a success.
async fn get(
    http: &reqwest::Client,
    url: &str,
    header: &str,
    key: &HeaderValue,
) -> Result<Vec<u8>, ListError> {
    let response = http
        .get(url)
        .header(header, key.clone())
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| ListError::Unreachable(transport_reason(&e)))?;
    let status = response.status().as_u16();
    let body = read_limited(response, MAX_LIST_BYTES)
        .await
        .map_err(|e| match e {
            crate::fetch::FetchError::TooLarge { limit } => ListError::TooLarge(limit),
            other => ListError::Unreachable(other.to_string()),
        })?;
    match status {
        200..=299 => Ok(body.to_vec()),
        300..=399 => Err(ListError::Redirected { status }),
        401 | 403 => Err(ListError::KeyRefused { status }),
        _ if is_gemini_key_refusal(&body) => Err(ListError::KeyRefused { status }),
        _ => Err(ListError::Status {
            status,
            message: error_message(&body),
        }),
    }
}

/// Whether a body is Gemini's answer to a key it does not accept: a 400
/// `INVALID_ARGUMENT` whose details give the reason `API_KEY_INVALID`
/// (seen in continuedev/continue#8516; Gemini does not answer 401).
pub(crate) fn is_gemini_key_refusal(body: &[u8]) -> bool {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Body {
        error: Detail,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Detail {
        details: Vec<Reason>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Reason {
        reason: String,
    }
    serde_json::from_slice::<Body>(body).is_ok_and(|b| {
        b.error
            .details
            .iter()
            .any(|d| d.reason == "API_KEY_INVALID")
    })
}

/// The `error.message` of an API's error body (both providers use that
/// shape), briefly; or a word on what came instead.
pub(crate) fn error_message(body: &[u8]) -> String {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Body {
        error: Option<Detail>,
    }
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Detail {
        message: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(Body {
            error: Some(Detail { message }),
        }) if !message.is_empty() => short(&message, 120),
        _ => String::from("no explanation given"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_key_refusals_are_recognised_by_their_reason() {
        let refused = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
        assert!(is_gemini_key_refusal(refused));
        assert!(!is_gemini_key_refusal(
            br#"{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}"#
        ));
        assert!(!is_gemini_key_refusal(b"<html>"));
        assert_eq!(
            error_message(refused),
            "API key not valid. Please pass a valid API key."
        );
        assert_eq!(error_message(b"<html>"), "no explanation given");
    }
}
