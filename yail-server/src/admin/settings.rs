//! The settings page's endpoints: the settings in force (`GET
//! /api/config`) and a change to the few the page edits (`POST
//! /api/config`), checked, saved to the settings file and only then applied.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use yail_state::RuntimeSettings;

use super::error::AdminError;
use super::shared::AdminShared;
use crate::config::{Config, SearchEngine};
use crate::services::catalogue;
use crate::sync::lock;

/// Longest model or engine name accepted from the settings form.
const MAX_NAME: usize = 100;
/// Most entries accepted in a list setting.
const MAX_LIST: usize = 64;
/// Longest picture folder name accepted from the settings form.
const MAX_PATH: usize = 4096;

/// The settings the settings page edits, by their keys, as they are now:
/// the page's own changes where it made some, else what the server
/// started with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Editable {
    gen_model: String,
    allowed_models: Vec<String>,
    search_engine: String,
    paths: Vec<PathBuf>,
}

fn editable(config: &Config, runtime: &RuntimeSettings) -> Editable {
    Editable {
        gen_model: runtime
            .default_model
            .clone()
            .unwrap_or_else(|| config.gen_model.clone()),
        allowed_models: runtime
            .allowed_models
            .clone()
            .unwrap_or_else(|| config.allowed_models.clone()),
        search_engine: runtime
            .search_engine
            .as_deref()
            .and_then(|name| name.parse::<SearchEngine>().ok())
            .unwrap_or(config.search_engine)
            .name()
            .to_string(),
        paths: runtime
            .picture_paths
            .clone()
            .unwrap_or_else(|| config.paths.clone()),
    }
}

/// The search engines the page may choose: DuckDuckGo, and SearXNG when
/// the server has its address.
fn search_engines(config: &Config) -> Vec<&'static str> {
    let mut engines = vec![SearchEngine::DuckDuckGo.name()];
    if config.searxng_url.is_some() {
        engines.push(SearchEngine::Searxng.name());
    }
    engines
}

fn config_json(shared: &AdminShared) -> Value {
    let config = shared.services.config();
    let settings = editable(config, &shared.services.state().runtime_settings());
    let mut effective: serde_json::Map<String, Value> = config
        .by_key()
        .into_iter()
        .map(|(key, value)| (key.to_string(), value))
        .collect();
    effective.insert(String::from("gen_model"), json!(settings.gen_model));
    effective.insert(
        String::from("allowed_models"),
        json!(settings.allowed_models),
    );
    effective.insert(String::from("search_engine"), json!(settings.search_engine));
    effective.insert(String::from("paths"), json!(settings.paths));
    effective.insert(
        String::from("admin_token"),
        json!(if shared.token.is_some() {
            "set (hidden)"
        } else {
            "not set"
        }),
    );
    let overridden: BTreeMap<&str, &str> = shared.settings.overridden().collect();
    json!({
        "effective": effective,
        "settings": settings,
        "search_engines": search_engines(config),
        "saved_to": shared.settings.path(),
        "overridden": overridden,
        "files": shared.services.state().file_count(),
    })
}

pub(super) async fn config(State(shared): State<Arc<AdminShared>>) -> Json<Value> {
    Json(config_json(&shared))
}

/// A change to the settings the page edits, by their keys: absent fields
/// stay as they are.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigChange {
    gen_model: Option<String>,
    allowed_models: Option<Vec<String>>,
    search_engine: Option<String>,
    paths: Option<Vec<PathBuf>>,
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

/// The settings after `change`, each checked: a model name, a search
/// engine the server can use, folders that exist.
fn apply(
    change: ConfigChange,
    current: &Editable,
    config: &Config,
) -> Result<Editable, AdminError> {
    let mut next = current.clone();
    if let Some(model) = change.gen_model {
        next.gen_model = name(model, "gen_model")?
            .ok_or_else(|| AdminError::BadRequest(String::from("gen_model: a model is needed")))?;
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
        let engine: SearchEngine = engine
            .trim()
            .parse()
            .map_err(|e| AdminError::BadRequest(format!("search_engine: {e}")))?;
        if !search_engines(config).contains(&engine.name()) {
            return Err(AdminError::BadRequest(String::from(
                "search_engine: searxng needs the address of a SearXNG instance \
                 (--searxng-url, or searxng_url in the settings file, and a restart)",
            )));
        }
        next.search_engine = engine.name().to_string();
    }
    if let Some(paths) = change.paths {
        if paths.len() > MAX_LIST {
            return Err(AdminError::BadRequest(format!("paths: at most {MAX_LIST}")));
        }
        let mut checked = Vec::with_capacity(paths.len());
        for path in paths {
            let Some(text) = path.to_str().map(str::trim).filter(|t| !t.is_empty()) else {
                continue;
            };
            if text.len() > MAX_PATH {
                return Err(AdminError::BadRequest(format!(
                    "paths: at most {MAX_PATH} characters each"
                )));
            }
            let path = PathBuf::from(text);
            if !path.exists() {
                return Err(AdminError::BadRequest(format!(
                    "paths: {} does not exist",
                    path.display()
                )));
            }
            checked.push(path);
        }
        next.paths = checked;
    }
    Ok(next)
}

/// The keys whose values differ, with the new values as the settings file
/// writes them.
fn differences(before: &Editable, after: &Editable) -> Vec<(&'static str, toml_edit::Value)> {
    let list = |items: &[String]| {
        toml_edit::Value::Array(
            items
                .iter()
                .map(String::as_str)
                .collect::<toml_edit::Array>(),
        )
    };
    let mut changed = Vec::new();
    if before.gen_model != after.gen_model {
        changed.push((
            "gen_model",
            toml_edit::Value::from(after.gen_model.as_str()),
        ));
    }
    if before.allowed_models != after.allowed_models {
        changed.push(("allowed_models", list(&after.allowed_models)));
    }
    if before.search_engine != after.search_engine {
        changed.push((
            "search_engine",
            toml_edit::Value::from(after.search_engine.as_str()),
        ));
    }
    if before.paths != after.paths {
        let paths: Vec<String> = after
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        changed.push(("paths", list(&paths)));
    }
    changed
}

/// What a change did.
struct Committed {
    changed: Vec<&'static str>,
    saved_to: Option<PathBuf>,
    paths: Vec<PathBuf>,
}

/// Checks `change`, saves what it changes and only then applies it, so the
/// file and the running server never disagree. Blocking: file I/O; one
/// change at a time.
fn commit(shared: &AdminShared, change: ConfigChange) -> Result<Committed, AdminError> {
    let _one_at_a_time = lock(&shared.changing);
    let (state, config) = (shared.services.state(), shared.services.config());
    let runtime = state.runtime_settings();
    let before = editable(config, &runtime);
    let after = apply(change, &before, config)?;
    let values = differences(&before, &after);
    let changed: Vec<&'static str> = values.iter().map(|(key, _)| *key).collect();
    let saved_to = if values.is_empty() {
        None
    } else {
        shared
            .settings
            .save(&values)
            .map_err(|e| AdminError::Internal(format!("nothing changed: {e}")))?
    };
    let mut next = (*runtime).clone();
    for key in &changed {
        match *key {
            "gen_model" => next.default_model = Some(after.gen_model.clone()),
            "allowed_models" => next.allowed_models = Some(after.allowed_models.clone()),
            "search_engine" => next.search_engine = Some(after.search_engine.clone()),
            _ => next.picture_paths = Some(after.paths.clone()),
        }
    }
    state.set_runtime_settings(next);
    Ok(Committed {
        changed,
        saved_to,
        paths: after.paths,
    })
}

pub(super) async fn change_config(
    State(shared): State<Arc<AdminShared>>,
    Json(change): Json<ConfigChange>,
) -> Result<Json<Value>, AdminError> {
    let rescan = change.rescan || change.paths.is_some();
    let committing = Arc::clone(&shared);
    let committed = tokio::task::spawn_blocking(move || commit(&committing, change))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))??;
    let mut notes = Vec::new();
    if !committed.changed.is_empty() {
        match &committed.saved_to {
            Some(file) => tracing::info!(
                changed = ?committed.changed,
                file = %file.display(),
                "settings changed on the admin page, and saved"
            ),
            None => {
                tracing::info!(changed = ?committed.changed, "settings changed on the admin page");
                notes.push(String::from(
                    "not saved: the server was started without a settings file (--config), \
                     so this lasts until it stops",
                ));
            }
        }
        for (key, source) in shared.settings.overridden() {
            if committed.changed.contains(&key) {
                notes.push(format!(
                    "{key} was set by {source}, which wins over the saved value when the \
                     server starts again"
                ));
            }
        }
    }
    let mut problems = Vec::new();
    if rescan {
        problems = rescan_pictures(&shared, committed.paths).await?;
    }
    let mut answer = config_json(&shared);
    answer["changed"] = json!(committed.changed);
    answer["notes"] = json!(notes);
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

    fn current() -> Editable {
        editable(&Config::default(), &RuntimeSettings::default())
    }

    #[test]
    fn the_form_starts_from_the_settings_in_force() {
        let config = Config {
            gen_model: String::from("m-config"),
            paths: vec![PathBuf::from("/srv/a")],
            ..Config::default()
        };
        let runtime = RuntimeSettings {
            allowed_models: Some(Vec::new()),
            search_engine: Some(String::from("duckduckgo")),
            ..RuntimeSettings::default()
        };
        let shown = editable(&config, &runtime);
        assert_eq!(shown.gen_model, "m-config");
        assert_eq!(shown.paths, [PathBuf::from("/srv/a")]);
        assert_eq!(shown.search_engine, "duckduckgo");
        assert!(shown.allowed_models.is_empty());
    }

    #[test]
    fn absent_fields_stay_and_only_differences_are_saved() {
        let before = current();
        let after = apply(
            change(r#"{"allowed_models": ["a", " ", "b"]}"#),
            &before,
            &Config::default(),
        )
        .expect("valid");
        assert_eq!(after.gen_model, before.gen_model);
        assert_eq!(after.allowed_models, ["a", "b"]);
        let saved: Vec<&str> = differences(&before, &after)
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(saved, ["allowed_models"]);
        let same = apply(
            change(r#"{"search_engine": "DuckDuckGo"}"#),
            &before,
            &Config::default(),
        )
        .expect("valid");
        assert!(differences(&before, &same).is_empty());
    }

    #[test]
    fn hostile_values_are_refused() {
        let (before, config) = (current(), Config::default());
        assert!(apply(change(r#"{"gen_model": "<script>"}"#), &before, &config).is_err());
        assert!(apply(change(r#"{"gen_model": ""}"#), &before, &config).is_err());
        let long = format!(r#"{{"gen_model": "{}"}}"#, "a".repeat(MAX_NAME + 1));
        assert!(apply(change(&long), &before, &config).is_err());
        assert!(
            apply(
                change(r#"{"paths": ["/no/such/folder/here"]}"#),
                &before,
                &config
            )
            .is_err()
        );
        assert!(serde_json::from_str::<ConfigChange>(r#"{"openai_api_key": "x"}"#).is_err());
        // The old, internal names are no keys.
        assert!(serde_json::from_str::<ConfigChange>(r#"{"default_model": "x"}"#).is_err());
    }

    #[test]
    fn regression_search_engine_accepts_only_engines_the_server_has() {
        let before = current();
        let google = apply(
            change(r#"{"search_engine": "google"}"#),
            &before,
            &Config::default(),
        );
        assert!(
            matches!(google, Err(AdminError::BadRequest(ref m)) if m.contains("duckduckgo or searxng"))
        );
        let without_url = apply(
            change(r#"{"search_engine": "searxng"}"#),
            &before,
            &Config::default(),
        );
        assert!(
            matches!(without_url, Err(AdminError::BadRequest(ref m)) if m.contains("--searxng-url"))
        );
        let with_url = Config {
            searxng_url: Some(String::from("http://searx.lan")),
            ..Config::default()
        };
        let chosen = apply(
            change(r#"{"search_engine": "searxng"}"#),
            &before,
            &with_url,
        )
        .expect("configured");
        assert_eq!(chosen.search_engine, "searxng");
    }
}
