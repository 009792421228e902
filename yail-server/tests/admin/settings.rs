//! The settings page's changes: checked, saved into the settings file
//! (comments kept) before they apply, read back by the next start, and
//! shown under the flags' names.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::CommandFactory;
use yail_server::{AdminOptions, Args, Config, SettingsStore};

use crate::support::{Servers, http};

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A folder of its own for one test, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("yail-settings-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn test_config() -> Config {
    Config {
        prefetch: false,
        workers: 2,
        ..Config::default()
    }
}

async fn saving_to(path: &std::path::Path, config: Config) -> Servers {
    Servers::start_configured(
        config,
        AdminOptions {
            settings: SettingsStore::config_file(path.to_path_buf()),
            ..AdminOptions::default()
        },
    )
    .await
}

async fn post(servers: &Servers, body: serde_json::Value) -> crate::support::Response {
    http(
        servers.admin,
        "POST",
        "/api/config",
        &[JSON],
        body.to_string().as_bytes(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_saved_with_the_comments_and_the_next_start_reads_them() {
    let scratch = Scratch::new("saved");
    let file = scratch.0.join("yail.toml");
    let pictures = scratch.0.join("pictures");
    std::fs::create_dir_all(&pictures).expect("folder");
    let photo = yail_server::gallery::find("horse.png").expect("gallery photo");
    std::fs::write(pictures.join("one.png"), photo.bytes).expect("write photo");
    std::fs::write(
        &file,
        "# The club's server.\nmax_per_ip = 16   # one NAT for everyone\n# gen_model = \"gpt-image-1.5\"\n",
    )
    .expect("write settings");
    let servers = saving_to(&file, test_config()).await;

    let shown = servers.get("/api/config").await.json();
    assert_eq!(shown["settings"]["gen_model"], Config::default().gen_model);
    assert_eq!(shown["saved_to"], file.to_str().expect("utf-8"));

    let changed = post(
        &servers,
        serde_json::json!({
            "gen_model": "gpt-image-1.5",
            "allowed_models": ["gemini-3-pro-image"],
            "paths": [pictures],
        }),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let answer = changed.json();
    assert_eq!(
        answer["changed"],
        serde_json::json!(["gen_model", "allowed_models", "paths"])
    );
    assert_eq!(answer["settings"]["gen_model"], "gpt-image-1.5");
    assert_eq!(answer["notes"], serde_json::json!([]));
    // At once: the sessions' next `gen` and `files` use them.
    let runtime = servers.state.runtime_settings();
    assert_eq!(runtime.default_model.as_deref(), Some("gpt-image-1.5"));
    assert_eq!(servers.state.file_count(), 1);

    let text = std::fs::read_to_string(&file).expect("read settings");
    assert!(
        text.starts_with(
            "# The club's server.\nmax_per_ip = 16   # one NAT for everyone\n# gen_model = \"gpt-image-1.5\"\n"
        ),
        "{text}"
    );
    assert!(text.contains("\ngen_model = \"gpt-image-1.5\"\n"), "{text}");

    // The next start reads what was saved.
    let argv: Vec<OsString> = ["yail-server", "--config", file.to_str().expect("utf-8")]
        .iter()
        .map(OsString::from)
        .collect();
    let next_start = yail_server::load_settings(argv).expect("the saved file loads");
    let config = next_start.args.config();
    assert_eq!(config.gen_model, "gpt-image-1.5");
    assert_eq!(config.allowed_models, ["gemini-3-pro-image"]);
    assert_eq!(config.paths, [pictures]);
    assert_eq!(config.max_per_ip, 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_settings_form_refuses_an_unknown_engine_and_searxng_without_its_address() {
    let scratch = Scratch::new("engine");
    let file = scratch.0.join("yail.toml");
    std::fs::write(&file, "port = 5556\n").expect("write settings");
    let servers = saving_to(&file, test_config()).await;
    for (engine, says) in [
        ("google", "duckduckgo or searxng"),
        ("searxng", "--searxng-url"),
    ] {
        let refused = post(&servers, serde_json::json!({ "search_engine": engine })).await;
        assert_eq!(refused.status, 400, "{engine}: {}", refused.text());
        assert!(
            refused.text().contains(says),
            "{engine}: {}",
            refused.text()
        );
    }
    let missing = post(
        &servers,
        serde_json::json!({ "paths": ["/no/such/yail/folder"] }),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert!(missing.text().contains("/no/such/yail/folder"));
    let empty_model = post(&servers, serde_json::json!({ "gen_model": " " })).await;
    assert_eq!(empty_model.status, 400);
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "port = 5556\n"
    );
    assert_eq!(
        *servers.state.runtime_settings(),
        yail_state::RuntimeSettings::default()
    );

    // With an address, SearXNG may be chosen.
    let with_searxng = saving_to(
        &file,
        Config {
            searxng_url: Some(String::from("http://127.0.0.1:9/")),
            ..test_config()
        },
    )
    .await;
    let shown = with_searxng.get("/api/config").await.json();
    assert_eq!(
        shown["search_engines"],
        serde_json::json!(["duckduckgo", "searxng"])
    );
    let chosen = post(
        &with_searxng,
        serde_json::json!({ "search_engine": "searxng" }),
    )
    .await;
    assert_eq!(chosen.status, 200, "{}", chosen.text());
    assert!(
        std::fs::read_to_string(&file)
            .expect("read")
            .contains("search_engine = \"searxng\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_settings_file_changes_last_until_the_server_stops_and_it_says_so() {
    let servers = Servers::start(None).await;
    let shown = servers.get("/api/config").await.json();
    assert_eq!(shown["saved_to"], serde_json::Value::Null);
    let changed = post(
        &servers,
        serde_json::json!({ "gen_model": "gpt-image-1.5" }),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    let notes = changed.json()["notes"].to_string();
    assert!(
        notes.contains("not saved") && notes.contains("--config"),
        "{notes}"
    );
    assert_eq!(
        servers.state.runtime_settings().default_model.as_deref(),
        Some("gpt-image-1.5")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_cannot_be_saved_is_not_applied() {
    let servers = saving_to(
        std::path::Path::new("/no/such/yail/folder/yail.toml"),
        test_config(),
    )
    .await;
    let refused = post(
        &servers,
        serde_json::json!({ "gen_model": "gpt-image-1.5" }),
    )
    .await;
    assert_eq!(refused.status, 500, "{}", refused.text());
    assert!(
        refused.text().contains("nothing changed"),
        "{}",
        refused.text()
    );
    assert_eq!(servers.state.runtime_settings().default_model, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_settings_json_uses_the_flags_names() {
    let servers = Servers::start(Some("a-token-for-the-test")).await;
    let shown = http(
        servers.admin,
        "GET",
        "/api/config",
        &[("Authorization", "Bearer a-token-for-the-test")],
        b"",
    )
    .await
    .json();
    let keys: BTreeSet<String> = Args::command()
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .map(|long| long.replace('-', "_"))
        .collect();
    let effective = shown["effective"].as_object().expect("an object");
    for key in effective.keys() {
        assert!(keys.contains(key), "{key} is no flag's name");
    }
    for key in shown["settings"].as_object().expect("an object").keys() {
        assert!(keys.contains(key), "{key} is no flag's name");
    }
    assert_eq!(effective["cache_mb"], 64);
    assert_eq!(effective["dither_space"], "linear");
    assert_eq!(effective["admin_token"], "set (hidden)");
    assert!(!shown.to_string().contains("a-token-for-the-test"));
}
