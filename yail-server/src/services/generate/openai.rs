//! OpenAI's images API through `async-openai`. GPT image models answer
//! with base64 data; older or compatible servers may answer with a URL,
//! which is then fetched with the same bounds as everything downloaded.
//! async-openai's own retry layer is replaced by [`BoundedRetry`]: it slept
//! for whatever `Retry-After` a busy API named (an hour, if it said so), so
//! a 429 held the Atari until the generation timeout, which then reported a
//! timeout. Ours retries a 429 or 5xx a few times after a short pause, and
//! answers at once when the API asks for a longer wait. It also reads each
//! answer within a bound and follows no redirect.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::{OpenAIError, WrappedError};
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::types::images::{
    CreateImageRequest, Image, ImageModel, ImageQuality, ImageSize, ImagesResponse,
};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::answer::{Answer, MAX_ANSWER_BYTES, decode_base64, short, transport_reason};
use super::error::GenError;
use super::settings::GenSettings;
use crate::fetch::{FetchError, read_limited};

const SERVICE: &str = "OpenAI";

pub(super) struct OpenAi {
    client: Client<OpenAIConfig>,
}

impl OpenAi {
    pub(super) fn new(base_url: &str, key: &str) -> OpenAi {
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(key);
        OpenAi {
            client: Client::with_config(config)
                .with_http_service(BoundedRetry(ReqwestService::new(http_client()))),
        }
    }

    pub(super) async fn generate(
        &self,
        model: &str,
        settings: &GenSettings,
        prompt: &str,
    ) -> Result<Answer, GenError> {
        let request = CreateImageRequest {
            prompt: prompt.to_owned(),
            model: ImageModel::Other(model.to_owned()),
            n: Some(1),
            size: Some(ImageSize::Other(settings.size.clone())),
            quality: Some(quality(&settings.quality)),
            ..CreateImageRequest::default()
        };
        let response = self
            .client
            .images()
            .generate(request)
            .await
            .map_err(api_error)?;
        answer(response)
    }
}

/// The HTTP client for the APIs: no system proxy (a proxy would see the
/// key), bounded connection time, and no redirects: a redirect would take
/// the key to whatever host it names, outside the address policy, so it is
/// reported as an error instead. The generation timeout and each
/// request's own timeout bound the rest.
pub(super) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Retries after a 429 or 5xx answer.
const RETRIES: u32 = 3;
/// Pause before the first retry; doubled each time.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Longest `Retry-After` waited for; an API asking for more is reported
/// as busy at once.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);

/// Why the HTTP service under the OpenAI client gave no answer to parse.
#[derive(Debug, thiserror::Error)]
enum Transport {
    /// A 3xx answer: the client follows no redirect.
    #[error("answered with a redirect ({0}), which is not followed")]
    Redirected(u16),
    /// The answer could not be read whole within the bound.
    #[error(transparent)]
    Read(#[from] FetchError),
}

/// The HTTP service under the OpenAI client: reads every answer whole
/// within [`MAX_ANSWER_BYTES`] (async-openai would read any length),
/// refuses redirects, and retries a 429 or 5xx answer up to [`RETRIES`]
/// times, after `Retry-After` when the API names one of at most
/// [`MAX_RETRY_AFTER`], else after a short doubling pause. A 429 for an
/// account without credit is not retried: it will not change
/// (`insufficient_quota`, <https://developers.openai.com/docs/guides/error-codes>).
/// The last answer goes to async-openai, which turns it into an error.
#[derive(Clone)]
struct BoundedRetry(ReqwestService);

type Answering = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower_service::Service<HttpRequestFactory> for BoundedRetry {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Answering;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), OpenAIError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Answering {
        let mut inner = self.0.clone();
        Box::pin(async move {
            let mut pause = FIRST_PAUSE;
            let mut attempt = 0;
            loop {
                std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                let response = read_whole(inner.call(request.clone()).await?).await?;
                let status = response.status();
                if !(status.as_u16() == 429 || status.is_server_error())
                    || attempt == RETRIES
                    || is_out_of_credit(&response)
                {
                    return Ok(response.into_reqwest());
                }
                let wait = match retry_after(&response.headers) {
                    Some(wait) if wait > MAX_RETRY_AFTER => return Ok(response.into_reqwest()),
                    Some(wait) => wait,
                    None => pause,
                };
                tokio::time::sleep(wait).await;
                pause = pause.saturating_mul(2);
                attempt += 1;
            }
        })
    }
}

/// An answer read whole.
struct Whole {
    status: reqwest::StatusCode,
    version: reqwest::Version,
    headers: reqwest::header::HeaderMap,
    body: bytes::Bytes,
}

impl Whole {
    fn status(&self) -> reqwest::StatusCode {
        self.status
    }

    /// The answer again, for async-openai to parse.
    fn into_reqwest(self) -> reqwest::Response {
        let mut answer = http::Response::new(reqwest::Body::from(self.body));
        *answer.status_mut() = self.status;
        *answer.version_mut() = self.version;
        *answer.headers_mut() = self.headers;
        reqwest::Response::from(answer)
    }
}

/// Reads `response` whole within [`MAX_ANSWER_BYTES`]; a redirect is an
/// error, its body unread.
async fn read_whole(response: reqwest::Response) -> Result<Whole, OpenAIError> {
    let (status, version) = (response.status(), response.version());
    if status.is_redirection() {
        return Err(OpenAIError::Boxed(Box::new(Transport::Redirected(
            status.as_u16(),
        ))));
    }
    let headers = response.headers().clone();
    let body = read_limited(response, MAX_ANSWER_BYTES as u64)
        .await
        .map_err(|e| OpenAIError::Boxed(Box::new(Transport::Read(e))))?;
    Ok(Whole {
        status,
        version,
        headers,
        body,
    })
}

/// Whether a 429 says the account has no credit left: `"type":
/// "insufficient_quota"` (ChatGPTNextWeb/NextChat#3664).
fn is_out_of_credit(answer: &Whole) -> bool {
    answer.status.as_u16() == 429
        && serde_json::from_slice::<WrappedError>(&answer.body)
            .is_ok_and(|e| e.error.r#type.as_deref() == Some("insufficient_quota"))
}

/// A `Retry-After` in seconds (the HTTP-date form is taken as "long").
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    Some(
        value
            .trim()
            .parse::<u64>()
            .map_or(Duration::MAX, Duration::from_secs),
    )
}

fn quality(name: &str) -> ImageQuality {
    match name {
        "low" => ImageQuality::Low,
        "medium" => ImageQuality::Medium,
        "high" => ImageQuality::High,
        _ => ImageQuality::Auto,
    }
}

/// The first picture of an answer.
fn answer(response: ImagesResponse) -> Result<Answer, GenError> {
    let Some(image) = response.data.first() else {
        return Err(GenError::BadAnswer {
            service: SERVICE,
            reason: String::from("the answer holds no picture"),
        });
    };
    match image.as_ref() {
        Image::B64Json { b64_json, .. } => {
            if b64_json.len() > MAX_ANSWER_BYTES {
                return Err(GenError::BadAnswer {
                    service: SERVICE,
                    reason: String::from("picture too large"),
                });
            }
            decode_base64(SERVICE, b64_json).map(Answer::Bytes)
        }
        Image::Url { url, .. } => Ok(Answer::Url(url.clone())),
    }
}

/// What the Atari is told of an error. Messages the API wrote are
/// repeated only where they explain a refusal of this request; for a
/// refused key, a busy or failing service, the server says it in its own
/// words (an API may quote the key, or answer a 5xx with a web page).
fn api_error(error: OpenAIError) -> GenError {
    match error {
        OpenAIError::ApiError(response) => {
            let status = response.status_code.as_u16();
            let code = response.api_error.code.as_deref().unwrap_or_default();
            let message = match (status, code) {
                (401 | 403, _) => String::from("the server's API key was not accepted"),
                // An account without credit: no retry will help.
                (429, "insufficient_quota") => {
                    String::from("the server's account has no credit left")
                }
                (429, _) => String::from("busy (too many requests); try again later"),
                (500..=599, _) => String::from("the service failed; try again later"),
                // Unknown or shut-down models: 404 `model_not_found`
                // (jdmnk/codex-imagegen-cli#18).
                (_, "model_not_found") => {
                    String::from("the model is not available (shut down, or unknown)")
                }
                // The safety system: 400 `moderation_blocked` (jeffstric/ZJT#480).
                (_, "moderation_blocked") => {
                    String::from("OpenAI's safety system refused the prompt; try other words")
                }
                _ => short(&response.api_error.message, 120),
            };
            GenError::Refused {
                service: SERVICE,
                status,
                message,
            }
        }
        OpenAIError::JSONDeserialize(e, _) => GenError::BadAnswer {
            service: SERVICE,
            reason: format!("unreadable answer ({e})"),
        },
        OpenAIError::Reqwest(e) => GenError::Unreachable {
            service: SERVICE,
            reason: transport_reason(&e),
        },
        OpenAIError::Boxed(boxed) => match boxed.downcast::<Transport>() {
            Ok(transport) => match *transport {
                Transport::Redirected(status) => GenError::Refused {
                    service: SERVICE,
                    status,
                    message: Transport::Redirected(status).to_string(),
                },
                Transport::Read(source) => GenError::ReadAnswer {
                    service: SERVICE,
                    source,
                },
            },
            Err(other) => match other.downcast::<reqwest::Error>() {
                Ok(e) => GenError::Unreachable {
                    service: SERVICE,
                    reason: transport_reason(&e),
                },
                Err(other) => GenError::Unreachable {
                    service: SERVICE,
                    reason: short(&other.to_string(), 120),
                },
            },
        },
        other => GenError::Unreachable {
            service: SERVICE,
            reason: short(&other.to_string(), 120),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Answer, GenError> {
        let response: ImagesResponse =
            serde_json::from_str(json).map_err(|e| GenError::BadAnswer {
                service: SERVICE,
                reason: e.to_string(),
            })?;
        answer(response)
    }

    #[test]
    fn base64_and_url_answers_are_read_and_unknown_fields_ignored() {
        let b64 = parse(
            r#"{"created": 1, "data": [{"b64_json": "aGk="}], "usage": {"input_tokens": 1,
               "total_tokens": 2, "output_tokens": 1,
               "input_tokens_details": {"text_tokens": 1, "image_tokens": 0}}, "something_new": [1, 2]}"#,
        );
        assert!(matches!(b64, Ok(Answer::Bytes(ref b)) if b == b"hi"));
        let url =
            parse(r#"{"created": 1, "data": [{"url": "http://127.0.0.1/x.png", "extra": 1}]}"#);
        assert!(matches!(url, Ok(Answer::Url(ref u)) if u == "http://127.0.0.1/x.png"));
    }

    #[test]
    fn an_answer_without_pictures_is_an_error() {
        let empty = parse(r#"{"created": 1, "data": []}"#);
        assert!(matches!(empty, Err(GenError::BadAnswer { .. })));
    }
}
