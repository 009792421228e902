//! `gen`, `gen-gemini` and `openai-config` against fake OpenAI and Gemini
//! servers on 127.0.0.1.
//!
//! (Just over 500 lines: one file keeps every generation rule a client can
//! reach, each with the fake answer it needs.)

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use serde_json::json;
use yail_proto::Packet;
use yail_server::Config;
use yail_tests::{TestServer, photos_dir, test_config};

use crate::fake_api::{Fake, Reply, Request};

const OPENAI_KEY: &str = "sk-test-openai-0123456789";
const GEMINI_KEY: &str = "AIza-test-gemini-0123456789";

/// Every log line of this test binary, at debug level, for checking that
/// no key is ever logged.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .try_init();
        buffer
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

fn picture() -> Vec<u8> {
    std::fs::read(photos_dir().join("camera.png")).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A fake OpenAI images endpoint answering every generation with
/// `camera.png` in base64, plus unknown fields.
async fn fake_openai() -> Fake {
    let data = b64(&picture());
    Fake::start(move |request: &Request| {
        if request.target != "/v1/images/generations" {
            return Reply::bytes(404, "text/plain", b"no such path");
        }
        Reply::json(
            200,
            json!({
                "created": 1_790_000_000u32,
                "data": [{"b64_json": data, "revised_prompt": "whatever"}],
                "usage": {"input_tokens": 5, "output_tokens": 10, "total_tokens": 15,
                          "input_tokens_details": {"text_tokens": 5, "image_tokens": 0}},
                "a_field_from_the_future": {"x": [1, 2, 3]},
            }),
        )
    })
    .await
}

fn config_for(openai: &Fake) -> Config {
    Config {
        openai_api_key: Some(String::from(OPENAI_KEY)),
        openai_base_url: openai.url("/v1"),
        ..test_config()
    }
}

fn assert_picture(packet: &Packet, what: &str) {
    assert!(packet.error_message().is_none(), "{what}: {packet:?}");
    assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800), "{what}");
}

fn prompts(fake: &Fake) -> Vec<String> {
    fake.requests()
        .iter()
        .map(|r| r.json()["prompt"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_client_generations_gen_forms_give_a_picture_with_the_configured_model() {
    let _ = logs();
    let openai = fake_openai().await;
    let server = TestServer::start(config_for(&openai)).await;
    let mut atari = server.client().await;
    // The current client: the server chooses the model.
    assert_picture(
        &atari.request("gfx 2 gen \"a red barn\"").await.unwrap(),
        "current",
    );
    // The legacy client names its saved model, a retired one.
    assert_picture(
        &atari.request("gen dall-e-3 \"a blue boat\"").await.unwrap(),
        "legacy",
    );
    // Typed by hand, and the old `generate` verb.
    assert_picture(
        &atari.request("generate a green tree").await.unwrap(),
        "generate",
    );

    let requests = openai.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.json()["model"], "gpt-image-1-mini", "{request:?}");
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {OPENAI_KEY}").as_str())
        );
        // GPT image models refuse `response_format`.
        assert!(request.json().get("response_format").is_none());
        assert!(!request.target.contains(OPENAI_KEY));
    }
    assert_eq!(
        prompts(&openai),
        ["a red barn", "a blue boat", "a green tree"]
    );
    assert!(!logged().contains(OPENAI_KEY), "the key is in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_model_named_by_the_client_is_used() {
    let openai = fake_openai().await;
    let config = Config {
        allowed_models: vec![String::from("gpt-image-1.5")],
        ..config_for(&openai)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    assert_picture(
        &atari.request("gen gpt-image-1.5 \"a cat\"").await.unwrap(),
        "allowed",
    );
    assert_eq!(openai.requests()[0].json()["model"], "gpt-image-1.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_regenerates_each_sessions_own_prompt() {
    let openai = fake_openai().await;
    let server = TestServer::start(config_for(&openai)).await;
    let mut first = server.client().await;
    let mut second = server.client().await;
    assert_picture(
        &first.request("gen \"a lighthouse\"").await.unwrap(),
        "first",
    );
    assert_picture(
        &second.request("gen \"a windmill\"").await.unwrap(),
        "second",
    );
    assert_picture(&first.request("next").await.unwrap(), "first next");
    assert_picture(&second.request("next").await.unwrap(), "second next");
    assert_picture(&first.request("next").await.unwrap(), "first next again");
    assert_eq!(
        prompts(&openai),
        [
            "a lighthouse",
            "a windmill",
            "a lighthouse",
            "a windmill",
            "a lighthouse"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_answers_are_fetched_under_the_address_policy() {
    let host = Fake::start(|request: &Request| {
        if request.target == "/pictures/1.png" {
            Reply::bytes(200, "image/png", &picture())
        } else {
            Reply::bytes(404, "text/plain", b"gone")
        }
    })
    .await;
    let url = host.url("/pictures/1.png");
    let openai = Fake::start(move |_: &Request| {
        Reply::json(200, json!({"created": 1, "data": [{"url": url}]}))
    })
    .await;

    // By default a picture URL on a loopback host is refused like any
    // other download to a private address, before anything is sent.
    let server = TestServer::start(config_for(&openai)).await;
    let mut atari = server.client().await;
    let refused = atari.request("gen \"a kite\"").await.unwrap();
    assert!(refused.error_message().is_some(), "{refused:?}");
    assert!(host.requests().is_empty());
    server.shutdown().await;

    let server = TestServer::start(Config {
        allow_private_urls: true,
        ..config_for(&openai)
    })
    .await;
    let mut atari = server.client().await;
    assert_picture(
        &atari.request("gen \"a kite\"").await.unwrap(),
        "url answer",
    );
    assert_eq!(host.requests().len(), 1);
    // The key goes to the API only, never to the picture host.
    assert!(!host.requests()[0].as_text().contains(OPENAI_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_end_in_one_clear_error_packet() {
    let _ = logs();
    let key_refused = json!({"error": {"message": format!("Incorrect API key provided: {OPENAI_KEY}"),
                                       "type": "invalid_request_error", "code": "invalid_api_key"}});
    let rate_limited = json!({"error": {"message": "Rate limit reached", "type": "requests"}});
    // 429 and 5xx are retried (openai.rs, BoundedRetry) up to
    // three times with a short back-off, inside the generation timeout.
    let cases: [(u16, &'static str, Vec<u8>, &str, usize); 5] = [
        (
            401,
            "application/json",
            key_refused.to_string().into_bytes(),
            "key was not accepted",
            1,
        ),
        (
            429,
            "application/json",
            rate_limited.to_string().into_bytes(),
            "429",
            4,
        ),
        (
            500,
            "text/html",
            b"<h1>Internal Server Error</h1>".to_vec(),
            "500",
            4,
        ),
        (
            200,
            "application/json",
            b"{\"created\": 1, \"data\": [{".to_vec(),
            "unreadable",
            1,
        ),
        (
            200,
            "application/json",
            json!({"created": 1, "data": []}).to_string().into_bytes(),
            "no picture",
            1,
        ),
    ];
    for (status, content_type, body, expected, requests) in cases {
        let openai = Fake::start(move |_: &Request| Reply::Full {
            status,
            content_type,
            body: body.clone(),
        })
        .await;
        let server = TestServer::start(config_for(&openai)).await;
        let mut atari = server.client().await;
        let packet = atari.request("gen \"a storm\"").await.unwrap();
        let message = packet.error_message().unwrap_or_default().to_owned();
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(message.contains("OpenAI"), "{message}");
        assert!(!message.contains(OPENAI_KEY), "{message}");
        assert_eq!(
            openai.requests().len(),
            requests,
            "{expected}: bounded retries"
        );
        // Exactly one packet: the next thing read is the answer to `files`.
        assert_picture(&atari.request("files").await.unwrap(), "still serving");
    }
    assert!(!logged().contains(OPENAI_KEY), "the key is in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_that_hangs_times_out_with_an_error_packet() {
    let openai = Fake::start(|_: &Request| Reply::Hang).await;
    let config = Config {
        gen_timeout: Duration::from_millis(500),
        ..config_for(&openai)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    let packet = atari.request("gen \"a slow snail\"").await.unwrap();
    let message = packet.error_message().unwrap_or_default();
    assert!(message.contains("did not answer"), "{message}");
    assert_picture(&atari.request("files").await.unwrap(), "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_address_has_its_generation_quota() {
    let openai = fake_openai().await;
    let config = Config {
        gen_per_minute: 2,
        ..config_for(&openai)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    assert_picture(&atari.request("gen \"one\"").await.unwrap(), "first");
    assert_picture(&atari.request("next").await.unwrap(), "second");
    // A new connection from the same address shares the quota.
    let mut again = server.client().await;
    let packet = again.request("gen \"three\"").await.unwrap();
    let message = packet.error_message().unwrap_or_default();
    assert!(message.contains("limit reached (2 a minute)"), "{message}");
    assert_eq!(openai.requests().len(), 2, "the refused one cost nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_without_a_key_says_generation_is_not_configured() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    for command in ["gen \"x\"", "next", "gen-gemini a cat"] {
        let packet = atari.request(command).await.unwrap();
        let message = packet.error_message().unwrap_or_default();
        assert!(message.contains("not configured"), "{command}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_config_changes_only_this_sessions_settings() {
    let openai = fake_openai().await;
    let config = Config {
        allowed_models: vec![String::from("gpt-image-1.5")],
        // A client may choose up to this (the default, 1024x1024, is the ceiling otherwise).
        gen_max_size: Some(String::from("1536x1024")),
        ..config_for(&openai)
    };
    let server = TestServer::start(config).await;
    let mut mine = server.client().await;
    let mut theirs = server.client().await;
    let shown = mine.request("openai-config\n").await.unwrap();
    let text = shown.error_message().unwrap_or_default().to_owned();
    assert!(
        text.contains("model=gpt-image-1-mini size=1024x1024 quality=low"),
        "{text}"
    );
    assert!(!text.contains(OPENAI_KEY));
    for (command, expected) in [
        ("openai-config size 1536x1024\n", "size=1536x1024"),
        ("openai-config model gpt-image-1.5\n", "model=gpt-image-1.5"),
        ("openai-config quality 4k\n", "quality must be one of"),
        ("openai-config model dall-e-3\n", "not allowed"),
        (
            "openai-config api_key sk-mine\n",
            "keys cannot be read or changed",
        ),
        (
            "openai-config openai_api_key\n",
            "keys cannot be read or changed",
        ),
    ] {
        let packet = mine.request(command).await.unwrap();
        let text = packet.error_message().unwrap_or_default();
        assert!(text.contains(expected), "{command}: {text}");
        assert!(!text.contains(OPENAI_KEY), "{command}: {text}");
    }
    assert_picture(&mine.request("gen \"a fox\"").await.unwrap(), "mine");
    assert_picture(&theirs.request("gen \"a hen\"").await.unwrap(), "theirs");
    let requests = openai.requests();
    assert_eq!(requests[0].json()["size"], "1536x1024");
    assert_eq!(requests[0].json()["model"], "gpt-image-1.5");
    assert_eq!(
        requests[1].json()["size"],
        "1024x1024",
        "the other session is untouched"
    );
    assert_eq!(requests[1].json()["model"], "gpt-image-1-mini");
    // The server key is the one used, whatever the client sent.
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
}

/// A fake Gemini answering with `camera.png` inline.
async fn fake_gemini() -> Fake {
    let data = b64(&picture());
    Fake::start(move |request: &Request| {
        if !request.target.starts_with("/v1beta/models/") {
            return Reply::json(404, json!({"error": {"message": "no such path"}}));
        }
        Reply::json(
            200,
            json!({
                "candidates": [{
                    "content": {"role": "model", "parts": [
                        {"text": "A picture, as asked."},
                        {"inlineData": {"mimeType": "image/png", "data": data}}
                    ]},
                    "finishReason": "STOP"
                }],
                "usageMetadata": {"promptTokenCount": 4},
                "modelVersion": "whatever"
            }),
        )
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_models_go_to_gemini_with_the_key_in_a_header() {
    let _ = logs();
    let gemini = fake_gemini().await;
    let config = Config {
        gemini_api_key: Some(String::from(GEMINI_KEY)),
        gemini_base_url: gemini.url(""),
        gen_model: String::from("gemini-3-pro-image-preview"),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    assert_picture(
        &atari.request("gfx 4 gen \"a castle\"").await.unwrap(),
        "gen",
    );
    assert_picture(
        &atari.request("gen-gemini a moat").await.unwrap(),
        "gen-gemini",
    );
    assert_picture(&atari.request("next").await.unwrap(), "next");
    let requests = gemini.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.target,
            "/v1beta/models/gemini-3-pro-image-preview:generateContent"
        );
        assert_eq!(request.header("x-goog-api-key"), Some(GEMINI_KEY));
        assert!(
            !request.target.contains(GEMINI_KEY),
            "the key is in the URL"
        );
        assert_eq!(
            request.json()["generationConfig"]["responseModalities"],
            json!(["TEXT", "IMAGE"])
        );
    }
    assert_eq!(
        requests[2].json()["contents"][0]["parts"][0]["text"],
        "a moat"
    );
    assert!(!logged().contains(GEMINI_KEY), "the key is in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_errors_end_in_one_clear_error_packet() {
    for (status, body, expected) in [
        (
            403,
            json!({"error": {"code": 403, "message": format!("key {GEMINI_KEY} bad")}}),
            "key was not accepted",
        ),
        (
            429,
            json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}),
            "429",
        ),
        (
            200,
            json!({"candidates": [{"content": {"parts": [{"text": "I won't."}]}}]}),
            "I won't.",
        ),
        (
            200,
            json!({"promptFeedback": {"blockReason": "SAFETY"}}),
            "SAFETY",
        ),
    ] {
        let reply = Mutex::new(Some(Reply::json(status, body)));
        let gemini =
            Fake::start(move |_: &Request| reply.lock().unwrap().take().unwrap_or(Reply::Hang))
                .await;
        let config = Config {
            gemini_api_key: Some(String::from(GEMINI_KEY)),
            gemini_base_url: gemini.url(""),
            gen_model: String::from("gemini-3-pro-image-preview"),
            ..test_config()
        };
        let server = TestServer::start(config).await;
        let mut atari = server.client().await;
        let packet = atari.request("gen \"a dragon\"").await.unwrap();
        let message = packet.error_message().unwrap_or_default();
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(message.contains("Gemini"), "{message}");
        assert!(!message.contains(GEMINI_KEY), "{message}");
        assert_picture(&atari.request("files").await.unwrap(), "still serving");
    }
}
