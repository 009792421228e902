//! How a [`Config`] is shown: by the settings' keys for the admin page
//! ([`Config::by_key`]), in a few lines for the log at start
//! ([`Config::summary`]), and as `Debug`; everywhere secrets are masked and
//! URLs show only their scheme and host.

use std::time::Duration;

use super::search_engine::SearchEngine;
use super::settings::Config;

/// Shows a URL without what could be a secret in it: only its scheme and
/// host (a camera URL may carry a password or a token).
fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if scheme.is_empty() {
        format!("{host}/...")
    } else {
        format!("{scheme}://{host}/...")
    }
}

/// Shows a secret as its length only.
fn masked(secret: &Option<String>) -> String {
    match secret {
        Some(s) if !s.is_empty() => format!("set ({} characters, hidden)", s.chars().count()),
        _ => String::from("not set"),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("paths", &self.paths)
            .field("rescan_interval", &self.rescan_interval)
            .field("extensions", &self.extensions)
            .field("random_modes", &self.random_modes)
            .field("cache_bytes", &self.cache_bytes)
            .field("max_connections", &self.max_connections)
            .field("max_per_ip", &self.max_per_ip)
            .field("idle_timeout", &self.idle_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_command_len", &self.max_command_len)
            .field("workers", &self.workers)
            .field("decode_memory", &self.decode_memory)
            .field("prefetch", &self.prefetch)
            .field("blend", &self.blend)
            .field("tv", &self.tv)
            .field("openai_api_key", &masked(&self.openai_api_key))
            .field("gemini_api_key", &masked(&self.gemini_api_key))
            .field("allow_private_urls", &self.allow_private_urls)
            .field("allowed_url_nets", &self.allowed_url_nets)
            .field("max_download_bytes", &self.max_download_bytes)
            .field("fetch_timeout", &self.fetch_timeout)
            .field("search_engine", &self.search_engine)
            .field("search_url", &self.search_url)
            .field("searxng_url", &self.searxng_url)
            .field("search_cache_ttl", &self.search_cache_ttl)
            .field("search_parallel", &self.search_parallel)
            .field("max_fetches_per_ip", &self.max_fetches_per_ip)
            .field("download_memory_bytes", &self.download_memory_bytes)
            .field("openai_base_url", &url_origin(&self.openai_base_url))
            .field("gemini_base_url", &url_origin(&self.gemini_base_url))
            .field("gen_model", &self.gen_model)
            .field("gemini_model", &self.gemini_model)
            .field("allowed_models", &self.allowed_models)
            .field("gen_size", &self.gen_size)
            .field("gen_quality", &self.gen_quality)
            .field("gen_timeout", &self.gen_timeout)
            .field("gen_concurrency", &self.gen_concurrency)
            .field("gen_per_minute", &self.gen_per_minute)
            .field("camera", &self.camera.as_deref().map(url_origin))
            .field("camera_interval", &self.camera_interval)
            .field("camera_insecure_tls", &self.camera_insecure_tls)
            .field("gen_per_day", &self.gen_per_day)
            .field("gen_max_size", &self.gen_max_size)
            .field("gen_max_quality", &self.gen_max_quality)
            .field("slow_fetch", &self.slow_fetch)
            .finish()
    }
}

/// A setting's value as the settings file writes it.
fn lower_debug(value: &impl std::fmt::Debug) -> String {
    format!("{value:?}").to_ascii_lowercase()
}

impl Config {
    /// The settings by their keys (the flags' names), with the values in
    /// the flags' units (`cache_mb`, seconds, milliseconds) and secrets
    /// masked: what the admin page shows. The listening addresses, the
    /// admin page's and the log's settings are not part of a `Config`.
    pub fn by_key(&self) -> Vec<(&'static str, serde_json::Value)> {
        use serde_json::json;
        let secs = |d: Duration| d.as_secs();
        let paths: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
        vec![
            ("paths", json!(paths)),
            ("rescan_secs", json!(self.rescan_interval.map_or(0, secs))),
            ("extensions", json!(self.extensions)),
            (
                "random_modes",
                json!(
                    self.random_modes
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                ),
            ),
            ("cache_mb", json!(self.cache_bytes >> 20)),
            ("max_connections", json!(self.max_connections)),
            ("max_per_ip", json!(self.max_per_ip)),
            ("idle_timeout", json!(secs(self.idle_timeout))),
            ("command_timeout", json!(secs(self.command_timeout))),
            ("request_timeout", json!(secs(self.request_timeout))),
            ("max_command_len", json!(self.max_command_len)),
            ("workers", json!(self.workers)),
            ("decode_memory_mb", json!(self.decode_memory >> 20)),
            ("no_prefetch", json!(!self.prefetch)),
            ("dither_space", json!(lower_debug(&self.blend))),
            ("tv", json!(lower_debug(&self.tv))),
            ("openai_api_key", json!(masked(&self.openai_api_key))),
            ("gemini_api_key", json!(masked(&self.gemini_api_key))),
            ("allow_private_urls", json!(self.allow_private_urls)),
            (
                "allow_url_net",
                json!(
                    self.allowed_url_nets
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                ),
            ),
            (
                "max_download_mb",
                json!(self.max_download_bytes / 1_000_000),
            ),
            ("fetch_timeout", json!(secs(self.fetch_timeout))),
            ("max_fetches_per_ip", json!(self.max_fetches_per_ip)),
            (
                "download_memory_mb",
                json!(self.download_memory_bytes >> 20),
            ),
            ("search_engine", json!(self.search_engine.name())),
            ("search_url", json!(url_origin(&self.search_url))),
            (
                "searxng_url",
                json!(self.searxng_url.as_deref().map(url_origin)),
            ),
            (
                "search_cache_minutes",
                json!(secs(self.search_cache_ttl) / 60),
            ),
            ("openai_base_url", json!(url_origin(&self.openai_base_url))),
            ("gemini_base_url", json!(url_origin(&self.gemini_base_url))),
            ("gen_model", json!(self.gen_model)),
            ("gemini_model", json!(self.gemini_model)),
            ("allowed_models", json!(self.allowed_models)),
            ("gen_size", json!(self.gen_size)),
            ("gen_quality", json!(self.gen_quality)),
            ("gen_timeout", json!(secs(self.gen_timeout))),
            ("gen_concurrency", json!(self.gen_concurrency)),
            ("gen_per_minute", json!(self.gen_per_minute)),
            ("gen_per_day", json!(self.gen_per_day)),
            ("gen_max_size", json!(self.gen_max_size)),
            ("gen_max_quality", json!(self.gen_max_quality)),
            ("slow_fetch_secs", json!(self.slow_fetch.map_or(0, secs))),
            ("camera", json!(self.camera.as_deref().map(url_origin))),
            (
                "camera_interval_ms",
                json!(u64::try_from(self.camera_interval.as_millis()).unwrap_or(u64::MAX)),
            ),
            ("camera_insecure_tls", json!(self.camera_insecure_tls)),
        ]
    }

    /// What the server does with these settings, in a few lines for the
    /// log at start: where the pictures come from, search, generation and
    /// the camera. Secrets are only said to be set; URLs show their host.
    pub fn summary(&self) -> Vec<String> {
        let pictures = if self.paths.is_empty() {
            String::from("pictures: the built-in gallery (--paths serves your own)")
        } else {
            const SHOWN: usize = 3;
            let mut list: Vec<String> = self
                .paths
                .iter()
                .take(SHOWN)
                .map(|p| p.display().to_string())
                .collect();
            if self.paths.len() > SHOWN {
                list.push(format!("and {} more", self.paths.len() - SHOWN));
            }
            let rescan = self.rescan_interval.map_or_else(
                || String::from("scanned at start"),
                |every| format!("scanned every {} s", every.as_secs()),
            );
            format!("pictures: {} ({rescan})", list.join(", "))
        };
        let search = match (self.search_engine, &self.searxng_url) {
            (SearchEngine::Searxng, Some(url)) => format!("search: SearXNG at {}", url_origin(url)),
            (SearchEngine::Searxng, None) => String::from("search: SearXNG, without an address"),
            (SearchEngine::DuckDuckGo, Some(url)) => format!(
                "search: DuckDuckGo (SearXNG at {} can be chosen on the admin page)",
                url_origin(url)
            ),
            (SearchEngine::DuckDuckGo, None) => String::from("search: DuckDuckGo"),
        };
        let key = |name: &str, secret: &Option<String>| {
            if secret.as_deref().is_some_and(|s| !s.is_empty()) {
                format!("{name} key set")
            } else {
                format!("no {name} key")
            }
        };
        let others = match self.allowed_models.len() {
            0 => String::new(),
            1 => String::from(", 1 more model allowed"),
            n => format!(", {n} more models allowed"),
        };
        let generation = format!(
            "generation: {} ({}, {} quality){others}; {}, {}",
            self.gen_model,
            self.gen_size,
            self.gen_quality,
            key("OpenAI", &self.openai_api_key),
            key("Gemini", &self.gemini_api_key),
        );
        let camera = match &self.camera {
            Some(url) => format!(
                "camera: {} (snapshots every {} ms, or its MJPEG stream)",
                url_origin(url),
                self.camera_interval.as_millis()
            ),
            None => String::from("camera: none (--camera)"),
        };
        vec![pictures, search, generation, camera]
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};
    use serde_json::json;

    use std::path::PathBuf;

    use super::*;
    use crate::config::args::Args;

    /// Keys whose settings live outside a `Config`: where the server and
    /// the admin page listen, the log, and the runtime file.
    const NOT_IN_CONFIG: [&str; 10] = [
        "bind",
        "port",
        "log_level",
        "log_format",
        "admin_bind",
        "admin_port",
        "no_admin",
        "admin_token",
        "admin_host",
        "runtime_file",
    ];

    #[test]
    fn every_setting_is_shown_under_its_key_in_the_flags_units() {
        // Flag, value given, what `by_key` shows.
        let cases: Vec<(&str, Option<&str>, serde_json::Value)> = vec![
            ("paths", Some("/srv/a"), json!(["/srv/a"])),
            ("rescan-secs", Some("600"), json!(600)),
            ("extensions", Some("png"), json!(["png"])),
            ("random-modes", Some("gr15"), json!(["gr15"])),
            ("cache-mb", Some("32"), json!(32)),
            ("max-connections", Some("9"), json!(9)),
            ("max-per-ip", Some("3"), json!(3)),
            ("idle-timeout", Some("11"), json!(11)),
            ("command-timeout", Some("12"), json!(12)),
            ("request-timeout", Some("13"), json!(13)),
            ("max-command-len", Some("99"), json!(99)),
            ("workers", Some("3"), json!(3)),
            ("decode-memory-mb", Some("100"), json!(100)),
            ("no-prefetch", None, json!(true)),
            ("dither-space", Some("srgb"), json!("srgb")),
            ("tv", Some("pal"), json!("pal")),
            (
                "openai-api-key",
                Some("sk-secret"),
                json!("set (9 characters, hidden)"),
            ),
            (
                "gemini-api-key",
                Some("g-secret"),
                json!("set (8 characters, hidden)"),
            ),
            ("allow-private-urls", None, json!(true)),
            (
                "allow-url-net",
                Some("192.168.1.0/24"),
                json!(["192.168.1.0/24"]),
            ),
            ("max-download-mb", Some("7"), json!(7)),
            ("fetch-timeout", Some("8"), json!(8)),
            ("search-engine", Some("searxng"), json!("searxng")),
            (
                "search-url",
                Some("https://ddg.test/x"),
                json!("https://ddg.test/..."),
            ),
            (
                "searxng-url",
                Some("http://s.lan/search"),
                json!("http://s.lan/..."),
            ),
            ("search-cache-minutes", Some("5"), json!(5)),
            (
                "openai-base-url",
                Some("https://o.test/v1"),
                json!("https://o.test/..."),
            ),
            (
                "gemini-base-url",
                Some("https://g.test/"),
                json!("https://g.test/..."),
            ),
            ("gen-model", Some("m1"), json!("m1")),
            ("allowed-models", Some("m2"), json!(["m2"])),
            ("gen-size", Some("512x512"), json!("512x512")),
            ("gen-quality", Some("high"), json!("high")),
            ("gen-timeout", Some("14"), json!(14)),
            ("gen-concurrency", Some("2"), json!(2)),
            ("gen-per-minute", Some("1"), json!(1)),
            (
                "camera",
                Some("http://u:p@cam.test/snap"),
                json!("http://cam.test/..."),
            ),
            ("camera-interval-ms", Some("250"), json!(250)),
        ];
        let mut flags = vec![String::from("yail-server")];
        for (flag, value, _) in &cases {
            flags.push(format!("--{flag}"));
            flags.extend(value.map(String::from));
        }
        let command = Args::command().mut_args(|arg| arg.env(None));
        let matches = command.try_get_matches_from(flags).expect("valid flags");
        let config = Args::from_arg_matches(&matches).expect("types").config();
        let shown: std::collections::BTreeMap<&str, serde_json::Value> =
            config.by_key().into_iter().collect();
        for (flag, _, expected) in &cases {
            let key = flag.replace('-', "_");
            assert_eq!(shown.get(key.as_str()), Some(expected), "{key}");
        }
        // Every key is shown, or lives outside a `Config`.
        for arg in Args::command().get_arguments() {
            let Some(key) = arg.get_long().map(|l| l.replace('-', "_")) else {
                continue;
            };
            if crate::config::layer::NOT_KEYS.contains(&key.replace('_', "-").as_str()) {
                continue;
            }
            assert!(
                shown.contains_key(key.as_str()) != NOT_IN_CONFIG.contains(&key.as_str()),
                "{key}: shown by Config::by_key, or listed in NOT_IN_CONFIG"
            );
        }
    }

    #[test]
    fn the_summary_is_short_and_keeps_secrets() {
        let config = Config {
            openai_api_key: Some(String::from("sk-summary-secret")),
            camera: Some(String::from("http://admin:pw@cam.local/snap")),
            paths: (1..=5)
                .map(|n| PathBuf::from(format!("/srv/p{n}")))
                .collect(),
            rescan_interval: Some(Duration::from_secs(600)),
            allowed_models: vec![String::from("gemini-3-pro-image")],
            ..Config::default()
        };
        let lines = config.summary();
        let text = lines.join("\n");
        assert!(
            lines.len() <= 5 && lines.iter().all(|l| l.len() < 160),
            "{text}"
        );
        for secret in ["sk-summary-secret", "admin", "pw"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("pictures: /srv/p1, /srv/p2, /srv/p3, and 2 more (scanned every 600 s)"),
            "{text}"
        );
        assert!(text.contains("OpenAI key set, no Gemini key"), "{text}");
        assert!(text.contains("1 more model allowed"), "{text}");
        assert!(text.contains("camera: http://cam.local/..."), "{text}");
        let plain = Config::default().summary().join("\n");
        assert!(
            plain.contains("the built-in gallery") && plain.contains("search: DuckDuckGo"),
            "{plain}"
        );
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let config = Config {
            openai_api_key: Some(String::from("sk-very-secret")),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("14 characters"), "{shown}");
    }

    #[test]
    fn urls_that_may_carry_secrets_show_only_scheme_and_host() {
        let config = Config {
            gemini_api_key: Some(String::from("AIza-secret-gemini")),
            camera: Some(String::from(
                "http://admin:hunter2@cam.local:8080/snap?token=t0k3n",
            )),
            openai_base_url: String::from("https://proxy.example/v1?key=sk-in-url"),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        for secret in [
            "AIza-secret-gemini",
            "hunter2",
            "admin",
            "t0k3n",
            "sk-in-url",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("http://cam.local:8080/..."), "{shown}");
        assert!(shown.contains("https://proxy.example/..."), "{shown}");
    }
}
