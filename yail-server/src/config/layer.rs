//! A layer of settings below the flags and the environment: a settings
//! file, or variables under other names. Each setting is kept as the text
//! values a flag would get, checked by the flag's own parser, and with
//! where it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Command};

/// Flags that are no settings-file keys: they locate the files read before
/// it, or are actions.
pub(super) const NOT_KEYS: [&str; 5] = ["help", "version", "config", "env-file", "check"];

/// Where a setting below the flags and the environment came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of a settings file.
    File {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
    },
    /// An environment variable with another name than the flag's own.
    Variable(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}, line {line}", path.display()),
            Origin::Variable(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// One setting of a layer: the values as a flag would be given them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    pub(crate) values: Vec<String>,
    pub(crate) origin: Origin,
}

/// Settings by the id of the flag they set.
pub(crate) type Layer = BTreeMap<String, Setting>;

/// The settings-file key of `arg`: its long name with `_` for `-`; `None`
/// for a flag that is no key.
pub(crate) fn key_of(arg: &Arg) -> Option<String> {
    let long = arg.get_long()?;
    (!NOT_KEYS.contains(&long)).then(|| long.replace('-', "_"))
}

/// The flag whose key is `key`.
pub(crate) fn arg_of<'a>(command: &'a Command, key: &str) -> Option<&'a Arg> {
    command
        .get_arguments()
        .find(|arg| key_of(arg).as_deref() == Some(key))
}

/// Whether `arg` is an on/off switch (`--no-prefetch`).
pub(crate) fn is_switch(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue)
}

/// Whether `arg` takes a list (`--paths a b`, a repeatable flag).
pub(crate) fn is_list(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
        || arg.get_num_args().is_some_and(|n| n.max_values() > 1)
}

/// Splits a list given as one text the way the flag's environment
/// variable is split (`jpg,png`).
pub(crate) fn split_list(arg: &Arg, text: &str) -> Vec<String> {
    match arg.get_value_delimiter() {
        Some(delimiter) => text
            .split(delimiter)
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(String::from)
            .collect(),
        None => vec![text.to_string()],
    }
}

/// Checks `value` with the flag's own parser (a port is a number below
/// 65536, a mode is one the server knows); the error is the parser's.
pub(crate) fn check_value(arg: &Arg, value: &str) -> Result<(), String> {
    if is_switch(arg) {
        return match value {
            "true" | "false" => Ok(()),
            _ => Err(format!("expected true or false, not {value:?}")),
        };
    }
    let Some(long) = arg.get_long() else {
        return Ok(());
    };
    // The flag alone, without its environment variable and default, so
    // that only `value` is judged.
    let probe = arg
        .clone()
        .env(None)
        .default_values(Vec::<String>::new())
        .value_delimiter(None)
        .num_args(1)
        .action(ArgAction::Set)
        .required(false);
    Command::new("check")
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .color(clap::ColorChoice::Never)
        .arg(probe)
        .try_get_matches_from([format!("--{long}={value}")])
        .map(|_| ())
        .map_err(|e| parser_reason(&e))
}

/// The part of clap's message that says what is wrong, without its
/// "error:" prefix and advice on `--help`.
fn parser_reason(error: &clap::Error) -> String {
    if let Some(source) = std::error::Error::source(error) {
        return source.to_string();
    }
    error
        .to_string()
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty() && !line.starts_with("For more information"))
        .map(|line| line.trim_start_matches("error: "))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::config::args::Args;

    fn arg(key: &str) -> Arg {
        arg_of(&Args::command(), key)
            .unwrap_or_else(|| panic!("no key {key}"))
            .clone()
    }

    #[test]
    fn keys_are_the_long_flags_with_underscores() {
        let command = Args::command();
        assert_eq!(
            arg_of(&command, "max_per_ip").and_then(Arg::get_long),
            Some("max-per-ip")
        );
        assert_eq!(
            arg_of(&command, "admin_host").and_then(Arg::get_long),
            Some("admin-host")
        );
        for not_a_key in ["config", "env_file", "help", "check", "max-per-ip"] {
            assert!(arg_of(&command, not_a_key).is_none(), "{not_a_key}");
        }
    }

    #[test]
    fn values_are_judged_by_the_flags_own_parser() {
        assert_eq!(check_value(&arg("port"), "6000"), Ok(()));
        let refused = check_value(&arg("port"), "70000").expect_err("too large");
        assert!(refused.contains("65535"), "{refused}");
        assert!(check_value(&arg("random_modes"), "gr9").is_ok());
        assert!(check_value(&arg("random_modes"), "gr99").is_err());
        let format = check_value(&arg("log_format"), "xml").expect_err("not a format");
        assert!(
            format.contains("text") && format.contains("json"),
            "{format}"
        );
        assert!(!format.contains('\u{1b}'), "no colour codes: {format:?}");
        assert_eq!(check_value(&arg("no_prefetch"), "true"), Ok(()));
        assert!(check_value(&arg("no_prefetch"), "yes").is_err());
    }

    #[test]
    fn lists_split_like_their_environment_variable() {
        assert_eq!(split_list(&arg("extensions"), "jpg, png,"), ["jpg", "png"]);
        assert!(is_list(&arg("paths")) && is_list(&arg("admin_host")));
        assert!(!is_list(&arg("gen_model")));
    }
}
