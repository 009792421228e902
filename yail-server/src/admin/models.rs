//! The generation models in use (`GET /api/models`) and the operator's
//! self-check (`POST /api/check`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::api::unix_millis;
use super::shared::AdminShared;

/// Each generation provider: whether it has a key, its model as
/// configured, the model in use and why, and how its model list was read.
pub(super) async fn models(State(shared): State<Arc<AdminShared>>) -> Json<Value> {
    let providers: Vec<Value> = shared
        .services
        .generator()
        .models_in_use()
        .into_iter()
        .map(|view| {
            json!({
                "provider": view.backend.name(),
                "key": view.key,
                "configured": view.configured,
                "in_use": view.key.then_some(&view.in_use.model),
                "why": if view.key { view.in_use.why.to_string() } else { String::from("no key") },
                "replaced": view.key && view.in_use.why.replaced().is_some(),
                "list_read_unix_ms": view.listed.map(|(at, _)| unix_millis(at)),
                "models_listed": view.listed.map(|(_, count)| count),
                "list_failure": view.failure.map(|e| e.to_string()),
            })
        })
        .collect();
    Json(json!({ "providers": providers }))
}

/// Tries each configured source once (`yail-server --check`), within a
/// bounded time per source. A POST: it sends requests out (a search, the
/// model lists), so another site's page must not be able to start it.
pub(super) async fn check(State(shared): State<Arc<AdminShared>>) -> Json<Value> {
    let report = shared.services.check().await;
    Json(json!({ "lines": report.lines, "broken": report.broken() }))
}
