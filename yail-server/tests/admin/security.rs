//! What a web page in the operator's browser, or a guesser on the
//! network, can do to the admin server: rebinding its name, posting from
//! another site, guessing the token.

use std::net::{Ipv4Addr, SocketAddr};

use yail_server::AdminOptions;
use yail_server::admin::{AdminError, check_bind};

use crate::support::{Servers, captured_logs, http, http_from};

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A folder of the operator's that no Atari should list.
struct PrivateFolder(std::path::PathBuf);

impl PrivateFolder {
    fn new(test: &str) -> PrivateFolder {
        let path =
            std::env::temp_dir().join(format!("yail-admin-private-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp folder");
        PrivateFolder(path)
    }

    /// The settings change that would serve it to every Atari.
    fn change(&self) -> Vec<u8> {
        serde_json::json!({ "paths": [self.0] })
            .to_string()
            .into_bytes()
    }
}

impl Drop for PrivateFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_rebinding_host_cannot_change_picture_paths() {
    // A rebinding page reaches 127.0.0.1 under the attacker's name: its
    // requests carry that name in `Host`.
    let servers = Servers::start(None).await;
    let private = PrivateFolder::new("rebinding");
    let before = servers.state.runtime_settings().picture_paths.clone();
    let rebound = http(
        servers.admin,
        "POST",
        "/api/config",
        &[JSON, ("Host", "rebind.attacker.example")],
        &private.change(),
    )
    .await;
    assert_eq!(rebound.status, 421, "{}", rebound.text());
    assert!(
        rebound.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("--admin-host")),
        "{}",
        rebound.text()
    );
    assert_eq!(servers.state.runtime_settings().picture_paths, before);
    // Reading is refused the same way: a rebound page learns nothing.
    let read = http(
        servers.admin,
        "GET",
        "/api/sessions",
        &[("Host", "rebind.attacker.example:5557")],
        b"",
    )
    .await;
    assert_eq!(read.status, 421);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sites_page_cannot_post_changes() {
    let servers = Servers::start(None).await;
    let private = PrivateFolder::new("cross-site");
    let before = servers.state.runtime_settings().picture_paths.clone();
    let own_origin = format!("http://{}", servers.admin);
    for (name, value) in [
        ("Origin", "http://evil.example"),
        ("Origin", "null"),
        // Another service on the same machine is another origin.
        ("Origin", "http://127.0.0.1:8080"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
    ] {
        let posted = http(
            servers.admin,
            "POST",
            "/api/config",
            &[JSON, (name, value)],
            &private.change(),
        )
        .await;
        assert_eq!(posted.status, 403, "{name}: {value}: {}", posted.text());
        assert_eq!(servers.state.runtime_settings().picture_paths, before);
    }
    // Try-it and the login form are refused the same way.
    let photo = yail_server::gallery::find("horse.png").expect("gallery photo");
    let evil = ("Origin", "http://evil.example");
    let tried = http(servers.admin, "POST", "/api/try", &[evil], photo.bytes).await;
    assert_eq!(tried.status, 403);
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let login = http(servers.admin, "POST", "/login", &[form, evil], b"token=x").await;
    assert_eq!(login.status, 403);

    // The page itself, and scripts (no Origin), may.
    let own = http(
        servers.admin,
        "POST",
        "/api/config",
        &[
            JSON,
            ("Origin", &own_origin),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        &private.change(),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.text());
    assert_eq!(
        servers.state.runtime_settings().picture_paths,
        Some(vec![private.0.clone()])
    );
    let script = http(
        servers.admin,
        "POST",
        "/api/config",
        &[JSON],
        br#"{"paths": []}"#,
    )
    .await;
    assert_eq!(script.status, 200, "{}", script.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_host_names_are_served_and_others_are_not() {
    let servers = Servers::start_with(AdminOptions {
        hosts: vec!["yail.example.org".parse().expect("a host name")],
        ..AdminOptions::default()
    })
    .await;
    let port = servers.admin.port();
    for served in [
        format!("yail.example.org:{port}"),
        String::from("YAIL.example.org"),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        // An SSH tunnel or a proxy may use another port.
        String::from("localhost:8080"),
    ] {
        let answer = http(
            servers.admin,
            "GET",
            "/api/status",
            &[("Host", &served)],
            b"",
        )
        .await;
        assert_eq!(answer.status, 200, "{served}");
    }
    for refused in ["other.example.org", "yail.example.org.attacker.example"] {
        let answer = http(
            servers.admin,
            "GET",
            "/api/status",
            &[("Host", refused)],
            b"",
        )
        .await;
        assert_eq!(answer.status, 421, "{refused}");
    }
    assert_eq!(
        http(
            servers.admin,
            "GET",
            "/healthz",
            &[("Host", "evil.example")],
            b""
        )
        .await
        .status,
        421
    );
}

const TOKEN: &str = "correct-horse-battery-staple";

fn login_form(token: &str) -> Vec<u8> {
    format!("token={token}").into_bytes()
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_cookie_holds_a_session_id_not_the_token() {
    let servers = Servers::start(Some(TOKEN)).await;
    let login = http(servers.admin, "POST", "/login", &[FORM], &login_form(TOKEN)).await;
    assert_eq!(login.status, 303, "{}", login.text());
    let cookie = login.header("set-cookie").expect("a cookie").to_string();
    assert!(!cookie.contains(TOKEN), "{cookie}");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Max-Age=43200"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("name=value");
    let id = pair.strip_prefix("yail_admin=").expect("the admin cookie");
    assert_eq!(id.len(), 64, "32 random bytes in hex: {id}");

    let opened = http(
        servers.admin,
        "GET",
        "/api/status",
        &[("Cookie", pair)],
        b"",
    )
    .await;
    assert_eq!(opened.status, 200);
    // A second login gets another id; both work.
    let again = http(servers.admin, "POST", "/login", &[FORM], &login_form(TOKEN)).await;
    let other = again.header("set-cookie").expect("a cookie").to_string();
    assert_ne!(other.split(';').next(), Some(pair));
    // The token itself in the cookie (as older versions set it) opens nothing.
    let token_cookie = format!("yail_admin={TOKEN}");
    let refused = http(
        servers.admin,
        "GET",
        "/api/status",
        &[("Cookie", &token_cookie)],
        b"",
    )
    .await;
    assert_eq!(refused.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tokens_make_their_network_wait_and_are_logged() {
    let logs = captured_logs();
    let servers = Servers::start(Some(TOKEN)).await;
    let guesser = Ipv4Addr::new(127, 0, 0, 44);
    let first = http_from(
        guesser,
        servers.admin,
        "POST",
        "/login",
        &[FORM],
        &login_form("guess-1"),
    )
    .await;
    assert_eq!(first.status, 401);
    assert!(first.text().contains("after 1 s"), "{}", first.text());
    // The next guess, sent at once, is not checked: it waits its turn. On
    // a machine that stalled past the wait, it is checked as the second
    // wrong token in a row and doubles the wait: either way the network's
    // wrong tokens were counted.
    let second = http_from(
        guesser,
        servers.admin,
        "POST",
        "/login",
        &[FORM],
        &login_form("guess-2"),
    )
    .await;
    match second.status {
        429 => assert!(second.header("retry-after").is_some()),
        401 => assert!(second.text().contains("after 2 s"), "{}", second.text()),
        other => panic!("{other}: {}", second.text()),
    }
    // The bearer header is held to the same wait.
    let bearer = format!("Bearer {TOKEN}");
    let scripted = http_from(
        guesser,
        servers.admin,
        "GET",
        "/api/status",
        &[("Authorization", &bearer)],
        b"",
    )
    .await;
    assert!(matches!(scripted.status, 429 | 200), "{}", scripted.status);
    // The operator elsewhere is not locked out.
    let operator = http_from(
        Ipv4Addr::new(127, 0, 0, 45),
        servers.admin,
        "POST",
        "/login",
        &[FORM],
        &login_form(TOKEN),
    )
    .await;
    assert_eq!(operator.status, 303);

    let warned = logs.logs().since(0).into_iter().any(|line| {
        line.level == "WARN"
            && line.message.contains("wrong token")
            && line.message.contains("127.0.0.44")
    });
    assert!(warned, "{:?}", logs.logs().since(0));
}

#[test]
fn a_short_or_blank_token_on_a_public_bind_is_refused_at_start() {
    let public: SocketAddr = "0.0.0.0:5557".parse().expect("address");
    for weak in [
        "x",
        "s3cret",
        "fifteen-chars!!",
        &" ".repeat(20),
        "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
    ] {
        let refused = check_bind(public, Some(weak));
        assert!(
            matches!(refused, Err(AdminError::WeakToken { .. })),
            "{weak:?}: {refused:?}"
        );
    }
    let message = check_bind(public, Some("x"))
        .expect_err("refused")
        .to_string();
    assert!(
        message.contains("--admin-token") && message.contains("16"),
        "{message}"
    );
    assert!(check_bind(public, Some("sixteen-chars-ok")).is_ok());
    assert!(
        check_bind(
            "[2001:db8::1]:5557".parse().expect("address"),
            Some("short")
        )
        .is_err()
    );
    // On loopback the page is the local users' anyway: any token will do.
    assert!(check_bind("127.0.0.1:5557".parse().expect("address"), Some("x")).is_ok());
}
