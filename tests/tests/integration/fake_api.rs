//! Fake HTTP services on 127.0.0.1 for the generation and camera tests.
//!
//! [`Fake`] is a plain HTTP/1.1 server (one request per connection,
//! `Connection: close`) that records what it gets and answers with what a
//! test programmed. [`FakeOpenAi`] and [`FakeGemini`] play OpenAI's images
//! API and Google's Gemini API as they behave: each rule they enforce
//! names, beside it, the public reference it comes from. Sources cited as
//! `owner/repo#N` are GitHub issues quoting the real service's answers;
//! "AO" is async-openai 0.43's `src/types/images/image.rs`, "GG" is
//! googleapis/python-genai's `google/genai/types.py`.
//!
//! The file depends on tokio, serde_json and base64 only, so the server's
//! own binary tests (`yail-server/tests/generation_cli.rs`) include it too.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------
// The HTTP server
// ---------------------------------------------------------------------------

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A query parameter's value, as sent (these fakes' values need no
    /// decoding).
    pub fn query(&self, name: &str) -> Option<&str> {
        let (_, query) = self.target.split_once('?')?;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
    }

    /// Everything the request carried, as text, for "is the key in
    /// there" checks.
    pub fn as_text(&self) -> String {
        format!(
            "{} {} {:?} {}",
            self.method,
            self.target,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// What the fake answers.
pub enum Reply {
    /// One response.
    Full {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// One response with further headers.
    Headed {
        status: u16,
        headers: Vec<(&'static str, String)>,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// Never answers (until the test ends).
    Hang,
    /// An MJPEG stream: `frames` again and again, a part every 20 ms, up
    /// to 500 parts.
    Mjpeg {
        boundary: &'static str,
        frames: Vec<Vec<u8>>,
        lengths: bool,
    },
}

impl Reply {
    pub fn json(status: u16, value: Value) -> Reply {
        Reply::Full {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    pub fn bytes(status: u16, content_type: &'static str, body: &[u8]) -> Reply {
        Reply::Full {
            status,
            content_type,
            body: body.to_vec(),
        }
    }

    /// A `307 Temporary Redirect` to `location`.
    pub fn redirect(location: &str) -> Reply {
        Reply::Headed {
            status: 307,
            headers: vec![("Location", location.to_owned())],
            content_type: "text/plain",
            body: Vec::new(),
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A fake server; stops when dropped.
pub struct Fake {
    pub addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, handler) = (Arc::clone(&seen), Arc::clone(&handler));
                tokio::spawn(async move {
                    let _ = serve(stream, seen, handler).await;
                });
            }
        });
        Fake {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    seen: Arc<Mutex<Vec<Request>>>,
    handler: Arc<Handler>,
) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 || data.len() > 64 * 1024 {
            return Ok(());
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (method, target) = (
        first.next().unwrap_or("").to_owned(),
        first.next().unwrap_or("").to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length.min(16 << 20) {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let request = Request {
        method,
        target,
        headers,
        body,
    };
    let reply = handler(&request);
    seen.lock().unwrap().push(request);
    match reply {
        Reply::Full {
            status,
            content_type,
            body,
        } => respond(&mut stream, status, &[], content_type, &body).await,
        Reply::Headed {
            status,
            headers,
            content_type,
            body,
        } => respond(&mut stream, status, &headers, content_type, &body).await,
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(600)).await;
            Ok(())
        }
        Reply::Mjpeg {
            boundary,
            frames,
            lengths,
        } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={boundary}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            for frame in frames.iter().cycle().take(500) {
                let mut part = format!("--{boundary}\r\nContent-Type: image/jpeg\r\n");
                if lengths {
                    part.push_str(&format!("Content-Length: {}\r\n", frame.len()));
                }
                part.push_str("\r\n");
                stream.write_all(part.as_bytes()).await?;
                stream.write_all(frame).await?;
                stream.write_all(b"\r\n").await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(())
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&'static str, String)],
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} Whatever\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Today (UTC) as `YYYY-MM-DD`, which compares as text in date order.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

// ---------------------------------------------------------------------------
// OpenAI
// ---------------------------------------------------------------------------

/// One model of OpenAI's list.
#[derive(Debug, Clone)]
pub struct OpenAiModel {
    pub id: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// `YYYY-MM-DD`, or none announced.
    pub shutdown_date: Option<&'static str>,
}

/// OpenAI's image models as of 2026-12-07, with the shutdown dates its
/// deprecations page gives (<https://developers.openai.com/api/docs/deprecations>),
/// and two other models. Whether a model already shut down stays listed
/// is not documented: `gpt-image-1-mini`, `gpt-image-1.5` and
/// `chatgpt-image-latest` (2026-12-01) are listed with their past dates,
/// `gpt-image-1` (2026-10-23) and `dall-e-2`/`dall-e-3` (2026-05-12) are
/// gone, so both cases are played.
pub fn openai_models() -> Vec<OpenAiModel> {
    let model = |id, created, shutdown_date| OpenAiModel {
        id,
        created,
        shutdown_date,
    };
    vec![
        model("gpt-image-2", 1_776_729_600, None),
        model("gpt-image-2-2026-04-21", 1_776_729_600, None),
        model("gpt-image-2.5-sunburst", 1_788_825_600, None),
        model("gpt-image-2.5-flare", 1_788_825_600, None),
        // Images 2.6, released 2026-11-04 (docs.apiyi.com gpt-image-2-6).
        model("gpt-image-2.6-sunburst", 1_793_750_400, None),
        model("gpt-image-2.6-flare", 1_793_750_400, None),
        model("gpt-image-1-mini", 1_759_708_800, Some("2026-12-01")),
        model("gpt-image-1.5", 1_765_843_200, Some("2026-12-01")),
        model("chatgpt-image-latest", 1_765_843_200, Some("2026-12-01")),
        model("gpt-5", 1_786_060_800, None),
        model("text-embedding-3-small", 1_705_948_997, None),
    ]
}

/// A failure the fake OpenAI answers a generation with, once.
#[derive(Debug, Clone)]
pub enum OpenAiFault {
    /// 429 `rate_limit_exceeded` (chatboxai/chatbox#1361), with the
    /// `retry-after` header when given (AO `src/middleware/retry/mod.rs`).
    RateLimited { retry_after: Option<u64> },
    /// 429 `insufficient_quota`: no credit left (ChatGPTNextWeb/NextChat#3664).
    NoCredit,
    /// 500 with a body that is no JSON: "5xx bodies are not guaranteed
    /// JSON" (AO `client.rs`, `read_error_response`).
    ServerError,
    /// 400 `moderation_blocked` from the safety system (jeffstric/ZJT#480).
    Moderation,
    /// A redirect to `location`.
    Redirect(String),
    /// Any status and body, as given.
    Body {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
}

struct OpenAiState {
    key: String,
    models: Vec<OpenAiModel>,
    picture: String,
    faults: VecDeque<OpenAiFault>,
}

/// OpenAI's images API at `{base_url}` = `http://127.0.0.1:port/v1`.
pub struct FakeOpenAi {
    pub fake: Fake,
    state: Arc<Mutex<OpenAiState>>,
}

/// OpenAI's error body: `{"error":{"message","type","param","code"}}`
/// with string or null values (async-openai's `ApiError` needs `message`
/// as a string; a numeric `code` would not parse).
fn openai_error(
    status: u16,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Reply {
    Reply::json(
        status,
        json!({"error": {"message": message, "type": kind, "param": param, "code": code}}),
    )
}

impl FakeOpenAi {
    /// Accepts `key`; answers every generation with `picture`.
    pub async fn start(key: &str, picture: &[u8]) -> FakeOpenAi {
        FakeOpenAi::with_models(key, picture, openai_models()).await
    }

    pub async fn with_models(key: &str, picture: &[u8], models: Vec<OpenAiModel>) -> FakeOpenAi {
        let state = Arc::new(Mutex::new(OpenAiState {
            key: key.to_owned(),
            models,
            picture: b64(picture),
            faults: VecDeque::new(),
        }));
        let shared = Arc::clone(&state);
        let fake =
            Fake::start(move |request| openai_answer(&mut shared.lock().unwrap(), request)).await;
        FakeOpenAi { fake, state }
    }

    /// The base URL the server is given (`--openai-base-url`).
    pub fn base_url(&self) -> String {
        self.fake.url("/v1")
    }

    /// Answers the next generation with `fault`.
    pub fn fail_next(&self, fault: OpenAiFault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.fake.requests()
    }

    /// The generation requests only (not the model list's).
    pub fn generations(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() == "/v1/images/generations")
            .collect()
    }

    /// The model list requests.
    pub fn model_lists(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() == "/v1/models")
            .collect()
    }
}

fn openai_answer(state: &mut OpenAiState, request: &Request) -> Reply {
    // Authentication: `Authorization: Bearer <key>`
    // (https://developers.openai.com/api/reference/resources/models/methods/list).
    match request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        // No key: 401, `code` null (openai/openai-python#1434).
        None => {
            return openai_error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (i.e. Authorization: Basic BASE64(:YOUR_KEY)) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                None,
                None,
            );
        }
        // A wrong key: 401 `invalid_api_key`, the key shown masked as a
        // prefix and its last four characters (chatanywhere/GPT_API_free#62,
        // continuedev/continue#10294).
        Some(key) if key != state.key => {
            let masked = format!(
                "{}***{}",
                key.chars().take(7).collect::<String>(),
                key.chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            );
            return openai_error(
                401,
                &format!(
                    "Incorrect API key provided: {masked}. You can find your API key at https://platform.openai.com/account/api-keys."
                ),
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            );
        }
        Some(_) => {}
    }
    match (request.method.as_str(), request.path()) {
        // The model list: `{"object":"list","data":[{id, object, created,
        // owned_by, shutdown_date}]}`, `shutdown_date` a date or null
        // (https://developers.openai.com/api/reference/resources/models/methods/list).
        ("GET", "/v1/models") => Reply::json(
            200,
            json!({"object": "list", "data": state.models.iter().map(|m| json!({
                "id": m.id, "object": "model", "created": m.created,
                "owned_by": "system", "shutdown_date": m.shutdown_date,
            })).collect::<Vec<_>>()}),
        ),
        ("POST", "/v1/images/generations") => match state.faults.pop_front() {
            Some(fault) => openai_fault(fault),
            None => openai_generation(state, &request.json()),
        },
        // Not a path the server uses.
        _ => openai_error(404, "Invalid URL", "invalid_request_error", None, None),
    }
}

fn openai_fault(fault: OpenAiFault) -> Reply {
    match fault {
        OpenAiFault::RateLimited { retry_after } => {
            let body = json!({"error": {"message": "Rate limit reached for images per minute in organization org-fake. Limit: 5/1min. Current: 6/1min.",
                "type": "requests", "param": null, "code": "rate_limit_exceeded"}});
            Reply::Headed {
                status: 429,
                headers: retry_after
                    .map(|s| ("retry-after", s.to_string()))
                    .into_iter()
                    .collect(),
                content_type: "application/json",
                body: body.to_string().into_bytes(),
            }
        }
        OpenAiFault::NoCredit => openai_error(
            429,
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            "insufficient_quota",
            None,
            Some("insufficient_quota"),
        ),
        OpenAiFault::ServerError => {
            Reply::bytes(500, "text/html", b"<h1>Internal Server Error</h1>")
        }
        OpenAiFault::Moderation => openai_error(
            400,
            "Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID req_fake. safety_violations=[violence].",
            "image_generation_user_error",
            None,
            Some("moderation_blocked"),
        ),
        OpenAiFault::Redirect(location) => Reply::redirect(&location),
        OpenAiFault::Body {
            status,
            content_type,
            body,
        } => Reply::Full {
            status,
            content_type,
            body,
        },
    }
}

/// `POST /v1/images/generations` for the GPT image models.
fn openai_generation(state: &OpenAiState, body: &Value) -> Reply {
    let invalid = |param: &str, message: String, code: &str| {
        openai_error(
            400,
            &message,
            "invalid_request_error",
            Some(param),
            Some(code),
        )
    };
    // `prompt` is required, at most 32000 characters for GPT image models
    // (AO `CreateImageRequest::prompt`).
    let prompt = body["prompt"].as_str().unwrap_or("");
    if prompt.is_empty() || prompt.chars().count() > 32_000 {
        return invalid(
            "prompt",
            String::from("Invalid 'prompt': must be 1 to 32000 characters."),
            "invalid_value",
        );
    }
    let model = body["model"].as_str().unwrap_or("");
    // A model that is unknown, or shut down: 404 `model_not_found`
    // (jdmnk/codex-imagegen-cli#18 for the body; the deprecations page says
    // a shut-down model "no longer accepts requests", and model_not_found
    // is the code most cited for it).
    let today = today();
    let current = state
        .models
        .iter()
        .find(|m| m.id == model)
        .is_some_and(|m| m.shutdown_date.is_none_or(|day| day > today.as_str()));
    if !current {
        return openai_error(
            404,
            &format!("The model `{model}` does not exist or you do not have access to it."),
            "invalid_request_error",
            None,
            Some("model_not_found"),
        );
    }
    // `response_format` and `style` are DALL·E parameters, refused by GPT
    // image models with 400 `unknown_parameter` (vercel/ai#6102,
    // basketikun/infinite-canvas#197 for gpt-image-2).
    for legacy in ["response_format", "style"] {
        if body.get(legacy).is_some() {
            return openai_error(
                400,
                &format!("Unknown parameter: '{legacy}'."),
                "invalid_request_error",
                Some(legacy),
                Some("unknown_parameter"),
            );
        }
    }
    // `quality`: low, medium, high or auto; xhigh and max only for the
    // 2.5 and 2.6 models (AO `CreateImageRequest::quality`); other values
    // get 400 `invalid_value` (griptape-ai/griptape-nodes-engine#1031).
    let newer = model.starts_with("gpt-image-2.5") || model.starts_with("gpt-image-2.6");
    if let Some(quality) = body.get("quality") {
        let quality = quality.as_str().unwrap_or("");
        let known = ["low", "medium", "high", "auto"].contains(&quality)
            || (newer && ["xhigh", "max"].contains(&quality));
        if !known {
            return invalid(
                "quality",
                format!(
                    "Invalid value: '{quality}'. Supported values are: 'low', 'medium', 'high', and 'auto'."
                ),
                "invalid_value",
            );
        }
    }
    // `size`: `auto` or WIDTHxHEIGHT with both divisible by 16, aspect
    // between 1:3 and 3:1, longest edge 3840 (AO `CreateImageRequest::size`),
    // 655,360 to 8,294,400 pixels (openclaw/openclaw#118476); the message
    // as jezweb/claude-skills#91 quotes it.
    if let Some(size) = body.get("size") {
        let size = size.as_str().unwrap_or("");
        if size != "auto" && !valid_gpt_image_size(size) {
            return invalid(
                "size",
                format!("Invalid size '{size}'. Width and height must both be divisible by 16."),
                "invalid_value",
            );
        }
    }
    // `n`: 1 to 10 (AO `CreateImageRequest::n`).
    if let Some(n) = body.get("n")
        && !n.as_u64().is_some_and(|n| (1..=10).contains(&n))
    {
        return invalid(
            "n",
            format!("Invalid 'n': {n}. Expected a value between 1 and 10."),
            "invalid_value",
        );
    }
    // The answer: base64 only (GPT image models return no URL), with
    // `usage` and its required `input_tokens_details`
    // (openai-python `images_response.py`; AO `ImagesResponse`).
    Reply::json(
        200,
        json!({
            "created": 1_796_688_000u32,
            "data": [{"b64_json": state.picture}],
            "background": "opaque",
            "output_format": "png",
            "quality": body.get("quality").and_then(Value::as_str).unwrap_or("auto"),
            "size": body.get("size").and_then(Value::as_str).unwrap_or("auto"),
            "usage": {"input_tokens": 12, "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
                      "output_tokens": 272, "total_tokens": 284},
        }),
    )
}

fn valid_gpt_image_size(size: &str) -> bool {
    let Some((w, h)) = size.split_once('x') else {
        return false;
    };
    let (Ok(w), Ok(h)) = (w.parse::<u64>(), h.parse::<u64>()) else {
        return false;
    };
    w % 16 == 0
        && h % 16 == 0
        && w.max(h) <= 3840
        && w.max(h) <= 3 * w.min(h)
        && (655_360..=8_294_400).contains(&(w * h))
}

// ---------------------------------------------------------------------------
// Gemini
// ---------------------------------------------------------------------------

/// Gemini's models as of 2026-12-07: the two current image models
/// (<https://ai.google.dev/gemini-api/docs/deprecations> lists both without
/// a shutdown date), text models, and an Imagen model that only `predict`s.
/// The shut-down image previews are no longer listed: the list has no
/// shutdown field (<https://ai.google.dev/api/rest/v1beta/models>).
pub fn gemini_models() -> Vec<(String, Vec<&'static str>)> {
    let generate = vec!["generateContent", "countTokens"];
    vec![
        (String::from("gemini-3.8-pro"), generate.clone()),
        (String::from("gemini-3.8-flash"), generate.clone()),
        (String::from("gemini-3.1-flash-image"), generate.clone()),
        (String::from("gemini-3-pro-image"), generate.clone()),
        (String::from("text-embedding-004"), vec!["embedContent"]),
        (String::from("imagen-4.0-generate-001"), vec!["predict"]),
    ]
}

/// A failure the fake Gemini answers a generation with, once.
#[derive(Debug, Clone)]
pub enum GeminiFault {
    /// The prompt blocked: 200 with `promptFeedback.blockReason` and no
    /// candidates (values: GG `BlockedReason`).
    Blocked(&'static str),
    /// A candidate that ends without a picture, with words, and this
    /// `finishReason` (GG `FinishReason`: `IMAGE_SAFETY`, `NO_IMAGE`...).
    Withheld {
        finish: &'static str,
        text: &'static str,
    },
    /// 429 RESOURCE_EXHAUSTED (google-gemini/gemini-cli#8437).
    Quota,
    /// 503 UNAVAILABLE (google-gemini/gemini-cli#7392).
    Overloaded,
    /// A redirect to `location`.
    Redirect(String),
    /// Any status and body, as given.
    Body { status: u16, body: Vec<u8> },
}

struct GeminiState {
    key: String,
    models: Vec<(String, Vec<&'static str>)>,
    picture: String,
    drafts: Vec<String>,
    faults: VecDeque<GeminiFault>,
}

/// Gemini's REST API at `{base_url}` = `http://127.0.0.1:port`.
pub struct FakeGemini {
    pub fake: Fake,
    state: Arc<Mutex<GeminiState>>,
}

/// Gemini's error body: `{"error":{"code":int,"message","status"}}`
/// (googleapis/python-genai `errors.py` reads these three).
fn gemini_error(code: u16, message: &str, status: &str) -> Reply {
    Reply::json(
        code,
        json!({"error": {"code": code, "message": message, "status": status}}),
    )
}

/// A key Gemini does not accept: 400 INVALID_ARGUMENT, reason
/// API_KEY_INVALID, not 401 (continuedev/continue#8516; the message of a
/// missing key as google-gemini/gemini-cli#25198 quotes it).
fn gemini_key_refused(message: &str) -> Reply {
    Reply::json(
        400,
        json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT", "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message}]}}),
    )
}

impl FakeGemini {
    /// Accepts `key`; answers every generation with `drafts` (as thought
    /// parts) and then `picture`, the final one.
    pub async fn start(key: &str, picture: &[u8], drafts: &[&[u8]]) -> FakeGemini {
        let state = Arc::new(Mutex::new(GeminiState {
            key: key.to_owned(),
            models: gemini_models(),
            picture: b64(picture),
            drafts: drafts.iter().map(|d| b64(d)).collect(),
            faults: VecDeque::new(),
        }));
        let shared = Arc::clone(&state);
        let fake =
            Fake::start(move |request| gemini_answer(&mut shared.lock().unwrap(), request)).await;
        FakeGemini { fake, state }
    }

    /// The base URL the server is given (`--gemini-base-url`).
    pub fn base_url(&self) -> String {
        self.fake.url("")
    }

    /// Puts `count` more text models first in the list, so that the image
    /// models are only on a later page.
    pub fn pad_models(&self, count: usize) {
        let mut state = self.state.lock().unwrap();
        let padding = (0..count).map(|i| {
            (
                format!("gemini-3.8-flash-tuned-{i:05}"),
                vec!["generateContent"],
            )
        });
        let mut models: Vec<_> = padding.collect();
        models.append(&mut state.models);
        state.models = models;
    }

    /// Answers the next generation with `fault`.
    pub fn fail_next(&self, fault: GeminiFault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.fake.requests()
    }

    /// The generation requests only.
    pub fn generations(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path().ends_with(":generateContent"))
            .collect()
    }

    /// The model list requests.
    pub fn model_lists(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() == "/v1beta/models")
            .collect()
    }
}

fn gemini_answer(state: &mut GeminiState, request: &Request) -> Reply {
    // The key travels in `x-goog-api-key` (python-genai
    // `_api_client.py`; the docs' curl examples); `?key=` works too
    // (https://ai.google.dev/api/models curl examples).
    let key = request
        .header("x-goog-api-key")
        .or_else(|| request.query("key"));
    match key {
        None => return gemini_key_refused("API Key not found. Please pass a valid API key."),
        Some(key) if key != state.key => {
            return gemini_key_refused("API key not valid. Please pass a valid API key.");
        }
        Some(_) => {}
    }
    let path = request.path();
    if request.method == "GET" && path == "/v1beta/models" {
        return gemini_list(state, request);
    }
    let Some(model) = path
        .strip_prefix("/v1beta/models/")
        .and_then(|rest| rest.strip_suffix(":generateContent"))
        .filter(|_| request.method == "POST")
    else {
        return gemini_error(404, "Method not found.", "NOT_FOUND");
    };
    // A model that is not listed for generateContent (unknown, or shut
    // down): 404 NOT_FOUND with this text (ShmuelRonen/ComfyUI-Gemini_Flash_2.0_Exp#30,
    // lofcz/LLMTornado#146; a shut-down preview id answers 404 in
    // presenton/presenton#402).
    let generates = state
        .models
        .iter()
        .any(|(id, methods)| id == model && methods.contains(&"generateContent"));
    if !generates {
        return gemini_error(
            404,
            &format!(
                "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
            ),
            "NOT_FOUND",
        );
    }
    // `contents[].parts[].text` carries the prompt
    // (https://ai.google.dev/api/generate-content#request-body).
    let body = request.json();
    let has_text = body["contents"].as_array().is_some_and(|contents| {
        contents.iter().any(|c| {
            c["parts"].as_array().is_some_and(|parts| {
                parts
                    .iter()
                    .any(|p| p["text"].as_str().is_some_and(|t| !t.is_empty()))
            })
        })
    });
    if !has_text {
        return gemini_error(
            400,
            "* GenerateContentRequest.contents: contents is not specified\n",
            "INVALID_ARGUMENT",
        );
    }
    if let Some(fault) = state.faults.pop_front() {
        return gemini_fault(fault);
    }
    // The image models answer with pictures when `responseModalities`
    // asks for IMAGE (the request shape in Google's image-generation guide,
    // quoted in intrafind/ihub-apps#637); a request without it gets words
    // only (inferred: the modality decides what the model may return).
    let wants_image = body["generationConfig"]["responseModalities"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m == "IMAGE"));
    if !wants_image || !model.contains("-image") {
        return Reply::json(
            200,
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Here is a description of the picture."}]},
                   "finishReason": "STOP", "index": 0}], "modelVersion": model, "responseId": "fake"}),
        );
    }
    // Gemini 3 image models think first: a thought text, then up to two
    // draft pictures marked `"thought": true`, then the final picture with
    // its `thoughtSignature` (minimaxir/gemimg#21, BerriAI/litellm#24864;
    // help.apiyi.com p=26130 quotes Google's docs: at most two drafts,
    // the last image is the final one).
    let mut parts =
        vec![json!({"text": "Planning the composition and the colours.", "thought": true})];
    parts.extend(
        state
            .drafts
            .iter()
            .map(|d| json!({"inlineData": {"mimeType": "image/png", "data": d}, "thought": true})),
    );
    parts.push(json!({"text": "Here is your picture."}));
    parts.push(json!({"inlineData": {"mimeType": "image/png", "data": state.picture}, "thoughtSignature": "c2lnbmF0dXJl"}));
    Reply::json(
        200,
        json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 1290, "totalTokenCount": 1299},
               "modelVersion": model, "responseId": "fake-response"}),
    )
}

/// `GET /v1beta/models`: `pageSize` (50 when not given, at most 1000) and
/// `pageToken`; `nextPageToken` only while more remain; each model as
/// `models/<id>` with its `supportedGenerationMethods`
/// (https://ai.google.dev/api/rest/v1beta/models/list).
fn gemini_list(state: &GeminiState, request: &Request) -> Reply {
    let size = request
        .query("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(50)
        .min(1000);
    let start = match request.query("pageToken") {
        None => 0,
        // Tokens are the fake's own: "page-<offset>".
        Some(token) => match token.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(offset) => offset,
            None => return gemini_error(400, "Invalid page token.", "INVALID_ARGUMENT"),
        },
    };
    let end = (start + size).min(state.models.len());
    let models: Vec<Value> = state.models[start.min(end)..end]
        .iter()
        .map(|(id, methods)| {
            json!({"name": format!("models/{id}"), "baseModelId": id, "version": "001",
                   "displayName": id, "inputTokenLimit": 65536, "outputTokenLimit": 32768,
                   "supportedGenerationMethods": methods, "thinking": true})
        })
        .collect();
    let mut page = json!({ "models": models });
    if end < state.models.len() {
        page["nextPageToken"] = json!(format!("page-{end}"));
    }
    Reply::json(200, page)
}

fn gemini_fault(fault: GeminiFault) -> Reply {
    match fault {
        GeminiFault::Blocked(reason) => Reply::json(
            200,
            json!({"promptFeedback": {"blockReason": reason},
                   "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}}),
        ),
        GeminiFault::Withheld { finish, text } => Reply::json(
            200,
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                   "finishReason": finish, "index": 0}]}),
        ),
        GeminiFault::Quota => gemini_error(
            429,
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
            "RESOURCE_EXHAUSTED",
        ),
        GeminiFault::Overloaded => gemini_error(
            503,
            "The model is overloaded. Please try again later.",
            "UNAVAILABLE",
        ),
        GeminiFault::Redirect(location) => Reply::redirect(&location),
        GeminiFault::Body { status, body } => Reply::Full {
            status,
            content_type: "application/json",
            body,
        },
    }
}
