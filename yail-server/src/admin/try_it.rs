//! "Try it": one uploaded picture converted to every graphics mode, shown
//! side by side with a download of each packet.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use yail_core::Settings;
use yail_proto::GfxMode;

use super::api::{packet_download, preview_png};
use super::error::AdminError;
use super::shared::AdminShared;
use super::tries::{KEPT_TRIES, Try};
use crate::services::catalogue::gallery;

/// Every mode a packet can be encoded in (not "random").
fn modes() -> impl Iterator<Item = GfxMode> {
    GfxMode::ALL.into_iter().filter(|m| *m != GfxMode::Random)
}

/// Whether a body declared as `content_type` may be a picture: `image/*`
/// or `application/octet-stream`. Anything else is refused, and with it
/// the bodies another site's page can post without asking the browser
/// first (`text/plain`, form encodings).
fn may_be_a_picture(content_type: Option<&str>) -> bool {
    let essence = content_type
        .and_then(|value| value.split(';').next())
        .map(|essence| essence.trim().to_ascii_lowercase());
    essence.is_some_and(|e| e.starts_with("image/") || e == "application/octet-stream")
}

/// Converts the request body (an encoded picture) to every mode, through
/// the server's pipeline: its worker slots and decode memory budget, so a
/// picture the Ataris could not be sent is not converted here either.
pub(super) async fn upload(
    State(shared): State<Arc<AdminShared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AdminError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !may_be_a_picture(content_type) {
        return Err(AdminError::UnsupportedMedia(format!(
            "send the picture as image/* or application/octet-stream, not {}",
            content_type.unwrap_or("a body without a Content-Type")
        )));
    }
    if body.is_empty() {
        return Err(AdminError::BadRequest(
            "send the picture's bytes as the request body".into(),
        ));
    }
    let _turn = shared
        .tries
        .one_at_a_time
        .acquire()
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let config = &shared.services.config();
    let mut base = Settings::new(GfxMode::Gr8);
    base.blend = config.blend;
    base.tv = config.tv;
    let pipeline = shared.services.pipeline();
    let mut results = Vec::new();
    for mode in modes() {
        let started = Instant::now();
        let converted = pipeline
            .convert_uncached("the upload", body.clone(), base.with_mode(mode))
            .await
            .map(|p| Arc::<[u8]>::from(p.bytes.as_ref()));
        results.push((mode, started.elapsed(), converted));
    }

    let id = shared.tries.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    let mut packets = Vec::new();
    let mut shown = Vec::new();
    for (mode, took, converted) in results {
        let wire = mode.wire();
        let mut entry = json!({
            "mode": wire,
            "name": mode.name(),
            "took_ms": took.as_secs_f64() * 1000.0,
        });
        match converted {
            Ok(packet) => {
                entry["bytes"] = json!(packet.len());
                entry["image"] = json!(format!("/api/try/{id}/{wire}.png"));
                entry["packet"] = json!(format!("/api/try/{id}/{wire}.yail"));
                packets.push((wire, packet));
            }
            Err(e) => entry["error"] = json!(e.to_string()),
        }
        shown.push(entry);
    }
    if packets.is_empty() {
        let reason = shown
            .first()
            .and_then(|e| e["error"].as_str())
            .unwrap_or("no mode converted")
            .to_string();
        return Err(AdminError::BadRequest(format!(
            "not a picture this server can convert: {reason}"
        )));
    }
    shared.tries.keep(Arc::new(Try { id, packets }));
    Ok(Json(json!({ "id": id, "modes": shown })))
}

/// `/api/try/{id}/{wire}.png` (the preview) or `.yail` (the packet).
pub(super) async fn file(
    State(shared): State<Arc<AdminShared>>,
    Path((id, file)): Path<(u64, String)>,
) -> Result<Response, AdminError> {
    let not_found = || {
        AdminError::NotFound(format!(
            "try {id}/{file} (only the last {KEPT_TRIES} are kept)"
        ))
    };
    let (wire, extension) = file.split_once('.').ok_or_else(not_found)?;
    let wire: u8 = wire.parse().map_err(|_| not_found())?;
    let attempt = shared.tries.get(id).ok_or_else(not_found)?;
    let packet = attempt
        .packets
        .iter()
        .find(|(w, _)| *w == wire)
        .map(|(_, p)| Arc::clone(p))
        .ok_or_else(not_found)?;
    match extension {
        "png" => preview_png(packet, shared.services.config().tv).await,
        "yail" => {
            let name = GfxMode::from_wire(wire).map_or("packet", |m| m.name());
            Ok(packet_download(packet, &format!("try-{id}-{name}.yail")))
        }
        _ => Err(not_found()),
    }
}

/// A picture from the built-in gallery, for trying the page without one
/// at hand.
pub(super) async fn sample() -> Response {
    match gallery::find("rocket.jpg").or_else(|| gallery::GALLERY.first()) {
        Some(image) => ([(header::CONTENT_TYPE, "image/jpeg")], image.bytes).into_response(),
        None => AdminError::NotFound("a sample picture".into()).into_response(),
    }
}
