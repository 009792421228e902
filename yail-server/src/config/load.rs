//! The settings in force, put together once at start, from the highest
//! rank down:
//!
//! 1. flags;
//! 2. `YAIL_<FLAG>` environment variables (the env file's among them: it
//!    never overrides a variable that is already set);
//! 3. the same settings under other names ([`super::legacy`]);
//! 4. the runtime file (`--runtime-file`: the admin page's changes);
//! 5. the settings file (`--config`);
//! 6. the defaults ([`super::defaults`]).
//!
//! Layers 3 to 5 become the flags' defaults before clap parses, so clap
//! still does flags, environment and `--help` its own way, and shows the
//! file's values as the defaults.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Command, CommandFactory, FromArgMatches};

use super::args::Args;
use super::error::ConfigError;
use super::file::{self, Keys};
use super::layer::{self, Layer, Origin};
use super::legacy;
use super::save::{ADMIN_KEYS, SettingsStore, Target};

/// Where a setting in force came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// The flag's own environment variable (set, or from the env file).
    Environment(String),
    /// A settings file, or a variable under another name.
    Below(Origin),
    /// The built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("a flag"),
            Source::Environment(name) => write!(f, "environment variable {name}"),
            Source::Below(origin) => origin.fmt(f),
            Source::Default => f.write_str("the default"),
        }
    }
}

/// Why the settings could not be put together.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The command line is wrong, or asks for `--help` or `--version`:
    /// clap's own message ([`clap::Error::exit`] prints it).
    #[error(transparent)]
    Usage(#[from] clap::Error),
    /// A settings file or a variable holds something wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The settings in force and what the server should say about them.
#[derive(Debug)]
pub struct Loaded {
    /// The flags as every layer set them.
    pub args: Args,
    /// Where each setting (by key) came from.
    pub sources: BTreeMap<String, Source>,
    /// Settings files read, in the order read.
    pub files: Vec<PathBuf>,
    /// Warnings to log once logging is set up (variables under old names).
    pub warnings: Vec<String>,
    /// Where the admin page saves its changes.
    pub store: SettingsStore,
}

/// Puts the settings together from `argv` (the program's name first) and
/// the process environment.
///
/// # Errors
/// [`LoadError::Usage`] for the command line (and `--help`),
/// [`LoadError::Config`] for a settings file or variable, naming it.
pub fn load(argv: Vec<OsString>) -> Result<Loaded, LoadError> {
    load_with(argv, &|name| std::env::var(name).ok(), true)
}

/// [`load`] with the variables from `lookup`; without `clap_env`, clap
/// reads no environment variables itself (a test's environment is its map).
pub(crate) fn load_with(
    argv: Vec<OsString>,
    lookup: &dyn Fn(&str) -> Option<String>,
    clap_env: bool,
) -> Result<Loaded, LoadError> {
    let mut command = Args::command();
    if !clap_env {
        command = command.mut_args(|arg| arg.env(None));
    }
    let given = |flag: &str, variable: &str| {
        flag_value(&argv, flag).or_else(|| {
            lookup(variable)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    };
    let mut files = Vec::new();
    let config_path = given("--config", "YAIL_CONFIG");
    let config_layer = match &config_path {
        Some(path) => {
            files.push(path.clone());
            file::read(path, &command, Keys::All)?
        }
        None => Layer::new(),
    };
    let runtime_path = given("--runtime-file", "YAIL_RUNTIME_FILE").or_else(|| {
        config_layer
            .get("runtime_file")
            .and_then(|s| s.values.first())
            .map(PathBuf::from)
    });
    let runtime_layer = match &runtime_path {
        Some(path) if path.exists() => {
            files.push(path.clone());
            file::read(path, &command, Keys::Only(&ADMIN_KEYS))?
        }
        _ => Layer::new(),
    };
    let variables = legacy::read(&command, lookup)?;

    let mut below = config_layer;
    below.extend(runtime_layer);
    below.extend(variables.layer);
    for (id, setting) in &below {
        command = command.mut_arg(id, |arg| {
            let secret = arg.is_hide_env_values_set();
            arg.default_values(setting.values.clone())
                .hide_default_value(secret)
        });
    }
    let matches = command.clone().try_get_matches_from(argv)?;
    let args = Args::from_arg_matches(&matches)?;

    let sources = sources(&command, &matches, &below);
    let target = match (runtime_path, config_path) {
        (Some(path), _) => Some(Target::RuntimeFile(path)),
        (None, Some(path)) => Some(Target::ConfigFile(path)),
        (None, None) => None,
    };
    // A change saved for one of these keys is overridden at the next
    // start by what set it this time.
    let overridden = ADMIN_KEYS
        .iter()
        .filter_map(|key| match sources.get(*key) {
            Some(source @ (Source::Flag | Source::Environment(_))) => {
                Some(((*key).to_string(), source.to_string()))
            }
            Some(source @ Source::Below(Origin::Variable(_))) => {
                Some(((*key).to_string(), source.to_string()))
            }
            _ => None,
        })
        .collect();
    Ok(Loaded {
        args,
        sources,
        files,
        warnings: variables.warnings,
        store: SettingsStore::new(target, overridden),
    })
}

/// Where each key's value came from.
fn sources(
    command: &Command,
    matches: &clap::ArgMatches,
    below: &Layer,
) -> BTreeMap<String, Source> {
    command
        .get_arguments()
        .filter_map(|arg| {
            let key = layer::key_of(arg)?;
            let id = arg.get_id().as_str();
            let source = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Environment(
                    arg.get_env()
                        .map(|e| e.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
                _ => below
                    .get(id)
                    .map_or(Source::Default, |s| Source::Below(s.origin.clone())),
            };
            Some((key, source))
        })
        .collect()
}

/// The value of `--flag VALUE` or `--flag=VALUE` in `argv`, before any
/// `--`. Read before clap parses, to find the files that set its defaults.
fn flag_value(argv: &[OsString], flag: &str) -> Option<PathBuf> {
    let mut words = argv.iter().skip(1);
    let mut found = None;
    while let Some(word) = words.next() {
        let Some(word) = word.to_str() else { continue };
        if word == "--" {
            break;
        }
        if word == flag {
            found = words.next().map(PathBuf::from);
        } else if let Some(value) = word.strip_prefix(flag).and_then(|w| w.strip_prefix('=')) {
            found = Some(PathBuf::from(value));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::config::Config;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("yail-load-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("scratch folder");
            Scratch(dir)
        }

        fn file(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).expect("write");
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn load_from(flags: &[&str], env: &[(&str, &str)]) -> Result<Loaded, LoadError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let argv = std::iter::once("yail-server")
            .chain(flags.iter().copied())
            .map(OsString::from)
            .collect();
        load_with(argv, &|name| env.get(name).cloned(), false)
    }

    fn config(loaded: &Loaded) -> Config {
        loaded.args.config()
    }

    #[test]
    fn without_files_or_variables_the_defaults_hold() {
        let loaded = load_from(&[], &[]).expect("loads");
        assert_eq!(config(&loaded), Config::default());
        assert!(loaded.sources.values().all(|s| *s == Source::Default));
        assert!(loaded.store.path().is_none());
    }

    #[test]
    fn the_settings_file_sets_defaults_and_flags_win() {
        let scratch = Scratch::new("file");
        let path = scratch.file(
            "yail.toml",
            "port = 6000\nmax_per_ip = 3\nno_prefetch = true\nrandom_modes = [\"gr15\"]\n",
        );
        let path_text = path.to_str().expect("utf-8");
        let loaded = load_from(&["--config", path_text, "--max-per-ip", "4"], &[]).expect("loads");
        assert_eq!(loaded.args.port, 6000);
        assert_eq!(loaded.args.max_per_ip, 4);
        assert!(!config(&loaded).prefetch);
        assert_eq!(config(&loaded).random_modes, [yail_proto::GfxMode::Gr15]);
        assert_eq!(loaded.sources["max_per_ip"], Source::Flag);
        assert_eq!(
            loaded.sources["port"],
            Source::Below(Origin::File {
                path: path.clone(),
                line: 1
            })
        );
        assert_eq!(loaded.sources["bind"], Source::Default);
        assert_eq!(loaded.files, std::slice::from_ref(&path));
        // YAIL_CONFIG names it too, and `--config=` is a flag as well.
        let by_variable = load_from(&[], &[("YAIL_CONFIG", path_text)]).expect("loads");
        assert_eq!(by_variable.args.port, 6000);
        let with_equals = load_from(&[&format!("--config={path_text}")], &[]).expect("loads");
        assert_eq!(with_equals.args.port, 6000);
        assert_eq!(with_equals.store.path(), Some(path.as_path()));
    }

    #[test]
    fn a_missing_or_wrong_settings_file_is_an_error_naming_it() {
        let missing = load_from(&["--config", "/no/such/yail.toml"], &[])
            .expect_err("missing file")
            .to_string();
        assert!(missing.contains("/no/such/yail.toml"), "{missing}");
        let scratch = Scratch::new("wrong");
        let path = scratch.file("yail.toml", "port = 6000\ngen-model = \"x\"\n");
        let wrong = load_from(&["--config", path.to_str().expect("utf-8")], &[])
            .expect_err("kebab key")
            .to_string();
        assert!(wrong.contains("line 2: unknown key `gen-model`"), "{wrong}");
    }

    #[test]
    fn variables_under_other_names_sit_between_the_environment_and_the_file() {
        let scratch = Scratch::new("variables");
        let path = scratch.file(
            "yail.toml",
            "gen_model = \"from-file\"\nfetch_timeout = 9\n",
        );
        let loaded = load_from(
            &["--config", path.to_str().expect("utf-8")],
            &[("GEN_MODEL", "from-python-env")],
        )
        .expect("loads");
        assert_eq!(loaded.args.gen_model, "from-python-env");
        assert_eq!(config(&loaded).fetch_timeout, Duration::from_secs(9));
        assert_eq!(
            loaded.sources["gen_model"],
            Source::Below(Origin::Variable("GEN_MODEL"))
        );
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        let flagged =
            load_from(&["--gen-model", "from-flag"], &[("GEN_MODEL", "x")]).expect("loads");
        assert_eq!(flagged.args.gen_model, "from-flag");
    }

    #[test]
    fn the_runtime_file_wins_over_the_settings_file_and_holds_only_admin_keys() {
        let scratch = Scratch::new("runtime");
        let runtime = scratch.0.join("runtime.toml");
        let config_path = scratch.file(
            "yail.toml",
            &format!(
                "gen_model = \"from-config\"\nport = 6001\nruntime_file = {:?}\n",
                runtime.to_str().expect("utf-8")
            ),
        );
        let flags = ["--config", config_path.to_str().expect("utf-8")];
        // Absent at first: nothing to read, and the admin page will save there.
        let loaded = load_from(&flags, &[]).expect("loads");
        assert_eq!(loaded.args.gen_model, "from-config");
        assert_eq!(loaded.store.path(), Some(runtime.as_path()));
        std::fs::write(&runtime, "gen_model = \"from-runtime\"\n").expect("write");
        let loaded = load_from(&flags, &[]).expect("loads");
        assert_eq!(loaded.args.gen_model, "from-runtime");
        assert_eq!(loaded.args.port, 6001);
        assert_eq!(loaded.files, [config_path.clone(), runtime.clone()]);
        std::fs::write(&runtime, "port = 1\n").expect("write");
        let refused = load_from(&flags, &[])
            .expect_err("not an admin key")
            .to_string();
        assert!(
            refused.contains("runtime.toml, line 1: unknown key `port`"),
            "{refused}"
        );
    }

    #[test]
    fn keys_set_above_the_files_are_reported_as_overriding_saved_changes() {
        let scratch = Scratch::new("overridden");
        let path = scratch.file("yail.toml", "");
        let loaded = load_from(
            &[
                "--config",
                path.to_str().expect("utf-8"),
                "--search-engine",
                "duckduckgo",
            ],
            &[("OPENAI_MODEL", "m")],
        )
        .expect("loads");
        let overridden: Vec<&str> = loaded.store.overridden().map(|(key, _)| key).collect();
        assert_eq!(overridden, ["gen_model", "search_engine"]);
    }

    #[test]
    fn secrets_from_a_file_are_not_shown_as_defaults_in_help() {
        let scratch = Scratch::new("help");
        let path = scratch.file(
            "yail.toml",
            "openai_api_key = \"sk-file-secret\"\nport = 6002\n",
        );
        let error = load_from(&["--config", path.to_str().expect("utf-8"), "--help"], &[])
            .expect_err("help is clap's error kind");
        let LoadError::Usage(help) = error else {
            panic!("not help")
        };
        let text = help.to_string();
        assert!(
            text.contains("6002"),
            "the file's port is the default shown"
        );
        assert!(!text.contains("sk-file-secret"), "{text}");
    }

    #[test]
    fn flag_values_are_found_before_parsing() {
        let argv: Vec<OsString> = [
            "yail-server",
            "--paths",
            "a",
            "--config",
            "x.toml",
            "--",
            "--config",
            "y",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(
            flag_value(&argv, "--config").as_deref(),
            Some(Path::new("x.toml"))
        );
        assert_eq!(flag_value(&argv, "--runtime-file"), None);
    }
}
