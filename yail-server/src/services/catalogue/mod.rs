//! The server's own pictures: the catalogue in yail-state, filled from
//! `--paths` (or the folders set on the admin page) or with the built-in
//! gallery, scanned again when asked or every `--rescan-secs`; and how one
//! catalogue entry's bytes are read.

pub mod gallery;
mod picture_file;
mod scan;

use std::path::PathBuf;
use std::time::Duration;

use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};
use yail_state::ServerState;

use crate::config::Config;
pub(crate) use picture_file::PictureFile;

/// Picture folders or files of `--paths` that do not exist.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} (--paths) {}; fix the name, or give --rescan-secs to wait for {}",
    list(.0), if .0.len() == 1 { "does not exist" } else { "do not exist" },
    if .0.len() == 1 { "it" } else { "them" }
)]
pub struct MissingPaths(pub Vec<PathBuf>);

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses `--paths` entries that do not exist, unless `--rescan-secs`
/// will look for them again (then each is a warning): a server started on
/// a mistyped folder would otherwise run with nothing to show. Other
/// problems (a folder it may not read) are reported by the scan.
pub(crate) fn check_paths(config: &Config) -> Result<(), MissingPaths> {
    let missing: Vec<PathBuf> = config
        .paths
        .iter()
        .filter(|path| {
            matches!(std::fs::metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        })
        .cloned()
        .collect();
    match config.rescan_interval {
        _ if missing.is_empty() => Ok(()),
        Some(every) => {
            for path in &missing {
                warn!(
                    path = %path.display(),
                    "picture folder does not exist (yet); looked for again every {} s",
                    every.as_secs()
                );
            }
            Ok(())
        }
        None => Err(MissingPaths(missing)),
    }
}

/// Fills the catalogue at start: a scan of `config.paths`, or the built-in
/// gallery when there are none and the catalogue is still empty (a caller
/// may have filled it already).
pub(crate) async fn load(state: &ServerState, config: &Config) {
    if config.paths.is_empty() {
        if state.file_count() == 0 {
            state.replace_files(gallery::catalogue());
            // The start-up summary says so already.
            debug!(
                pictures = state.file_count(),
                "no --paths given: serving the built-in gallery"
            );
        }
        return;
    }
    scan_configured(state, config).await;
}

/// Scans again every `every` until `stop` is cancelled. Sessions keep
/// drawing from the old catalogue until the new one replaces it whole.
pub(crate) async fn rescan_periodically(
    state: ServerState,
    config: Config,
    every: Duration,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => scan_configured(&state, &config).await,
        }
    }
}

/// Replaces the catalogue with a scan of `paths` (the built-in gallery
/// when there are none) and returns what was skipped, or why the scan
/// itself failed.
pub(crate) async fn rescan(
    state: &ServerState,
    paths: Vec<PathBuf>,
    extensions: Vec<String>,
) -> Result<Vec<String>, JoinError> {
    if paths.is_empty() {
        state.replace_files(gallery::catalogue());
        return Ok(Vec::new());
    }
    let (catalogue, problems) =
        tokio::task::spawn_blocking(move || scan::scan(&paths, &extensions)).await?;
    if catalogue.len() != state.file_count() {
        info!(pictures = catalogue.len(), "scanned picture folders");
    }
    state.replace_files(catalogue);
    Ok(problems)
}

/// The folders in force: those set on the admin page, which win over
/// `--paths` until a restart (so a periodic rescan does not put the old
/// folders back), else `--paths`.
pub(crate) fn paths_in_force(state: &ServerState, config: &Config) -> Vec<std::path::PathBuf> {
    state
        .runtime_settings()
        .picture_paths
        .clone()
        .unwrap_or_else(|| config.paths.clone())
}

/// Scans the folders in force ([`paths_in_force`]).
async fn scan_configured(state: &ServerState, config: &Config) {
    let paths = paths_in_force(state, config);
    match rescan(state, paths, config.extensions.clone()).await {
        Ok(problems) => {
            for problem in problems {
                warn!(%problem, "skipped while scanning");
            }
        }
        Err(e) => error!(error = %e, "scanning picture folders failed"),
    }
}
