//! Environment variables under other names than `YAIL_<FLAG>`: the names
//! OpenAI's and Google's own tools read (taken quietly), the names of an
//! earlier version of this server, and those of the Python YAIL servers
//! (taken with a warning naming the new one, or ignored with a warning
//! saying why). They sit below the `YAIL_` variables and above the
//! settings file: a `YAIL_` variable or a flag wins over them.
//!
//! The Python servers' names are those their `env.example` files and
//! README document (dillera/fujinet-yail-server 1.x and 2.0).

use clap::Command;

use super::error::ConfigError;
use super::layer::{self, Layer, Origin, Setting};

/// What a variable under another name becomes.
enum Rule {
    /// Another program's name for the same setting (`OPENAI_API_KEY`):
    /// read without a warning.
    Alias(&'static str),
    /// An older name for the same setting: read, with a warning.
    Renamed(&'static str),
    /// A Python server's name: read through `convert`, with a warning.
    Python(&'static str, fn(&str) -> Converted),
    /// A Python server's setting this server has no equivalent for.
    Ignored(&'static str),
}

/// A Python value as this server's, or why it is not taken.
enum Converted {
    Value(String),
    Skipped(String),
}

/// Every name, in the order they are looked at: the first one found for a
/// setting wins (`GEN_MODEL` before `OPENAI_MODEL`).
const RULES: &[(&str, Rule)] = &[
    ("OPENAI_API_KEY", Rule::Alias("openai_api_key")),
    ("OPENAI_BASE_URL", Rule::Alias("openai_base_url")),
    ("GEMINI_API_KEY", Rule::Alias("gemini_api_key")),
    ("GEMINI_BASE_URL", Rule::Alias("gemini_base_url")),
    ("YAIL_ALLOW_URL_NETS", Rule::Renamed("allow_url_net")),
    ("YAIL_ADMIN_HOSTS", Rule::Renamed("admin_host")),
    ("GEN_MODEL", Rule::Python("gen_model", model)),
    ("OPENAI_MODEL", Rule::Python("gen_model", model)),
    ("OPENAI_SIZE", Rule::Python("gen_size", size)),
    ("OPENAI_QUALITY", Rule::Python("gen_quality", quality)),
    ("FILES_PATH", Rule::Python("paths", same)),
    (
        "STREAM_DOWNLOAD_TIMEOUT",
        Rule::Python("fetch_timeout", whole_seconds),
    ),
    ("LOGLEVEL", Rule::Python("log_level", log_level)),
    (
        "OPENAI_STYLE",
        Rule::Ignored("a DALL-E 3 setting; the GPT image models have no style"),
    ),
    (
        "OPENAI_SYSTEM_PROMPT",
        Rule::Ignored("the images API takes the prompt alone"),
    ),
    (
        "GRAPHICS_MODE",
        Rule::Ignored("each Atari chooses its own mode (`gfx`)"),
    ),
    (
        "STREAM_ENABLED",
        Rule::Ignored("`next` always works; --no-prefetch only stops preparing the next picture"),
    ),
    (
        "STREAM_MAX_RETRIES",
        Rule::Ignored("broken files and search results are skipped, at most 5 per request"),
    ),
    (
        "STREAM_RETRY_WAIT",
        Rule::Ignored("a broken picture is skipped at once"),
    ),
    (
        "SEARCH_BACKENDS",
        Rule::Ignored("choose the search service with --search-engine (YAIL_SEARCH_ENGINE)"),
    ),
    (
        "SEARCH_MAX_RESULTS",
        Rule::Ignored("a search keeps the results its first page gives"),
    ),
];

/// The layer of variables under other names that `lookup` finds, and the
/// warnings to log about them.
pub(crate) struct Variables {
    pub(crate) layer: Layer,
    pub(crate) warnings: Vec<String>,
}

/// Reads the variables of [`RULES`] with `lookup` (the process
/// environment, or a test's map), for the flags of `command`.
pub(crate) fn read(
    command: &Command,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Variables, ConfigError> {
    let mut found = Variables {
        layer: Layer::new(),
        warnings: Vec::new(),
    };
    let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    for (name, rule) in RULES {
        let Some(text) = set(name) else { continue };
        let (key, value) = match rule {
            Rule::Alias(key) => (*key, text),
            Rule::Renamed(key) => (*key, text),
            Rule::Python(key, convert) => match python_value(name, &text, convert, &set) {
                Converted::Value(value) => (*key, value),
                Converted::Skipped(why) => {
                    found.warnings.push(format!(
                        "{name} (a Python YAIL server's variable) is not read: {why}; \
                         set {} instead",
                        env_of(command, key)
                    ));
                    continue;
                }
            },
            Rule::Ignored(why) => {
                found.warnings.push(format!(
                    "{name} (a Python YAIL server's variable) is ignored: {why}"
                ));
                continue;
            }
        };
        let Some(arg) = layer::arg_of(command, key) else {
            continue;
        };
        let new_name = env_of(command, key);
        let flag = format!("--{}", arg.get_long().unwrap_or(key));
        let overridden = set(&new_name).is_some();
        let python = "(a Python YAIL server's variable)";
        let warning = match rule {
            Rule::Alias(_) => None,
            Rule::Renamed(_) if overridden => Some(format!(
                "{name} is ignored: it is now {new_name} ({flag}), which is set"
            )),
            Rule::Renamed(_) => Some(format!(
                "{name} is read as {new_name} ({flag}), its new name: rename it"
            )),
            _ if overridden => Some(format!(
                "{name} {python} is ignored: {new_name} ({flag}) is set"
            )),
            _ => Some(format!(
                "{name} {python} is read as {new_name} ({flag}): rename it"
            )),
        };
        found.warnings.extend(warning);
        if overridden || found.layer.contains_key(arg.get_id().as_str()) {
            continue;
        }
        let values = if layer::is_list(arg) {
            layer::split_list(arg, &value)
        } else {
            vec![value]
        };
        for value in &values {
            layer::check_value(arg, value).map_err(|reason| ConfigError::BadVariable {
                variable: (*name).to_string(),
                flag: flag.clone(),
                reason,
            })?;
        }
        found.layer.insert(
            arg.get_id().to_string(),
            Setting {
                values,
                origin: Origin::Variable(name),
            },
        );
    }
    Ok(found)
}

/// The value of a Python server's variable, with the one setting that
/// depends on another: the 2.0 server served `FILES_PATH` only with
/// `FILES_ENABLED=true`.
fn python_value(
    name: &str,
    text: &str,
    convert: &fn(&str) -> Converted,
    set: &dyn Fn(&str) -> Option<String>,
) -> Converted {
    if name == "FILES_PATH" {
        let enabled = set("FILES_ENABLED").is_some_and(|v| {
            matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
        });
        if !enabled {
            return Converted::Skipped(String::from(
                "FILES_ENABLED is not true, and the Python server served no files then",
            ));
        }
    }
    convert(text.trim())
}

/// The `YAIL_` variable of the setting `key`.
fn env_of(command: &Command, key: &str) -> String {
    layer::arg_of(command, key)
        .and_then(|arg| arg.get_env())
        .map_or_else(
            || format!("YAIL_{}", key.to_ascii_uppercase()),
            |env| env.to_string_lossy().into_owned(),
        )
}

fn same(text: &str) -> Converted {
    Converted::Value(text.to_string())
}

/// The Python servers' default was `dall-e-3`, and a bare `gemini` stood
/// for their own choice of Gemini model: neither names a model to use.
fn model(text: &str) -> Converted {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("dall-e") {
        Converted::Skipped(format!(
            "{text} is a model OpenAI has retired, so --gen-model keeps its default"
        ))
    } else if lower == "gemini" {
        Converted::Skipped(String::from(
            "a bare `gemini` stood for the Python server's choice of Gemini model; \
             name the model (gemini-...)",
        ))
    } else {
        Converted::Value(text.to_string())
    }
}

/// DALL-E's qualities (`standard`, `hd`) are not the GPT image models'.
fn quality(text: &str) -> Converted {
    match text.to_ascii_lowercase().as_str() {
        "standard" | "hd" => Converted::Skipped(format!(
            "{text} is a DALL-E quality; the GPT image models take low, medium, high or auto"
        )),
        other => Converted::Value(other.to_string()),
    }
}

/// DALL-E's own sizes are refused by the GPT image models.
fn size(text: &str) -> Converted {
    match text {
        "1792x1024" | "1024x1792" | "256x256" | "512x512" => Converted::Skipped(format!(
            "{text} is a DALL-E size, so --gen-size keeps its default"
        )),
        other => Converted::Value(other.to_string()),
    }
}

/// The Python servers took fractional seconds; the flag takes whole ones.
fn whole_seconds(text: &str) -> Converted {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
            Converted::Value(format!("{}", secs.ceil() as u64))
        }
        _ => Converted::Value(text.to_string()),
    }
}

/// Python's level names in capitals, and `CRITICAL`, which tracing lacks.
fn log_level(text: &str) -> Converted {
    match text.to_ascii_lowercase().as_str() {
        "critical" => Converted::Value(String::from("error")),
        "warning" => Converted::Value(String::from("warn")),
        other => Converted::Value(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::CommandFactory;

    use super::*;
    use crate::config::args::Args;

    fn read_from(pairs: &[(&str, &str)]) -> Variables {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        read(&Args::command(), &|name| env.get(name).cloned()).expect("valid variables")
    }

    fn value(found: &Variables, id: &str) -> Option<Vec<String>> {
        found.layer.get(id).map(|s| s.values.clone())
    }

    #[test]
    fn python_names_are_read_with_one_warning_naming_the_new_variable() {
        let found = read_from(&[
            ("GEN_MODEL", "gpt-image-1.5"),
            ("OPENAI_SIZE", "1536x1024"),
            ("OPENAI_QUALITY", "MEDIUM"),
            ("FILES_PATH", "/srv/pictures"),
            ("FILES_ENABLED", "true"),
            ("STREAM_DOWNLOAD_TIMEOUT", "5.5"),
            ("LOGLEVEL", "CRITICAL"),
        ]);
        assert_eq!(
            value(&found, "gen_model"),
            Some(vec!["gpt-image-1.5".into()])
        );
        assert_eq!(value(&found, "gen_size"), Some(vec!["1536x1024".into()]));
        assert_eq!(value(&found, "gen_quality"), Some(vec!["medium".into()]));
        assert_eq!(value(&found, "paths"), Some(vec!["/srv/pictures".into()]));
        assert_eq!(value(&found, "fetch_timeout"), Some(vec!["6".into()]));
        assert_eq!(value(&found, "log_level"), Some(vec!["error".into()]));
        assert_eq!(
            found.layer["gen_model"].origin,
            Origin::Variable("GEN_MODEL")
        );
        assert_eq!(found.warnings.len(), 6, "{:#?}", found.warnings);
        let gen_model = &found.warnings[0];
        assert!(
            gen_model.starts_with("GEN_MODEL")
                && gen_model.contains("YAIL_GEN_MODEL (--gen-model)"),
            "{gen_model}"
        );
        assert!(found.warnings.iter().all(|w| !w.contains('\n')));
    }

    #[test]
    fn the_yail_name_wins_over_the_python_one_and_says_so() {
        let found = read_from(&[("GEN_MODEL", "m-old"), ("YAIL_GEN_MODEL", "m-new")]);
        assert_eq!(
            value(&found, "gen_model"),
            None,
            "clap reads YAIL_GEN_MODEL itself"
        );
        assert!(
            found.warnings[0].contains("ignored"),
            "{:?}",
            found.warnings
        );
        // GEN_MODEL before OPENAI_MODEL, as in the Python server.
        let found = read_from(&[("OPENAI_MODEL", "m-b"), ("GEN_MODEL", "m-a")]);
        assert_eq!(value(&found, "gen_model"), Some(vec!["m-a".into()]));
    }

    #[test]
    fn values_without_a_meaning_here_are_skipped_with_the_reason() {
        let found = read_from(&[
            ("GEN_MODEL", "dall-e-3"),
            ("OPENAI_QUALITY", "standard"),
            ("OPENAI_SIZE", "1792x1024"),
            ("FILES_PATH", "/srv/pictures"),
            ("OPENAI_STYLE", "vivid"),
            ("SEARCH_BACKENDS", "bing"),
        ]);
        assert!(found.layer.is_empty(), "{:?}", found.layer);
        assert_eq!(found.warnings.len(), 6, "{:#?}", found.warnings);
        assert!(found.warnings.iter().any(|w| w.contains("FILES_ENABLED")));
        assert!(
            found
                .warnings
                .iter()
                .any(|w| w.contains("retired") && w.contains("YAIL_GEN_MODEL"))
        );
        assert!(
            found
                .warnings
                .iter()
                .any(|w| w.starts_with("SEARCH_BACKENDS") && w.contains("--search-engine"))
        );
    }

    #[test]
    fn other_programs_names_are_read_quietly() {
        let found = read_from(&[
            ("OPENAI_API_KEY", "sk-x"),
            ("GEMINI_BASE_URL", "http://g.test"),
        ]);
        assert_eq!(value(&found, "openai_api_key"), Some(vec!["sk-x".into()]));
        assert_eq!(
            value(&found, "gemini_base_url"),
            Some(vec!["http://g.test".into()])
        );
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        let found = read_from(&[("OPENAI_API_KEY", "sk-x"), ("YAIL_OPENAI_API_KEY", "sk-y")]);
        assert_eq!(value(&found, "openai_api_key"), None);
    }

    #[test]
    fn renamed_yail_variables_are_read_and_split() {
        let found = read_from(&[("YAIL_ADMIN_HOSTS", "pi.local, nas.local")]);
        assert_eq!(
            value(&found, "admin_hosts"),
            Some(vec!["pi.local".into(), "nas.local".into()])
        );
        assert!(
            found.warnings[0].contains("YAIL_ADMIN_HOST (--admin-host)"),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let env: HashMap<&str, &str> = [("YAIL_ALLOW_URL_NETS", "not-a-network")].into();
        let error = read(&Args::command(), &|name| {
            env.get(name).map(|v| v.to_string())
        })
        .err()
        .expect("refused");
        let shown = error.to_string();
        assert!(
            shown.starts_with("environment variable YAIL_ALLOW_URL_NETS"),
            "{shown}"
        );
    }
}
