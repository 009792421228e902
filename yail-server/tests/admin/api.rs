use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use yail_proto::Packet;
use yail_server::admin::{AdminError, check_bind};
use yail_server::{AdminOptions, Config, Services};
use yail_state::ServerState;

use crate::support::{Servers, http, http_from};

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_shows_connected_clients_their_pictures_and_counters() {
    let servers = Servers::start(None).await;
    let (_gr8, gr8_packet) = servers.client(2).await;
    let (_vbxe, vbxe_packet) = servers.client(17).await;
    assert!(gr8_packet.error_message().is_none() && vbxe_packet.error_message().is_none());

    let sessions = servers.get("/api/sessions").await.json();
    let sessions = sessions.as_array().expect("a list");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let legacy = sessions
        .iter()
        .find(|s| s["mode"] == 17)
        .expect("the VBXE session");
    assert_eq!(legacy["dialect"], "legacy (v1.5)");
    assert_eq!(legacy["source"], "files");
    assert_eq!(legacy["pictures_sent"], 1);
    assert_eq!(legacy["last_picture"]["mode"], 17);
    assert_eq!(
        legacy["last_picture"]["bytes"],
        vbxe_packet.to_bytes().len()
    );

    // The session's last picture, rendered as the Atari shows it.
    let image = legacy["last_picture"]["image"]
        .as_str()
        .expect("an image link");
    let png = servers.get(image).await;
    assert_eq!(
        (png.status, png.header("content-type")),
        (200, Some("image/png"))
    );
    assert!(png.body.starts_with(PNG_MAGIC));

    // Recent pictures, newest first, and their packets exactly as sent.
    let recent = servers.get("/api/recent").await.json();
    let recent = recent.as_array().expect("a list");
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0]["mode"], 17);
    let sent = servers
        .get(recent[1]["packet"].as_str().expect("link"))
        .await;
    assert_eq!(sent.body, gr8_packet.to_bytes());
    let thumb = servers
        .get(recent[1]["image"].as_str().expect("link"))
        .await;
    assert!(thumb.body.starts_with(PNG_MAGIC));
    assert_eq!(servers.get("/api/recent/99999.png").await.status, 404);

    let status = servers.get("/api/status").await.json();
    assert_eq!(status["connections_now"], 2);
    assert_eq!(status["pictures_total"], 2);
    assert_eq!(status["cache"]["misses"], 2);
    assert_eq!(status["conversion"]["count"], 2);
    let files = status["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["name"] == "files")
        .cloned();
    assert_eq!(files.map(|f| f["pictures"].clone()), Some(2.into()));

    let metrics = servers.get("/metrics").await.text();
    assert!(metrics.contains("yail_connections 2\n"), "{metrics}");
    assert!(
        metrics.contains("yail_pictures_total{source=\"files\"} 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("yail_conversion_seconds_count 2\n"),
        "{metrics}"
    );
    assert_eq!(servers.get("/healthz").await.text(), "ok\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_leave_the_list_when_clients_disconnect() {
    let servers = Servers::start(None).await;
    let (client, _) = servers.client(4).await;
    assert_eq!(
        servers
            .get("/api/sessions")
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    drop(client);
    let mut left = None;
    for _ in 0..100 {
        left = servers
            .get("/api/sessions")
            .await
            .json()
            .as_array()
            .map(Vec::len);
        if left == Some(0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(left, Some(0));
    // Its picture stays among the recent ones.
    assert_eq!(
        servers
            .get("/api/recent")
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn admin_refuses_a_public_bind_without_a_token() {
    // Bound on all interfaces but never connected to: nothing leaves the machine.
    let listener = TcpListener::bind("0.0.0.0:0").await.expect("bind");
    let services = Services::start(Config::default(), ServerState::new())
        .await
        .expect("services");
    let refused = yail_server::run_admin(
        listener,
        services,
        AdminOptions::default(),
        std::future::ready(()),
    )
    .await;
    let error = refused.expect_err("refused");
    assert!(
        matches!(error, AdminError::PublicWithoutToken(_)),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("--admin-token") && message.contains("--admin-bind 127.0.0.1"),
        "{message}"
    );

    let public: SocketAddr = "0.0.0.0:5557".parse().expect("address");
    assert!(
        check_bind(public, Some("")).is_err(),
        "an empty token is no token"
    );
    assert!(
        matches!(
            check_bind(public, Some("s3cret")),
            Err(AdminError::WeakToken { .. })
        ),
        "a short token on a public bind"
    );
    assert!(check_bind(public, Some("0123456789abcdef")).is_ok());
    assert!(check_bind("[::1]:5557".parse().expect("address"), None).is_ok());
    assert!(check_bind("[::]:5557".parse().expect("address"), None).is_err());
    assert!(check_bind("127.0.0.2:5557".parse().expect("address"), None).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_settings_without_the_token_is_refused() {
    let servers = Servers::start(Some("s3cret")).await;
    // Wrong tokens come from networks of their own: a wrong token makes
    // its network wait before the next one is checked.
    let guesser = Ipv4Addr::new(127, 0, 0, 2);
    let change = br#"{"gen_model": "model-x"}"#;
    let json = ("Content-Type", "application/json");

    let refused = http(servers.admin, "POST", "/api/config", &[json], change).await;
    assert_eq!(refused.status, 401);
    let wrong = http_from(
        guesser,
        servers.admin,
        "POST",
        "/api/config",
        &[json, ("Authorization", "Bearer s3creT")],
        change,
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(servers.state.runtime_settings().default_model, None);
    // Reading needs it too, and pages send a browser to the login form.
    assert_eq!(servers.get("/api/status").await.status, 401);
    assert_eq!(servers.get("/metrics").await.status, 401);
    let page = servers.get("/").await;
    assert_eq!(
        (page.status, page.header("location")),
        (303, Some("/login"))
    );
    assert_eq!(servers.get("/healthz").await.status, 200);

    let bearer = ("Authorization", "Bearer s3cret");
    let accepted = http(
        servers.admin,
        "POST",
        "/api/config",
        &[json, bearer],
        change,
    )
    .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_eq!(accepted.json()["settings"]["gen_model"], "model-x");
    assert_eq!(
        servers.state.runtime_settings().default_model.as_deref(),
        Some("model-x")
    );

    // The login form sets a cookie that opens the same doors.
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let bad_login = http_from(
        Ipv4Addr::new(127, 0, 0, 3),
        servers.admin,
        "POST",
        "/login",
        &[form],
        b"token=nope",
    )
    .await;
    assert_eq!(bad_login.status, 401);
    let login = http(servers.admin, "POST", "/login", &[form], b"token=s3cret").await;
    let cookie = login.header("set-cookie").expect("a cookie").to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("name=value");
    let with_cookie = http(
        servers.admin,
        "GET",
        "/api/config",
        &[("Cookie", pair)],
        b"",
    )
    .await;
    assert_eq!(with_cookie.status, 200);
    let shown = with_cookie.text();
    assert!(
        !shown.contains("s3cret"),
        "the token is never shown: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_change_at_runtime_and_a_rescan_serves_the_new_folder() {
    let servers = Servers::start(None).await;
    let folder = std::env::temp_dir().join(format!("yail-admin-rescan-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("temp folder");
    let photo = yail_server::gallery::find("horse.png").expect("gallery photo");
    std::fs::write(folder.join("only.png"), photo.bytes).expect("write photo");

    let body = serde_json::json!({
        "paths": [folder],
        "allowed_models": ["a", "b"],
        "search_engine": "duckduckgo",
    })
    .to_string();
    let json = ("Content-Type", "application/json");
    let changed = http(
        servers.admin,
        "POST",
        "/api/config",
        &[json],
        body.as_bytes(),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_eq!(servers.state.file_count(), 1);
    let settings = servers.state.runtime_settings();
    assert_eq!(
        settings.allowed_models.as_deref(),
        Some(&["a".into(), "b".into()][..])
    );
    // DuckDuckGo is already the engine in force: nothing to change.
    assert_eq!(settings.search_engine, None);
    let answer = changed.json();
    assert_eq!(answer["settings"]["search_engine"], "duckduckgo");
    assert_eq!(
        answer["changed"],
        serde_json::json!(["allowed_models", "paths"])
    );

    let secret = br#"{"openai_api_key": "sk-x"}"#;
    assert_eq!(
        http(servers.admin, "POST", "/api/config", &[json], secret)
            .await
            .status,
        422
    );
    let hostile = br#"{"gen_model": "<img src=x>"}"#;
    assert_eq!(
        http(servers.admin, "POST", "/api/config", &[json], hostile)
            .await
            .status,
        400
    );
    // A cross-site form post cannot send JSON.
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    assert_eq!(
        http(
            servers.admin,
            "POST",
            "/api/config",
            &[form],
            b"gen_model=x"
        )
        .await
        .status,
        415
    );
    let _ = std::fs::remove_dir_all(&folder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_it_converts_an_upload_to_every_mode() {
    let servers = Servers::start(None).await;
    let photo = yail_server::gallery::find("chelsea.png").expect("gallery photo");
    let png = [("Content-Type", "image/png")];
    let tried = http(servers.admin, "POST", "/api/try", &png, photo.bytes).await;
    assert_eq!(tried.status, 200, "{}", tried.text());
    let tried = tried.json();
    let modes = tried["modes"].as_array().expect("modes");
    assert_eq!(modes.len(), 8);
    for mode in modes {
        let packet = servers
            .get(mode["packet"].as_str().expect("a packet link"))
            .await;
        let decoded = Packet::decode(&packet.body).expect("a packet");
        assert_eq!(serde_json::Value::from(decoded.mode().wire()), mode["mode"]);
        let png = servers
            .get(mode["image"].as_str().expect("an image link"))
            .await;
        assert!(png.body.starts_with(PNG_MAGIC), "{}", mode["name"]);
    }
    let garbage = http(servers.admin, "POST", "/api/try", &png, b"not a picture").await;
    assert_eq!(garbage.status, 400);
    assert!(
        garbage.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("not a picture"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_are_listed_and_streamed() {
    let servers = Servers::start(None).await;
    servers.state.logs().push("INFO", "test", "first line");
    let lines = servers.get("/api/logs").await.json();
    let first = lines
        .as_array()
        .and_then(|l| l.last())
        .cloned()
        .expect("a line");
    assert_eq!(first["message"], "first line");
    let since = first["seq"].as_u64().expect("seq");
    let after = servers
        .get(&format!("/api/logs?since={since}"))
        .await
        .json();
    assert_eq!(after.as_array().map(Vec::len), Some(0));

    // The stream sends what is held, then what comes later.
    let mut stream = TcpStream::connect(servers.admin).await.expect("connect");
    let request = format!(
        "GET /api/logs/stream?since={since} HTTP/1.1\r\nHost: {}\r\n\r\n",
        servers.admin
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    servers.state.logs().push("WARN", "test", "second line");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            line.clear();
            if reader.read_line(&mut line).await.expect("read") == 0 {
                return None;
            }
            if line.starts_with("data:") {
                return Some(line.clone());
            }
        }
    })
    .await
    .expect("an event in time")
    .expect("an event");
    assert!(
        found.contains("second line") && found.contains("WARN"),
        "{found}"
    );
    assert!(!found.contains("first line"));
}

/// axum's own refusals (a body over its limit, JSON that does not parse or
/// does not fit) answer in JSON with an `error`, as every other error does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_a_body_answer_in_json() {
    let servers = Servers::start_with(AdminOptions {
        max_try_bytes: Some(1000),
        ..AdminOptions::default()
    })
    .await;
    let octets = [("Content-Type", "application/octet-stream")];
    let too_large = http(servers.admin, "POST", "/api/try", &octets, &[0u8; 2000]).await;
    assert_eq!(too_large.status, 413, "{}", too_large.text());
    assert_eq!(too_large.header("content-type"), Some("application/json"));
    let error = too_large.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("too large") && error.contains("1000 bytes"),
        "{error}"
    );

    let json = [("Content-Type", "application/json")];
    for (body, status) in [(&b"{\"rescan\": \"yes\"}"[..], 422), (b"{not json", 400)] {
        let refused = http(servers.admin, "POST", "/api/config", &json, body).await;
        assert_eq!(refused.status, status, "{}", refused.text());
        assert_eq!(refused.header("content-type"), Some("application/json"));
        let error = refused.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!error.is_empty(), "{}", refused.text());
    }
}
