//! `gen`, `gen-gemini` and `openai-config` against the fake OpenAI and
//! Gemini of `fake_api.rs`, which refuse what the real services refuse
//! (shut-down models, wrong keys, DALL·E parameters...), with the server's
//! defaults wherever a test does not say otherwise.
//!
//! (Over 500 lines: one file keeps every generation rule a client can
//! reach, each with the fake answer it needs.)

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yail_core::{Converter, Settings};
use yail_proto::{GfxMode, Packet};
use yail_server::{Config, Services};
use yail_state::ServerState;
use yail_tests::{TestServer, photos_dir, test_config};

use crate::fake_api::{
    Fake, FakeGemini, FakeOpenAi, GeminiFault, OpenAiFault, Reply, Request, openai_models,
};

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

/// The log lines of this test alone: a subscriber for the current thread,
/// on which a `current_thread` test runs the whole server.
fn own_logs() -> (tracing::subscriber::DefaultGuard, Arc<Mutex<Vec<u8>>>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = Arc::clone(&buffer);
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_ansi(false)
        .with_writer(move || LogWriter(Arc::clone(&writer)))
        .finish();
    (tracing::subscriber::set_default(subscriber), buffer)
}

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(photos_dir().join(name)).unwrap()
}

/// The picture the fakes answer with.
fn picture() -> Vec<u8> {
    photo("camera.png")
}

fn openai_config(openai: &FakeOpenAi) -> Config {
    Config {
        openai_api_key: Some(String::from(OPENAI_KEY)),
        openai_base_url: openai.base_url(),
        ..test_config()
    }
}

fn gemini_config(gemini: &FakeGemini) -> Config {
    Config {
        gemini_api_key: Some(String::from(GEMINI_KEY)),
        gemini_base_url: gemini.base_url(),
        ..test_config()
    }
}

fn assert_picture(packet: &Packet, what: &str) {
    assert!(packet.error_message().is_none(), "{what}: {packet:?}");
    assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800), "{what}");
}

fn error_text(packet: &Packet) -> String {
    packet.error_message().unwrap_or_default().to_owned()
}

fn openai_prompts(fake: &FakeOpenAi) -> Vec<String> {
    fake.generations()
        .iter()
        .map(|r| r.json()["prompt"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn gemini_prompts(fake: &FakeGemini) -> Vec<String> {
    fake.generations()
        .iter()
        .map(|r| {
            r.json()["contents"][0]["parts"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// A server with its admin page, both on loopback ports.
struct WithAdmin {
    server: SocketAddr,
    admin: SocketAddr,
}

async fn start_with_admin(config: Config) -> WithAdmin {
    let services = Services::start(config, ServerState::new()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addrs = WithAdmin {
        server: listener.local_addr().unwrap(),
        admin: admin_listener.local_addr().unwrap(),
    };
    let options = yail_server::AdminOptions::default();
    let admin = yail_server::run_admin(
        admin_listener,
        services.clone(),
        options,
        std::future::pending(),
    );
    tokio::spawn(async move { admin.await.unwrap() });
    tokio::spawn(yail_server::run(
        listener,
        services,
        std::future::pending::<()>(),
    ));
    addrs
}

/// One HTTP request to the admin page; the body of its answer.
async fn admin_json(admin: SocketAddr, method: &str, path: &str) -> Value {
    let mut stream = tokio::net::TcpStream::connect(admin).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {admin}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_default();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_defaults_both_clients_gen_forms_give_pictures_from_the_current_model() {
    let _ = logs();
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    let server = TestServer::start(openai_config(&openai)).await;
    let mut atari = server.client().await;
    // The current client: the server chooses the model.
    assert_picture(
        &atari.request("gfx 2 gen \"a red barn\"").await.unwrap(),
        "current",
    );
    // The legacy client names its saved model, dall-e-3, shut down.
    assert_picture(
        &atari.request("gen dall-e-3 \"a blue boat\"").await.unwrap(),
        "legacy",
    );
    // Typed by hand, and the old `generate` verb.
    assert_picture(
        &atari.request("generate a green tree").await.unwrap(),
        "generate",
    );

    let lists = openai.model_lists();
    assert_eq!(lists.len(), 1, "the model list is read once at start");
    let generations = openai.generations();
    assert_eq!(generations.len(), 3);
    for request in lists.iter().chain(&generations) {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {OPENAI_KEY}").as_str())
        );
        assert!(!request.target.contains(OPENAI_KEY));
    }
    for request in &generations {
        assert_eq!(request.json()["model"], "gpt-image-2", "{request:?}");
    }
    assert_eq!(
        openai_prompts(&openai),
        ["a red barn", "a blue boat", "a green tree"]
    );
    assert!(!logged().contains(OPENAI_KEY), "the key is in the logs");
}

/// A shut-down model in the configuration (an old env file) is replaced
/// by the newest current image model, with one WARN line naming both,
/// however often it is used; the admin page says which model is in use
/// and why.
#[tokio::test]
async fn a_configured_shut_down_model_is_replaced_with_one_warning() {
    let (_guard, lines) = own_logs();
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    let config = Config {
        gen_model: String::from("gpt-image-1.5"),
        allowed_models: vec![String::from("chatgpt-image-latest")],
        ..openai_config(&openai)
    };
    let started = start_with_admin(config).await;
    let mut atari = yail_proto::client::Client::connect(started.server)
        .await
        .unwrap();
    atari.set_timeout(Duration::from_secs(30));
    for command in [
        "gen \"a robot\"",
        "next",
        "gen chatgpt-image-latest \"a dog\"",
    ] {
        assert_picture(&atari.request(command).await.unwrap(), command);
    }
    // gpt-image-2.6-flare and -sunburst are the newest (same date); the
    // name without a date suffix, then the alphabetically first, wins.
    for request in openai.generations() {
        assert_eq!(request.json()["model"], "gpt-image-2.6-flare");
    }
    let logged = String::from_utf8_lossy(&lines.lock().unwrap()).into_owned();
    let warnings: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("gpt-image-1.5"))
        .collect();
    assert_eq!(warnings.len(), 1, "{logged}");
    assert!(
        warnings[0].contains("was shut down on 2026-12-01")
            && warnings[0].contains("using gpt-image-2.6-flare"),
        "{}",
        warnings[0]
    );
    let models = admin_json(started.admin, "GET", "/api/models").await;
    let openai_row = &models["providers"][0];
    assert_eq!(openai_row["provider"], "OpenAI");
    assert_eq!(openai_row["configured"], "gpt-image-1.5");
    assert_eq!(openai_row["in_use"], "gpt-image-2.6-flare");
    assert_eq!(
        openai_row["why"],
        "replaced gpt-image-1.5: shut down on 2026-12-01"
    );
    assert_eq!(openai_row["models_listed"], openai_models().len());
    let gemini_row = &models["providers"][1];
    assert_eq!(gemini_row["key"], false);
    assert_eq!(gemini_row["why"], "no key");
    // The session's own settings say it too.
    atari.ask_for_error_packets().await.unwrap();
    let shown = atari.request("openai-config\n").await.unwrap();
    let text = error_text(&shown);
    assert!(
        text.contains(
            "model=gpt-image-1.5 size=1024x1024 quality=low system_prompt=none; models: gpt-image-1.5, chatgpt-image-latest (gen uses gpt-image-2.6-flare: replaced gpt-image-1.5: shut down on 2026-12-01)"
        ),
        "{text}"
    );

    // The admin page's check says the same, and what else is wrong (the
    // test configuration's search service is a closed port).
    let check = admin_json(started.admin, "POST", "/api/check").await;
    let verdict = |source: &str| {
        check["lines"]
            .as_array()
            .and_then(|lines| lines.iter().find(|l| l["source"] == source))
            .map(|l| (l["verdict"].clone(), l["detail"].clone()))
            .unwrap_or_else(|| panic!("no {source} in {check}"))
    };
    let (openai_verdict, detail) = verdict("openai");
    assert_eq!(openai_verdict, "warning", "{detail}");
    assert!(
        detail
            .as_str()
            .is_some_and(|d| d.ends_with("set --gen-model gpt-image-2.6-flare")),
        "{detail}"
    );
    assert_eq!(verdict("gemini").0, "not_configured");
    assert_eq!(verdict("search").0, "broken");
    assert_eq!(check["broken"], true);
}

/// The final picture of a Gemini answer, not one of its drafts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_defaults_gen_gemini_shows_the_final_picture_not_a_draft() {
    let _ = logs();
    let (draft_one, draft_two) = (photo("horse.png"), photo("text.png"));
    let gemini = FakeGemini::start(GEMINI_KEY, &picture(), &[&draft_one, &draft_two]).await;
    let server = TestServer::start(gemini_config(&gemini)).await;
    let mut atari = server.client().await;
    let shown = atari
        .request("gfx 4 gen-gemini \"a castle\"")
        .await
        .unwrap();
    assert_picture(&shown, "gen-gemini");
    let convert = |bytes: &[u8]| {
        Converter::new()
            .convert(bytes, &Settings::new(GfxMode::Gr9))
            .unwrap()
            .image_data()
            .map(<[u8]>::to_vec)
    };
    let shown = shown.image_data().map(<[u8]>::to_vec);
    assert_eq!(shown, convert(&picture()), "the final picture");
    assert_ne!(shown, convert(&draft_one));
    assert_ne!(shown, convert(&draft_two));

    // A server with only a Gemini key generates `gen` with Gemini too.
    assert_picture(&atari.request("gen \"a moat\"").await.unwrap(), "gen");
    let requests = gemini.generations();
    assert_eq!(requests.len(), 2);
    for request in gemini.requests() {
        assert_eq!(request.header("x-goog-api-key"), Some(GEMINI_KEY));
        assert!(
            !request.target.contains(GEMINI_KEY),
            "the key is in the URL"
        );
    }
    for request in &requests {
        assert_eq!(
            request.path(),
            "/v1beta/models/gemini-3.1-flash-image:generateContent"
        );
        assert_eq!(
            request.json()["generationConfig"]["responseModalities"],
            json!(["TEXT", "IMAGE"])
        );
    }
    assert_eq!(gemini_prompts(&gemini), ["a castle", "a moat"]);
    assert!(!logged().contains(GEMINI_KEY), "the key is in the logs");
}

/// The legacy client (v1.5.1) sends `gen-gemini <its saved model>
/// "<prompt>"`: Gemini gets the prompt alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_gen_gemini_with_a_model_word_sends_only_the_prompt() {
    let gemini = FakeGemini::start(GEMINI_KEY, &picture(), &[]).await;
    let server = TestServer::start(gemini_config(&gemini)).await;
    let mut atari = server.client().await;
    assert_picture(
        &atari
            .request("gfx 4 gen-gemini dall-e-3 \"a castle\"")
            .await
            .unwrap(),
        "legacy gen-gemini",
    );
    assert_eq!(gemini_prompts(&gemini), ["a castle"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_gemini_without_a_gemini_key_says_gemini_is_not_configured() {
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    let server = TestServer::start(openai_config(&openai)).await;
    let mut atari = server.client().await;
    for command in ["gen-gemini \"a castle\"", "next"] {
        let packet = atari.request(command).await.unwrap();
        assert_eq!(
            error_text(&packet),
            "Gemini is not configured on this server",
            "{command}"
        );
    }
    assert!(openai.generations().is_empty(), "no fall back to OpenAI");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_without_a_key_says_generation_is_not_configured() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    for command in ["gen \"x\"", "next", "gen-gemini a cat"] {
        let packet = atari.request(command).await.unwrap();
        assert_eq!(
            error_text(&packet),
            "image generation is not configured on this server",
            "{command}"
        );
    }
}

/// Gemini's list comes in pages: the server asks for the largest page and
/// follows `nextPageToken`, so image models on a later page are found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_geminis_model_list_is_read() {
    let gemini = FakeGemini::start(GEMINI_KEY, &picture(), &[]).await;
    gemini.pad_models(1500);
    let started = start_with_admin(gemini_config(&gemini)).await;
    let lists = gemini.model_lists();
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert_eq!(lists[0].query("pageSize"), Some("1000"));
    assert_eq!(lists[0].query("pageToken"), None);
    assert_eq!(lists[1].query("pageToken"), Some("page-1000"));
    let models = admin_json(started.admin, "GET", "/api/models").await;
    let row = &models["providers"][1];
    assert_eq!(row["in_use"], "gemini-3.1-flash-image");
    assert_eq!(row["why"], "configured; offered by the API");
    assert_eq!(row["models_listed"], 1504, "generateContent models only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_model_named_by_the_client_is_used() {
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    let config = Config {
        allowed_models: vec![String::from("gpt-image-2.5-flare")],
        ..openai_config(&openai)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    assert_picture(
        &atari
            .request("gen gpt-image-2.5-flare \"a cat\"")
            .await
            .unwrap(),
        "allowed",
    );
    assert_eq!(
        openai.generations()[0].json()["model"],
        "gpt-image-2.5-flare"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_regenerates_each_sessions_own_prompt() {
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    let server = TestServer::start(openai_config(&openai)).await;
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
        openai_prompts(&openai),
        [
            "a lighthouse",
            "a windmill",
            "a lighthouse",
            "a windmill",
            "a lighthouse"
        ]
    );
}

/// An OpenAI-compatible server may answer with a picture URL (and have
/// no model list): the picture is fetched like any other download.
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
    let compatible = Fake::start(move |request: &Request| {
        if request.target == "/v1/images/generations" {
            Reply::json(200, json!({"created": 1, "data": [{"url": url}]}))
        } else {
            Reply::json(404, json!({"error": {"message": "no such path"}}))
        }
    })
    .await;
    let config = || Config {
        openai_api_key: Some(String::from(OPENAI_KEY)),
        openai_base_url: compatible.url("/v1"),
        ..test_config()
    };

    // By default a picture URL on a loopback host is refused like any
    // other download to a private address, before anything is sent.
    let server = TestServer::start(config()).await;
    let mut atari = server.client().await;
    let refused = atari.request("gen \"a kite\"").await.unwrap();
    assert!(refused.error_message().is_some(), "{refused:?}");
    assert!(host.requests().is_empty());
    server.shutdown().await;

    let server = TestServer::start(Config {
        allow_private_urls: true,
        ..config()
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
async fn openai_errors_end_in_one_clear_error_packet() {
    let _ = logs();
    let cases: Vec<(OpenAiFault, &str, usize)> = vec![
        // 429 and 5xx are retried up to three times with a short pause,
        // inside the generation timeout; an account without credit is not.
        (
            OpenAiFault::RateLimited {
                retry_after: Some(1),
            },
            "busy (too many requests)",
            4,
        ),
        (OpenAiFault::NoCredit, "no credit left", 1),
        (OpenAiFault::ServerError, "the service failed", 4),
        (
            OpenAiFault::Moderation,
            "safety system refused the prompt",
            1,
        ),
        (
            OpenAiFault::Body {
                status: 200,
                content_type: "application/json",
                body: b"{\"created\": 1, \"data\": [{".to_vec(),
            },
            "unreadable",
            1,
        ),
        (
            OpenAiFault::Body {
                status: 200,
                content_type: "application/json",
                body: json!({"created": 1, "data": []}).to_string().into_bytes(),
            },
            "no picture",
            1,
        ),
    ];
    for (fault, expected, attempts) in cases {
        let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
        for _ in 0..attempts {
            openai.fail_next(fault.clone());
        }
        let server = TestServer::start(openai_config(&openai)).await;
        let mut atari = server.client().await;
        let message = error_text(&atari.request("gen \"a storm\"").await.unwrap());
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(message.starts_with("OpenAI"), "{message}");
        assert_eq!(
            openai.generations().len(),
            attempts,
            "{expected}: bounded retries"
        );
        // Exactly one packet: the next thing read is the answer to `files`.
        assert_picture(&atari.request("files").await.unwrap(), "still serving");
    }
    assert!(!logged().contains(OPENAI_KEY), "the key is in the logs");
}

/// What the real API refuses, the server never sends: a wrong key and a
/// model that is gone are refused with the real bodies, and the Atari is
/// told plainly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_keys_and_models_say_so() {
    let _ = logs();
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    let server = TestServer::start(Config {
        openai_api_key: Some(String::from("sk-test-wrong-key-9876")),
        ..openai_config(&openai)
    })
    .await;
    let mut atari = server.client().await;
    let message = error_text(&atari.request("gen \"a storm\"").await.unwrap());
    assert_eq!(
        message,
        "OpenAI refused the request (401): the server's API key was not accepted"
    );

    // A model list that does not read (here: a compatible server without
    // one) leaves the configured name; the API refuses it when it is gone.
    let gone = Fake::start(|request: &Request| {
        if request.target == "/v1/images/generations" {
            Reply::json(404, json!({"error": {"message": "The model `gpt-image-2` does not exist or you do not have access to it.",
                "type": "invalid_request_error", "param": null, "code": "model_not_found"}}))
        } else {
            Reply::json(404, json!({"error": {"message": "Invalid URL", "type": "invalid_request_error", "param": null, "code": null}}))
        }
    })
    .await;
    let server = TestServer::start(Config {
        openai_api_key: Some(String::from(OPENAI_KEY)),
        openai_base_url: gone.url("/v1"),
        ..test_config()
    })
    .await;
    let mut atari = server.client().await;
    let message = error_text(&atari.request("gen \"a storm\"").await.unwrap());
    assert_eq!(
        message,
        "OpenAI refused the request (404): the model is not available (shut down, or unknown)"
    );

    let gemini = FakeGemini::start(GEMINI_KEY, &picture(), &[]).await;
    let server = TestServer::start(Config {
        gemini_api_key: Some(String::from("AIza-wrong")),
        ..gemini_config(&gemini)
    })
    .await;
    let mut atari = server.client().await;
    let message = error_text(&atari.request("gen-gemini \"a storm\"").await.unwrap());
    assert_eq!(
        message,
        "Gemini refused the request (400): the server's API key was not accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_refusals_and_pictureless_answers_say_why() {
    let not_found = json!({"error": {"code": 404, "message": "models/gemini-3.1-flash-image is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.", "status": "NOT_FOUND"}});
    let cases = [
        (GeminiFault::Quota, "Gemini refused the request (429): busy"),
        (
            GeminiFault::Overloaded,
            "Gemini refused the request (503): the service failed",
        ),
        (
            GeminiFault::Body {
                status: 404,
                body: not_found.to_string().into_bytes(),
            },
            "Gemini refused the request (404): the model is not available",
        ),
        (
            GeminiFault::Blocked("PROHIBITED_CONTENT"),
            "Gemini made no picture: the prompt asks for prohibited content",
        ),
        (
            GeminiFault::Withheld {
                finish: "IMAGE_SAFETY",
                text: "I can't create that image.",
            },
            "Gemini made no picture: Gemini's safety filters withheld the picture (IMAGE_SAFETY)",
        ),
        (
            GeminiFault::Withheld {
                finish: "NO_IMAGE",
                text: "",
            },
            "Gemini made no picture: Gemini answered without a picture",
        ),
        (
            GeminiFault::Withheld {
                finish: "STOP",
                text: "Here is a poem instead.",
            },
            "Gemini made no picture: the model said: Here is a poem instead.",
        ),
    ];
    for (fault, expected) in cases {
        let gemini = FakeGemini::start(GEMINI_KEY, &picture(), &[]).await;
        gemini.fail_next(fault);
        let server = TestServer::start(gemini_config(&gemini)).await;
        let mut atari = server.client().await;
        let message = error_text(&atari.request("gen-gemini \"a dragon\"").await.unwrap());
        assert!(message.starts_with(expected), "{expected}: {message}");
        assert!(!message.contains(GEMINI_KEY), "{message}");
        assert_picture(&atari.request("files").await.unwrap(), "still serving");
    }
}

/// A redirect from an API would take the key to whatever host it names:
/// the API clients follow none, neither for generations nor for the
/// model lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_from_the_apis_are_not_followed_and_the_key_stays() {
    let elsewhere = Fake::start(|_: &Request| Reply::json(200, json!({}))).await;
    let target = elsewhere.url("/stolen");
    let redirecting = Fake::start(move |_: &Request| Reply::redirect(&target)).await;
    let server = TestServer::start(Config {
        openai_api_key: Some(String::from(OPENAI_KEY)),
        openai_base_url: redirecting.url("/v1"),
        gemini_api_key: Some(String::from(GEMINI_KEY)),
        gemini_base_url: redirecting.url(""),
        ..test_config()
    })
    .await;
    let mut atari = server.client().await;
    for (command, service) in [("gen \"x\"", "OpenAI"), ("gen-gemini \"x\"", "Gemini")] {
        let message = error_text(&atari.request(command).await.unwrap());
        assert_eq!(
            message,
            format!(
                "{service} refused the request (307): answered with a redirect (307), which is not followed"
            )
        );
    }
    // Two model lists and two generations were redirected; none followed.
    assert_eq!(redirecting.requests().len(), 4);
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );

    // The same when only the generation is redirected.
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    openai.fail_next(OpenAiFault::Redirect(elsewhere.url("/stolen")));
    let gemini = FakeGemini::start(GEMINI_KEY, &picture(), &[]).await;
    gemini.fail_next(GeminiFault::Redirect(elsewhere.url("/stolen")));
    let server = TestServer::start(Config {
        gemini_api_key: Some(String::from(GEMINI_KEY)),
        gemini_base_url: gemini.base_url(),
        ..openai_config(&openai)
    })
    .await;
    let mut atari = server.client().await;
    for command in ["gen \"x\"", "gen-gemini \"x\""] {
        let message = error_text(&atari.request(command).await.unwrap());
        assert!(message.contains("redirect (307)"), "{message}");
    }
    assert!(
        elsewhere.requests().is_empty(),
        "{:?}",
        elsewhere.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_that_hangs_times_out_with_an_error_packet() {
    let list = json!({"object": "list", "data": [{"id": "gpt-image-2", "object": "model", "created": 1, "owned_by": "system", "shutdown_date": null}]});
    let openai = Fake::start(move |request: &Request| {
        if request.target == "/v1/models" {
            Reply::json(200, list.clone())
        } else {
            Reply::Hang
        }
    })
    .await;
    let config = Config {
        openai_api_key: Some(String::from(OPENAI_KEY)),
        openai_base_url: openai.url("/v1"),
        gen_timeout: Duration::from_millis(500),
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    let packet = atari.request("gen \"a slow snail\"").await.unwrap();
    let message = error_text(&packet);
    assert!(message.contains("did not answer"), "{message}");
    assert_picture(&atari.request("files").await.unwrap(), "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_address_has_its_generation_quota() {
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    let config = Config {
        gen_per_minute: 2,
        ..openai_config(&openai)
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    assert_picture(&atari.request("gen \"one\"").await.unwrap(), "first");
    assert_picture(&atari.request("next").await.unwrap(), "second");
    // A new connection from the same address shares the quota.
    let mut again = server.client().await;
    let packet = again.request("gen \"three\"").await.unwrap();
    let message = error_text(&packet);
    assert!(message.contains("limit reached (2 a minute)"), "{message}");
    assert_eq!(
        openai.generations().len(),
        2,
        "the refused one cost nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_config_changes_only_this_sessions_settings() {
    let openai = FakeOpenAi::start(OPENAI_KEY, &picture()).await;
    let config = Config {
        allowed_models: vec![String::from("gpt-image-2.5-flare")],
        // A client may choose up to this (the default, 1024x1024, is the ceiling otherwise).
        gen_max_size: Some(String::from("1536x1024")),
        ..openai_config(&openai)
    };
    let server = TestServer::start(config).await;
    let mut mine = server.client().await;
    let mut theirs = server.client().await;
    let shown = mine.request("openai-config\n").await.unwrap();
    let text = error_text(&shown);
    assert!(
        text.contains("model=gpt-image-2 size=1024x1024 quality=low"),
        "{text}"
    );
    assert!(!text.contains(OPENAI_KEY));
    for (command, expected) in [
        ("openai-config size 1536x1024\n", "size=1536x1024"),
        (
            "openai-config model gpt-image-2.5-flare\n",
            "model=gpt-image-2.5-flare",
        ),
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
        let text = error_text(&packet);
        assert!(text.contains(expected), "{command}: {text}");
        assert!(!text.contains(OPENAI_KEY), "{command}: {text}");
    }
    assert_picture(&mine.request("gen \"a fox\"").await.unwrap(), "mine");
    assert_picture(&theirs.request("gen \"a hen\"").await.unwrap(), "theirs");
    let requests = openai.generations();
    assert_eq!(requests[0].json()["size"], "1536x1024");
    assert_eq!(requests[0].json()["model"], "gpt-image-2.5-flare");
    assert_eq!(
        requests[1].json()["size"],
        "1024x1024",
        "the other session is untouched"
    );
    assert_eq!(requests[1].json()["model"], "gpt-image-2");
    // The server key is the one used, whatever the client sent.
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
}
