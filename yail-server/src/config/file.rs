//! Reading a settings file: TOML, one `key = value` line per setting, the
//! keys named like the flags (`max_per_ip = 16`). Every key and value is
//! checked before the server starts; an error names the file, the line
//! and the key.

use std::path::Path;

use clap::{Arg, Command};
use toml_edit::{Document, Item, Value};

use super::error::ConfigError;
use super::layer::{self, Layer, Origin, Setting};

/// Which keys a file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    /// Every setting (the operator's `--config`).
    All,
    /// Only these (the admin page's `--runtime-file`: a file the server
    /// writes may not change anything else).
    Only(&'static [&'static str]),
}

/// Reads the settings file at `path` as a layer of the flags of `command`.
pub(crate) fn read(path: &Path, command: &Command, keys: Keys) -> Result<Layer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, command, keys)
}

/// Like [`read`], from the file's text.
pub(crate) fn parse(
    path: &Path,
    text: &str,
    command: &Command,
    keys: Keys,
) -> Result<Layer, ConfigError> {
    let document = Document::parse(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim().to_string(),
    })?;
    let root = document.as_table();
    let mut layer = Layer::new();
    for (key, item) in root.iter() {
        let line = root
            .key(key)
            .and_then(|k| k.span())
            .map_or(0, |span| line_of(text, span.start));
        let unknown = |hint: String| ConfigError::UnknownKey {
            path: path.to_path_buf(),
            line,
            key: key.to_string(),
            hint,
        };
        if !item.is_value() {
            return Err(ConfigError::BadValue {
                path: path.to_path_buf(),
                line,
                key: key.to_string(),
                reason: String::from(
                    "a [section]; settings are plain `key = value` lines, without sections",
                ),
            });
        }
        let arg = match layer::arg_of(command, key) {
            Some(arg) if keys_allow(keys, key) => arg,
            Some(_) => return Err(unknown(only_hint(keys))),
            None => return Err(unknown(unknown_hint(command, key, keys))),
        };
        let bad = |reason: String| ConfigError::BadValue {
            path: path.to_path_buf(),
            line,
            key: key.to_string(),
            reason,
        };
        let values = values_of(arg, item).map_err(bad)?;
        for value in &values {
            layer::check_value(arg, value).map_err(bad)?;
        }
        layer.insert(
            arg.get_id().to_string(),
            Setting {
                values,
                origin: Origin::File {
                    path: path.to_path_buf(),
                    line,
                },
            },
        );
    }
    Ok(layer)
}

fn keys_allow(keys: Keys, key: &str) -> bool {
    match keys {
        Keys::All => true,
        Keys::Only(allowed) => allowed.contains(&key),
    }
}

fn only_hint(keys: Keys) -> String {
    match keys {
        Keys::All => String::new(),
        Keys::Only(allowed) => format!("; this file may hold only {}", allowed.join(", ")),
    }
}

/// A likely meaning of an unknown key: the flag's spelling with `-`, or a
/// key in a table the file should not have.
fn unknown_hint(command: &Command, key: &str, keys: Keys) -> String {
    let underscored = key.trim_start_matches('-').replace('-', "_");
    if underscored != key && layer::arg_of(command, &underscored).is_some() {
        return format!("; keys are written with _: {underscored}");
    }
    match keys {
        Keys::All => String::from("; the keys are the flags of `yail-server --help`, with _ for -"),
        Keys::Only(_) => only_hint(keys),
    }
}

/// The line (from 1) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The values a TOML value stands for, as text the flag's parser takes.
fn values_of(arg: &Arg, item: &Item) -> Result<Vec<String>, String> {
    let Some(value) = item.as_value() else {
        return Err(String::from("a [section], where a value belongs"));
    };
    let switch = layer::is_switch(arg);
    let list = layer::is_list(arg);
    match value {
        Value::Boolean(b) if switch => Ok(vec![b.value().to_string()]),
        _ if switch => Err(String::from("expected true or false")),
        Value::Boolean(_) => Err(String::from(
            "true and false are only for on/off settings; this one takes a value",
        )),
        Value::String(s) if list => Ok(layer::split_list(arg, s.value())),
        Value::Array(items) if list => items.iter().map(scalar).collect(),
        Value::Array(_) => Err(String::from("expected one value, not a list")),
        other => scalar(other).map(|value| vec![value]),
    }
}

/// A string or a number, as text.
fn scalar(value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.value().clone()),
        Value::Integer(i) => Ok(i.value().to_string()),
        Value::Float(f) => Ok(f.value().to_string()),
        _ => Err(format!(
            "expected a string or a number, not {}",
            value.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::CommandFactory;

    use super::*;
    use crate::config::args::Args;

    fn parse_all(text: &str) -> Result<Layer, ConfigError> {
        parse(
            Path::new("/etc/yail/yail.toml"),
            text,
            &Args::command(),
            Keys::All,
        )
    }

    fn values(layer: &Layer, id: &str) -> Vec<String> {
        layer[id].values.clone()
    }

    #[test]
    fn every_kind_of_value_becomes_what_the_flag_takes() {
        let layer = parse_all(
            "# a comment\nport = 6000\nno_prefetch = true\npaths = [\"/srv/a\", \"/srv/b\"]\n\
             extensions = \"jpg,png\"\nrandom_modes = [\"gr9\", 4]\nadmin_host = [\"pi.local\"]\n",
        )
        .expect("valid");
        assert_eq!(values(&layer, "port"), ["6000"]);
        assert_eq!(values(&layer, "no_prefetch"), ["true"]);
        assert_eq!(values(&layer, "paths"), ["/srv/a", "/srv/b"]);
        assert_eq!(values(&layer, "extensions"), ["jpg", "png"]);
        assert_eq!(values(&layer, "random_modes"), ["gr9", "4"]);
        // Keyed by the flag's id, which is the field's name.
        assert_eq!(values(&layer, "admin_hosts"), ["pi.local"]);
        assert_eq!(
            layer["paths"].origin,
            Origin::File {
                path: PathBuf::from("/etc/yail/yail.toml"),
                line: 4
            }
        );
    }

    #[test]
    fn an_unknown_key_names_the_file_line_and_key() {
        let error = parse_all("port = 6000\n\nmax-per-ip = 3\n").expect_err("kebab key");
        let shown = error.to_string();
        assert!(
            shown.starts_with("/etc/yail/yail.toml, line 3: unknown key `max-per-ip`"),
            "{shown}"
        );
        assert!(shown.contains("max_per_ip"), "{shown}");
        let shown = parse_all("colour = \"blue\"\n")
            .expect_err("no such key")
            .to_string();
        assert!(shown.contains("line 1: unknown key `colour`"), "{shown}");
        // The files located before this one are not keys of it.
        assert!(parse_all("config = \"/etc/other.toml\"\n").is_err());
        assert!(parse_all("env_file = \"/etc/x.env\"\n").is_err());
    }

    #[test]
    fn a_bad_value_names_the_file_line_key_and_reason() {
        let cases = [
            ("\n\nport = 70000\n", "line 3: `port`", "65535"),
            ("port = \"x\"\n", "line 1: `port`", "invalid digit"),
            (
                "search_engine = \"google\"\n",
                "line 1: `search_engine`",
                "duckduckgo or searxng",
            ),
            (
                "no_prefetch = \"yes\"\n",
                "line 1: `no_prefetch`",
                "true or false",
            ),
            ("gen_model = true\n", "line 1: `gen_model`", "on/off"),
            ("port = [1, 2]\n", "line 1: `port`", "not a list"),
            ("[admin]\nport = 1\n", "line 1: `admin`", "[section]"),
            ("port = { value = 1 }\n", "line 1: `port`", "inline table"),
            (
                "random_modes = [\"gr99\"]\n",
                "line 1: `random_modes`",
                "gr99",
            ),
            ("log_format = \"xml\"\n", "line 1: `log_format`", "json"),
        ];
        for (text, place, reason) in cases {
            let shown = parse_all(text).expect_err(text).to_string();
            assert!(
                shown.contains(place) && shown.contains(reason),
                "{text:?}: {shown}"
            );
            assert!(shown.starts_with("/etc/yail/yail.toml"), "{shown}");
        }
    }

    #[test]
    fn a_file_that_is_not_toml_says_where() {
        let shown = parse_all("port = 6000\nthis is not toml\n")
            .expect_err("syntax")
            .to_string();
        assert!(
            shown.contains("/etc/yail/yail.toml") && shown.contains("line 2"),
            "{shown}"
        );
    }

    #[test]
    fn the_installed_example_loads_and_each_commented_key_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/yail.toml.example");
        let text = std::fs::read_to_string(&path).expect("deploy/yail.toml.example");
        let command = Args::command();
        assert!(
            parse(&path, &text, &command, Keys::All)
                .expect("loads")
                .is_empty()
        );
        // Uncommented, every `#key = value` line is a key with a good value.
        let uncommented: String = text
            .lines()
            .filter_map(|line| line.strip_prefix('#'))
            .filter(|line| {
                line.split_once(" = ")
                    .is_some_and(|(k, _)| !k.contains(' '))
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let layer =
            parse(&path, &uncommented, &command, Keys::All).expect("every example is valid");
        assert!(layer.len() >= 15, "{} keys", layer.len());
    }

    #[test]
    fn a_runtime_file_may_hold_only_its_keys() {
        let only = Keys::Only(&["gen_model", "paths"]);
        let path = Path::new("/var/lib/yail/runtime.toml");
        let command = Args::command();
        assert!(parse(path, "gen_model = \"m\"\n", &command, only).is_ok());
        let shown = parse(
            path,
            "gen_model = \"m\"\nadmin_bind = \"0.0.0.0\"\n",
            &command,
            only,
        )
        .expect_err("not an admin page setting")
        .to_string();
        assert!(
            shown.contains("line 2: unknown key `admin_bind`"),
            "{shown}"
        );
        assert!(shown.contains("only gen_model, paths"), "{shown}");
    }
}
