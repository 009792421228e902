//! OpenAI's images API through `async-openai`. GPT image models answer
//! with base64 data; older or compatible servers may answer with a URL,
//! which is then fetched with the same bounds as everything downloaded.
//! async-openai's own retry layer is replaced by [`BoundedRetry`]: it slept
//! for whatever `Retry-After` a busy API named (an hour, if it said so), so
//! a 429 held the Atari until the generation timeout, which then reported a
//! timeout. Ours retries a 429 or 5xx a few times after a short pause, and
//! answers at once when the API asks for a longer wait.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::types::images::{
    CreateImageRequest, Image, ImageModel, ImageQuality, ImageSize, ImagesResponse,
};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::answer::{Answer, MAX_ANSWER_BYTES, decode_base64, short};
use super::error::GenError;
use super::settings::GenSettings;

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
/// key), bounded connection time; the generation timeout bounds the rest.
pub(super) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(5))
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

/// The HTTP service under the OpenAI client: retries a 429 or 5xx answer
/// up to [`RETRIES`] times, after `Retry-After` when the API names one of
/// at most [`MAX_RETRY_AFTER`], else after a short doubling pause; the last
/// answer goes to async-openai, which turns it into an error.
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
                let response = inner.call(request.clone()).await?;
                let status = response.status();
                if !(status.as_u16() == 429 || status.is_server_error()) || attempt == RETRIES {
                    return Ok(response);
                }
                let wait = match retry_after(response.headers()) {
                    Some(wait) if wait > MAX_RETRY_AFTER => return Ok(response),
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

fn api_error(error: OpenAIError) -> GenError {
    match error {
        OpenAIError::ApiError(response) => {
            let status = response.status_code.as_u16();
            let message = match status {
                401 | 403 => String::from("the server's API key was not accepted"),
                429 => String::from("busy (too many requests or no credit left); try again later"),
                500..=599 => String::from("the service failed; try again later"),
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
            reason: e.without_url().to_string(),
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
