//! The operator's self-check (`yail-server --check`, and the admin page's
//! "Check the sources"): each configured source is tried for real once,
//! within a bounded time, and gets one line: ok, or what is wrong and
//! which flag fixes it. Sources that are not configured say so and do not
//! count as broken.
//!
//! - generation: each provider's model list is read with the server's key
//!   (the key is accepted, the model is offered and not shut down);
//! - search: one search returns results (DuckDuckGo, or the SearXNG
//!   instance answers JSON);
//! - camera: a picture arrives, newer than any the server already had;
//! - `--paths`: each folder exists and holds pictures.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use yail_state::ServerState;

use super::camera::{Camera, CameraError};
use super::generate::{Backend, Generator, ListError, ProviderView, Why};
use super::search::SearchService;
use crate::config::{Config, SearchEngine};

/// Longest one source's check may take.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// What the search check looks for.
const SEARCH_TERM: &str = "atari 800";
/// Longest wait for a camera picture (its snapshot interval is added).
const CAMERA_WAIT: Duration = Duration::from_secs(10);
/// Most directory entries looked at per `--paths` entry before giving up
/// on finding a picture in it.
const MAX_ENTRIES_WALKED: usize = 20_000;

/// How one source fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It works.
    Ok,
    /// It works, but something in its configuration needs a look (a
    /// replaced model).
    Warning,
    /// It is configured and does not work.
    Broken,
    /// It is not configured; nothing was tried.
    NotConfigured,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Broken => "BROKEN",
            Verdict::NotConfigured => "not configured",
        }
    }
}

/// One source's line of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckLine {
    /// The source: `openai`, `gemini`, `search`, `camera`, `paths`.
    pub source: &'static str,
    /// How it fared.
    pub verdict: Verdict,
    /// What was found, and for a broken source which flag fixes it.
    pub detail: String,
}

impl std::fmt::Display for CheckLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:<7} {}", self.source, self.verdict.word())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Every source's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// One line per source, in a fixed order.
    pub lines: Vec<CheckLine>,
}

impl CheckReport {
    /// Whether a configured source is broken.
    pub fn broken(&self) -> bool {
        self.lines.iter().any(|l| l.verdict == Verdict::Broken)
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.lines.iter().try_for_each(|line| writeln!(f, "{line}"))
    }
}

fn line(source: &'static str, verdict: Verdict, detail: impl Into<String>) -> CheckLine {
    CheckLine {
        source,
        verdict,
        detail: detail.into(),
    }
}

/// Runs every check at once, each within [`CHECK_TIMEOUT`].
pub(crate) async fn run(
    config: &Config,
    state: &ServerState,
    generator: &Generator,
    search: &SearchService,
    camera: Option<&Camera>,
) -> CheckReport {
    let (models, search, camera, paths) = tokio::join!(
        bounded("generation", check_models(generator)),
        bounded("search", async {
            vec![check_search(config, state, search).await]
        }),
        bounded("camera", async { vec![check_camera(config, camera).await] }),
        bounded("paths", async { vec![check_paths(config, state).await] }),
    );
    CheckReport {
        lines: [models, search, camera, paths].concat(),
    }
}

async fn bounded(
    source: &'static str,
    check: impl Future<Output = Vec<CheckLine>>,
) -> Vec<CheckLine> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| {
            vec![line(
                source,
                Verdict::Broken,
                format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
            )]
        })
}

async fn check_models(generator: &Generator) -> Vec<CheckLine> {
    generator
        .check_models()
        .await
        .into_iter()
        .map(|(view, reading)| model_line(&view, reading))
        .collect()
}

fn model_line(view: &ProviderView, reading: Option<Result<usize, ListError>>) -> CheckLine {
    let backend = view.backend;
    let source = match backend {
        Backend::OpenAi => "openai",
        Backend::Gemini => "gemini",
    };
    let model_flag = match backend {
        Backend::OpenAi => "--gen-model",
        Backend::Gemini => "--gemini-model",
    };
    let count = match reading {
        None => {
            return line(
                source,
                Verdict::NotConfigured,
                format!(
                    "set {} to generate with {}",
                    backend.key_flag(),
                    backend.name()
                ),
            );
        }
        Some(Err(error @ ListError::KeyRefused { .. })) => {
            return line(
                source,
                Verdict::Broken,
                format!("{error}; fix {}", backend.key_flag()),
            );
        }
        Some(Err(error)) => {
            return line(
                source,
                Verdict::Broken,
                format!("{error}; check the network, or {}", backend.url_flag()),
            );
        }
        Some(Ok(count)) => count,
    };
    let model = &view.in_use.model;
    match &view.in_use.why {
        Why::ShutDown { was, on } => line(
            source,
            Verdict::Warning,
            format!(
                "key accepted; {was} was shut down on {on}, so {model} is used instead; set {model_flag} {model}"
            ),
        ),
        Why::Absent { was } | Why::Retired { was } => line(
            source,
            Verdict::Warning,
            format!(
                "key accepted; {was} is not offered, so {model} is used instead; set {model_flag} {model}"
            ),
        ),
        Why::NoReplacement { .. } => line(
            source,
            Verdict::Broken,
            format!(
                "key accepted, but {model} is {} and no current image model is listed; set {model_flag} to a model the key may use",
                view.in_use.why
            ),
        ),
        Why::Listed | Why::Unchecked | Why::Unverified(_) => line(
            source,
            Verdict::Ok,
            format!("key accepted; {model} is offered ({count} models listed)"),
        ),
    }
}

async fn check_search(config: &Config, state: &ServerState, search: &SearchService) -> CheckLine {
    let runtime = state.runtime_settings();
    let engine = runtime
        .search_engine
        .as_deref()
        .and_then(|name| name.parse::<SearchEngine>().ok())
        .unwrap_or(config.search_engine);
    let (name, fix) = match engine {
        SearchEngine::DuckDuckGo => (
            "DuckDuckGo",
            "check the network, --search-url, or use SearXNG (--search-engine searxng --searxng-url)",
        ),
        SearchEngine::Searxng => (
            "SearXNG",
            "check --searxng-url, and that the instance allows format=json (search.formats: [json])",
        ),
    };
    match search.results(SEARCH_TERM).await {
        Ok(hits) => line(
            "search",
            Verdict::Ok,
            format!("{name} found {} pictures for \"{SEARCH_TERM}\"", hits.len()),
        ),
        Err(error) => line("search", Verdict::Broken, format!("{name}: {error}; {fix}")),
    }
}

async fn check_camera(config: &Config, camera: Option<&Camera>) -> CheckLine {
    let Some(camera) = camera else {
        return line(
            "camera",
            Verdict::NotConfigured,
            "set --camera to use video",
        );
    };
    let wait = CAMERA_WAIT
        .saturating_add(config.camera_interval)
        .min(CHECK_TIMEOUT.saturating_sub(Duration::from_secs(5)));
    let broken = |error: CameraError| {
        line(
            "camera",
            Verdict::Broken,
            format!("{error}; check the camera, or --camera"),
        )
    };
    // A picture the server already had proves nothing about now: wait for
    // a newer one.
    let frame = match camera.next_frame(0, Duration::ZERO).await {
        Ok(had) => match camera.next_frame(had.seq, wait).await {
            Ok(frame) if frame.seq > had.seq => frame,
            Ok(_) => {
                return line(
                    "camera",
                    Verdict::Broken,
                    format!(
                        "no new picture within {} s; check the camera, or --camera",
                        wait.as_secs()
                    ),
                );
            }
            Err(error) => return broken(error),
        },
        Err(CameraError::NoPictureYet) => match camera.next_frame(0, wait).await {
            Ok(frame) => frame,
            Err(error) => return broken(error),
        },
        Err(error) => return broken(error),
    };
    match picture_kind(&frame.data) {
        Some(kind) => line(
            "camera",
            Verdict::Ok,
            format!("sent a {kind} picture of {} bytes", frame.data.len()),
        ),
        None => line(
            "camera",
            Verdict::Broken,
            format!(
                "sent {} bytes that are not a picture; check --camera",
                frame.data.len()
            ),
        ),
    }
}

/// The format of a picture by its first bytes.
fn picture_kind(data: &[u8]) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 5] = [
        (b"\xFF\xD8\xFF", "JPEG"),
        (b"\x89PNG\r\n\x1A\n", "PNG"),
        (b"GIF8", "GIF"),
        (b"BM", "BMP"),
        (b"RIFF", "WebP"),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| data.starts_with(magic))
        .map(|(_, kind)| *kind)
}

async fn check_paths(config: &Config, state: &ServerState) -> CheckLine {
    let paths = super::catalogue::paths_in_force(state, config);
    if paths.is_empty() {
        return line(
            "paths",
            Verdict::NotConfigured,
            "the built-in gallery is served; set --paths to serve your pictures",
        );
    }
    let extensions = config.extensions.clone();
    let problems = tokio::task::spawn_blocking(move || {
        paths
            .iter()
            .filter_map(|path| path_problem(path, &extensions))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_else(|e| vec![format!("the check failed: {e}")]);
    if problems.is_empty() {
        line(
            "paths",
            Verdict::Ok,
            format!("{} pictures to show", state.file_count()),
        )
    } else {
        line(
            "paths",
            Verdict::Broken,
            format!("{}; fix --paths (or --extensions)", problems.join("; ")),
        )
    }
}

/// What is wrong with one `--paths` entry, if anything.
fn path_problem(path: &Path, extensions: &[String]) -> Option<String> {
    let shown = path.display();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(format!("{shown} does not exist"));
        }
        Err(e) => return Some(format!("{shown} cannot be read ({e})")),
    };
    let is_picture = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
    };
    if metadata.is_file() {
        return (!is_picture(path)).then(|| {
            format!(
                "{shown} is not a picture file (extensions: {})",
                extensions.join(",")
            )
        });
    }
    // A folder: look for one picture, breadth first, within a bound.
    let mut folders: Vec<PathBuf> = vec![path.to_owned()];
    let mut walked = 0;
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            if folder == path {
                return Some(format!("{shown} cannot be read"));
            }
            continue;
        };
        for entry in entries.flatten() {
            walked += 1;
            if walked > MAX_ENTRIES_WALKED {
                return Some(format!(
                    "no picture among the first {MAX_ENTRIES_WALKED} entries of {shown}"
                ));
            }
            let entry_path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => folders.push(entry_path),
                Ok(_) if is_picture(&entry_path) => return None,
                _ => {}
            }
        }
    }
    Some(format!(
        "{shown} holds no pictures (extensions: {})",
        extensions.join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_one_line_per_source() {
        let report = CheckReport {
            lines: vec![
                line("openai", Verdict::Ok, "key accepted"),
                line(
                    "camera",
                    Verdict::NotConfigured,
                    "set --camera to use video",
                ),
                line("search", Verdict::Broken, "no answer; check the network"),
            ],
        };
        assert_eq!(
            report.to_string(),
            "openai  ok: key accepted\ncamera  not configured: set --camera to use video\nsearch  BROKEN: no answer; check the network\n"
        );
        assert!(report.broken());
        let fine = CheckReport {
            lines: vec![line("camera", Verdict::NotConfigured, "")],
        };
        assert!(!fine.broken(), "unconfigured sources do not fail");
    }

    #[test]
    fn paths_must_exist_and_hold_pictures() {
        let extensions = vec![String::from("jpg"), String::from("png")];
        let photos = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/photos");
        assert_eq!(path_problem(&photos, &extensions), None);
        let missing = path_problem(Path::new("/no/such/folder"), &extensions);
        assert_eq!(missing.as_deref(), Some("/no/such/folder does not exist"));
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let empty = path_problem(&source, &extensions).unwrap_or_default();
        assert!(
            empty.ends_with("holds no pictures (extensions: jpg,png)"),
            "{empty}"
        );
        let cargo = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert!(path_problem(&cargo, &extensions).is_some());
    }

    #[test]
    fn pictures_are_known_by_their_first_bytes() {
        assert_eq!(picture_kind(b"\xFF\xD8\xFF\xE0rest"), Some("JPEG"));
        assert_eq!(picture_kind(b"\x89PNG\r\n\x1A\nrest"), Some("PNG"));
        assert_eq!(picture_kind(b"<html>"), None);
    }
}
