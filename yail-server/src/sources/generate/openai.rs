//! OpenAI's images API through `async-openai`. GPT image models answer
//! with base64 data; older or compatible servers may answer with a URL,
//! which is then fetched with the same bounds as everything downloaded.
//! async-openai itself retries a 429 (unless the quota is used up) and 5xx
//! answers up to three times with a short back-off; all of it happens
//! inside the generation timeout.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::images::{
    CreateImageRequest, Image, ImageModel, ImageQuality, ImageSize, ImagesResponse,
};

use super::api::{Answer, GenError, GenSettings, MAX_ANSWER_BYTES, decode_base64, short};

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
            client: Client::with_config(config).with_http_client(http_client()),
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
                429 => String::from("too many requests or no credit left; try again later"),
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
