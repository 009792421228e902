//! The JSON API behind the pages, and the pictures it links to.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yail_core::TvStandard;
use yail_proto::{GfxMode, Packet};
use yail_state::{HistogramSnapshot, RuntimeSettings, SentPicture};

use super::error::AdminError;
use super::shared::AdminShared;
use crate::services::catalogue;

/// Longest model or engine name accepted from the settings form.
const MAX_NAME: usize = 100;
/// Most entries accepted in a list setting.
const MAX_LIST: usize = 64;

fn seconds_since(then: SystemTime) -> f64 {
    SystemTime::now()
        .duration_since(then)
        .unwrap_or_default()
        .as_secs_f64()
}

pub(super) fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn latency(h: &HistogramSnapshot) -> Value {
    json!({
        "count": h.count,
        "mean_ms": millis(h.mean()),
        "p50_ms": millis(h.quantile(0.5)),
        "p99_ms": millis(h.quantile(0.99)),
    })
}

pub(super) async fn status(State(shared): State<Arc<AdminShared>>) -> Json<Value> {
    let state = &shared.services.state();
    let m = state.metrics().snapshot();
    let by_mode: Vec<Value> = m
        .packets_by_mode
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(
            |(mode, n)| json!({ "mode": mode, "name": GfxMode::wire_name(mode as u8), "count": n }),
        )
        .collect();
    let statuses = state.sources().snapshot();
    let pictures_total: u64 = statuses.iter().map(|s| s.successes).sum();
    let sources: Vec<Value> = statuses
        .into_iter()
        .map(|s| {
            json!({
                "name": s.name,
                "pictures": s.successes,
                "failures": s.failures,
                "last_success_secs_ago": s.last_success.map(seconds_since),
                "last_error": s.last_error.as_ref().map(|e| &e.1),
                "last_error_secs_ago": s.last_error.as_ref().map(|e| seconds_since(e.0)),
            })
        })
        .collect();
    let errors: BTreeMap<&str, u64> = m.errors.iter().map(|(k, n)| (k.name(), *n)).collect();
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": shared.started.elapsed().as_secs_f64(),
        "started_unix_ms": unix_millis(shared.started_at),
        "connections_now": m.connections_current,
        "connections_total": m.connections_total,
        "pictures_total": pictures_total,
        "packets_total": m.packets_total(),
        "bytes_sent": m.bytes_sent,
        "packets_by_mode": by_mode,
        "sources": sources,
        "cache": { "hits": m.cache_hits, "misses": m.cache_misses, "hit_rate": m.cache_hit_rate() },
        "errors": errors,
        "conversion": latency(&m.conversions),
        "request": latency(&m.requests),
        "files": state.file_count(),
        "atari_address": shared.atari_address,
    }))
}

fn picture_json(p: &SentPicture, image: String) -> Value {
    json!({
        "seq": p.seq,
        "session": p.session,
        "source": p.source,
        "mode": p.mode,
        "mode_name": GfxMode::wire_name(p.mode),
        "took_ms": millis(p.took),
        "bytes": p.packet.len(),
        "secs_ago": seconds_since(p.at),
        "image": image,
    })
}

pub(super) async fn sessions(State(shared): State<Arc<AdminShared>>) -> Json<Value> {
    let list: Vec<Value> = shared
        .services
        .state()
        .sessions()
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "peer": s.peer.to_string(),
                "dialect": s.dialect.name(),
                "mode": s.mode,
                "mode_name": s.mode.map(GfxMode::wire_name),
                "source": s.activity,
                "term": s.term,
                "pictures_sent": s.images_sent,
                "connected_secs": seconds_since(s.started),
                "since_unix_ms": unix_millis(s.started),
                "last_picture": s.last_picture.as_ref().map(|p| picture_json(
                    p, format!("/api/sessions/{}/last.png?seq={}", s.id, p.seq))),
            })
        })
        .collect();
    Json(Value::Array(list))
}

pub(super) async fn recent(State(shared): State<Arc<AdminShared>>) -> Json<Value> {
    let list: Vec<Value> = shared
        .services
        .state()
        .recent_pictures()
        .snapshot()
        .iter()
        .rev()
        .map(|p| {
            let mut entry = picture_json(p, format!("/api/recent/{}.png", p.seq));
            entry["packet"] = json!(format!("/api/recent/{}.yail", p.seq));
            entry
        })
        .collect();
    Json(Value::Array(list))
}

/// A packet rendered as the Atari shows it, as a PNG (on a blocking thread:
/// rendering and compressing take milliseconds).
pub(super) async fn preview_png(packet: Arc<[u8]>, tv: TvStandard) -> Result<Response, AdminError> {
    let png = tokio::task::spawn_blocking(move || {
        let packet = Packet::decode(&packet).map_err(|e| AdminError::Internal(e.to_string()))?;
        let picture = yail_core::render_at_aspect(&packet, tv)
            .map_err(|e| AdminError::Internal(e.to_string()))?;
        Ok::<_, AdminError>(picture.to_png())
    })
    .await
    .map_err(|e| AdminError::Internal(e.to_string()))??;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        png,
    )
        .into_response())
}

pub(super) fn packet_download(packet: Arc<[u8]>, name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        packet.to_vec(),
    )
        .into_response()
}

pub(super) async fn session_picture(
    State(shared): State<Arc<AdminShared>>,
    Path(id): Path<u64>,
) -> Result<Response, AdminError> {
    let picture = shared
        .services
        .state()
        .sessions()
        .into_iter()
        .find(|s| s.id == id)
        .and_then(|s| s.last_picture)
        .ok_or_else(|| AdminError::NotFound(format!("a picture of session {id}")))?;
    preview_png(Arc::clone(&picture.packet), shared.services.config().tv).await
}

pub(super) async fn recent_file(
    State(shared): State<Arc<AdminShared>>,
    Path(file): Path<String>,
) -> Result<Response, AdminError> {
    let not_found = || AdminError::NotFound(format!("recent picture {file}"));
    let (seq, extension) = file.split_once('.').ok_or_else(not_found)?;
    let seq: u64 = seq.parse().map_err(|_| not_found())?;
    let picture = shared
        .services
        .state()
        .recent_pictures()
        .get(seq)
        .ok_or_else(not_found)?;
    match extension {
        "png" => preview_png(Arc::clone(&picture.packet), shared.services.config().tv).await,
        "yail" => Ok(packet_download(
            Arc::clone(&picture.packet),
            &format!("picture-{seq}-{}.yail", picture.mode),
        )),
        _ => Err(not_found()),
    }
}

fn secret(value: &Option<String>) -> &'static str {
    match value {
        Some(v) if !v.is_empty() => "set (hidden)",
        _ => "not set",
    }
}

#[derive(Serialize)]
struct RuntimeView<'a> {
    default_model: &'a Option<String>,
    allowed_models: &'a [String],
    search_engine: &'a Option<String>,
    picture_paths: &'a [PathBuf],
}

fn config_json(shared: &AdminShared) -> Value {
    let c = &shared.services.config();
    let runtime = shared.services.state().runtime_settings();
    json!({
        "effective": {
            "paths": c.paths,
            "rescan_interval_secs": c.rescan_interval.map(|d| d.as_secs()),
            "extensions": c.extensions,
            "random_modes": c.random_modes.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "cache_bytes": c.cache_bytes,
            "max_connections": c.max_connections,
            "idle_timeout_secs": c.idle_timeout.as_secs(),
            "request_timeout_secs": c.request_timeout.as_secs(),
            "max_command_len": c.max_command_len,
            "workers": c.workers,
            "prefetch": c.prefetch,
            "blend": format!("{:?}", c.blend),
            "tv": format!("{:?}", c.tv),
            "openai_api_key": secret(&c.openai_api_key),
            "gemini_api_key": secret(&c.gemini_api_key),
            "admin_token": if shared.token.is_some() { "set (hidden)" } else { "not set" },
        },
        "runtime": RuntimeView {
            default_model: &runtime.default_model,
            allowed_models: &runtime.allowed_models,
            search_engine: &runtime.search_engine,
            picture_paths: &runtime.picture_paths,
        },
        "files": shared.services.state().file_count(),
    })
}

pub(super) async fn config(State(shared): State<Arc<AdminShared>>) -> Json<Value> {
    Json(config_json(&shared))
}

/// A change to the runtime settings: absent fields stay as they are; an
/// empty string clears an optional one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigChange {
    default_model: Option<String>,
    allowed_models: Option<Vec<String>>,
    search_engine: Option<String>,
    picture_paths: Option<Vec<PathBuf>>,
    /// Scan the picture folders again (done anyway when they change).
    #[serde(default)]
    rescan: bool,
}

fn name(value: String, what: &str) -> Result<Option<String>, AdminError> {
    let value = value.trim().to_string();
    let printable = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c));
    if value.len() > MAX_NAME || !printable {
        return Err(AdminError::BadRequest(format!(
            "{what}: at most {MAX_NAME} letters, digits and - _ . : /"
        )));
    }
    Ok((!value.is_empty()).then_some(value))
}

fn apply(change: ConfigChange, current: &RuntimeSettings) -> Result<RuntimeSettings, AdminError> {
    let mut next = current.clone();
    if let Some(model) = change.default_model {
        next.default_model = name(model, "default_model")?;
    }
    if let Some(models) = change.allowed_models {
        if models.len() > MAX_LIST {
            return Err(AdminError::BadRequest(format!(
                "allowed_models: at most {MAX_LIST}"
            )));
        }
        next.allowed_models = models
            .into_iter()
            .map(|m| name(m, "allowed_models"))
            .filter_map(Result::transpose)
            .collect::<Result<_, _>>()?;
    }
    if let Some(engine) = change.search_engine {
        next.search_engine = name(engine, "search_engine")?;
    }
    if let Some(paths) = change.picture_paths {
        if paths.len() > MAX_LIST {
            return Err(AdminError::BadRequest(format!(
                "picture_paths: at most {MAX_LIST}"
            )));
        }
        if let Some(missing) = paths.iter().find(|p| !p.exists()) {
            return Err(AdminError::BadRequest(format!(
                "picture_paths: {} does not exist",
                missing.display()
            )));
        }
        next.picture_paths = paths;
    }
    Ok(next)
}

pub(super) async fn change_config(
    State(shared): State<Arc<AdminShared>>,
    Json(change): Json<ConfigChange>,
) -> Result<Json<Value>, AdminError> {
    let rescan = change.rescan || change.picture_paths.is_some();
    let before = shared.services.state().runtime_settings();
    let next = apply(change, &before)?;
    let changed = next != *before;
    shared.services.state().set_runtime_settings(next.clone());
    if changed {
        tracing::info!(?next, "runtime settings changed from the admin page");
    }
    let mut problems = Vec::new();
    if rescan {
        problems = rescan_pictures(&shared, next.picture_paths).await?;
    }
    let mut answer = config_json(&shared);
    answer["problems"] = json!(problems);
    Ok(Json(answer))
}

/// Replaces the catalogue with a scan of `paths` (the built-in gallery when
/// there are none); returns what was skipped.
async fn rescan_pictures(
    shared: &AdminShared,
    paths: Vec<PathBuf>,
) -> Result<Vec<String>, AdminError> {
    let (state, extensions) = (
        shared.services.state(),
        &shared.services.config().extensions,
    );
    let problems = catalogue::rescan(state, paths, extensions.clone())
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    tracing::info!(
        pictures = state.file_count(),
        "rescanned picture folders from the admin page"
    );
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(json: &str) -> ConfigChange {
        serde_json::from_str(json).expect("valid change")
    }

    #[test]
    fn absent_fields_stay_and_empty_strings_clear() {
        let current = RuntimeSettings {
            default_model: Some("m1".into()),
            search_engine: Some("duckduckgo".into()),
            ..RuntimeSettings::default()
        };
        let next = apply(change(r#"{"search_engine": ""}"#), &current).expect("valid");
        assert_eq!(next.default_model.as_deref(), Some("m1"));
        assert_eq!(next.search_engine, None);
        let next =
            apply(change(r#"{"allowed_models": ["a", " ", "b"]}"#), &current).expect("valid");
        assert_eq!(next.allowed_models, ["a", "b"]);
    }

    #[test]
    fn hostile_values_are_refused() {
        let current = RuntimeSettings::default();
        assert!(apply(change(r#"{"default_model": "<script>"}"#), &current).is_err());
        let long = format!(r#"{{"default_model": "{}"}}"#, "a".repeat(MAX_NAME + 1));
        assert!(apply(change(&long), &current).is_err());
        assert!(
            apply(
                change(r#"{"picture_paths": ["/no/such/folder/here"]}"#),
                &current
            )
            .is_err()
        );
        assert!(serde_json::from_str::<ConfigChange>(r#"{"openai_api_key": "x"}"#).is_err());
    }
}
