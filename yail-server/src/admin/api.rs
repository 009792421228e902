//! The JSON API behind the status pages (the server, its sessions, the
//! pictures sent lately) and the pictures it links to. The settings
//! endpoints are in `settings`; the models and the self-check in `models`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use yail_core::TvStandard;
use yail_proto::{GfxMode, Packet};
use yail_state::{HistogramSnapshot, SentPicture};

use super::error::AdminError;
use super::shared::AdminShared;

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
    let generator = shared.services.generator();
    let budget = generator.budget();
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
        // The generation budget (--gen-per-day; per_day 0: no limit).
        "generation": {
            "configured": generator.is_configured(),
            "per_day": budget.per_day,
            "used": budget.used,
            "left": budget.left(),
            "next_free_secs": budget.next_free_in.map(|d| d.as_secs()),
        },
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
