//! Saving the admin page's changes: into the runtime file (`--runtime-file`)
//! when there is one, else into the settings file (`--config`). The file is
//! read again, only the changed keys are replaced (the operator's comments,
//! order and other keys stay), and the new text is written to a temporary
//! file beside it and renamed over it, so a crash leaves the old file or
//! the new one, never half of one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use toml_edit::{DocumentMut, Item, Value};

use super::error::SaveError;
use crate::sync::lock;

/// The settings the admin page may change, by their keys: the only keys a
/// runtime file may hold.
pub const ADMIN_KEYS: [&str; 4] = ["gen_model", "allowed_models", "search_engine", "paths"];

/// The first lines of a runtime file the server creates.
const RUNTIME_HEADER: &str = "\
# Settings changed on yail-server's admin page, saved by the server.
# They win over the settings file (--config); flags and environment
# variables win over them. Only gen_model, allowed_models, search_engine
# and paths may be set here.
";

/// Which file the changes go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `--runtime-file`: the server's own file.
    RuntimeFile(PathBuf),
    /// `--config`, when there is no runtime file.
    ConfigFile(PathBuf),
}

/// Where the admin page's changes are saved; a cheap `Clone` handle.
/// `SettingsStore::default()` saves nowhere: changes last until the
/// server stops.
#[derive(Debug, Clone, Default)]
pub struct SettingsStore {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    target: Target,
    /// Keys a flag or an environment variable set at start, with what set
    /// them: a saved change to them is overridden at the next start.
    overridden: BTreeMap<String, String>,
    /// One save at a time, so two changes cannot interleave.
    writing: Mutex<()>,
}

impl SettingsStore {
    pub(crate) fn new(target: Option<Target>, overridden: BTreeMap<String, String>) -> Self {
        SettingsStore {
            inner: target.map(|target| {
                Arc::new(Inner {
                    target,
                    overridden,
                    writing: Mutex::new(()),
                })
            }),
        }
    }

    /// Saves into `path` (a settings file the admin page's changes go to),
    /// as `--config` would.
    pub fn config_file(path: PathBuf) -> Self {
        SettingsStore::new(Some(Target::ConfigFile(path)), BTreeMap::new())
    }

    /// The file changes are saved to; `None`: they last until the server stops.
    pub fn path(&self) -> Option<&Path> {
        self.inner.as_ref().map(|inner| match &inner.target {
            Target::RuntimeFile(path) | Target::ConfigFile(path) => path.as_path(),
        })
    }

    /// The keys a flag or an environment variable set at start, each with
    /// what set it ("a flag", "environment variable YAIL_GEN_MODEL").
    pub fn overridden(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .iter()
            .flat_map(|inner| inner.overridden.iter())
            .map(|(key, source)| (key.as_str(), source.as_str()))
    }

    /// Writes `values` (key and TOML value) into the file; `Ok(None)`
    /// when there is no file to save to. Blocking: file I/O.
    ///
    /// # Errors
    /// The file cannot be read, is no longer valid TOML, or cannot be
    /// written (it is then unchanged).
    pub fn save(&self, values: &[(&str, Value)]) -> Result<Option<PathBuf>, SaveError> {
        let Some(inner) = &self.inner else {
            return Ok(None);
        };
        let _one_at_a_time = lock(&inner.writing);
        let (path, header) = match &inner.target {
            Target::RuntimeFile(path) => (path, RUNTIME_HEADER),
            Target::ConfigFile(path) => (path, ""),
        };
        // Through a symbolic link to the file it names, which stays a link.
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let io = |source| SaveError::Io {
            path: path.clone(),
            source,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => header.to_string(),
            Err(e) => return Err(io(e)),
        };
        let updated = update(&text, values).map_err(|message| SaveError::Syntax {
            path: path.clone(),
            message,
        })?;
        write_atomically(&path, &updated).map_err(io)?;
        Ok(Some(path))
    }
}

/// `text` with the keys of `values` set, everything else as it was.
fn update(text: &str, values: &[(&str, Value)]) -> Result<String, String> {
    let mut document: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string().trim().to_string())?;
    for (key, value) in values {
        match document.get_mut(key) {
            // The comment after the old value, and its spacing, stay.
            Some(Item::Value(old)) => {
                let decor = old.decor().clone();
                *old = value.clone();
                *old.decor_mut() = decor;
            }
            // A new key goes at the end, after the comments that end the
            // file (a commented example stays above it).
            _ => {
                let mut trailing = document.trailing().as_str().unwrap_or_default().to_string();
                if !trailing.is_empty() && !trailing.ends_with('\n') {
                    trailing.push('\n');
                }
                document.set_trailing("");
                let mut new_key = toml_edit::Key::new(*key);
                new_key.leaf_decor_mut().set_prefix(trailing);
                document.insert_formatted(&new_key, Item::Value(value.clone()));
            }
        }
    }
    Ok(document.to_string())
}

/// Writes `text` to a temporary file beside `path`, with `path`'s
/// permissions (0600 for a new file), flushes it to disk and renames it
/// over `path`.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().map_or_else(
        || String::from("settings"),
        |n| n.to_string_lossy().into_owned(),
    );
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let permissions = std::fs::metadata(path).map(|m| m.permissions()).ok();
    // A leftover of a save that crashed.
    let _ = std::fs::remove_file(&temporary);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary)?;
        if let Some(permissions) = &permissions {
            file.set_permissions(permissions.clone())?;
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    // The rename itself reaches the disk with the folder.
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use toml_edit::Array;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("yail-save-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    }

    fn list(items: &[&str]) -> Value {
        Value::Array(items.iter().copied().collect::<Array>())
    }

    #[test]
    fn saving_keeps_the_operators_comments_order_and_other_keys() {
        let dir = scratch("comments");
        let path = dir.join("yail.toml");
        let original = "\
# My server.
port = 6000 # the club's port

# The model everyone gets.
gen_model = \"old-model\"   # cheap one
# search_engine = \"searxng\"
";
        std::fs::write(&path, original).expect("write");
        let store = SettingsStore::config_file(path.clone());
        let saved = store
            .save(&[
                ("gen_model", Value::from("new-model")),
                ("allowed_models", list(&["a", "b"])),
            ])
            .expect("saved");
        assert_eq!(saved, Some(std::fs::canonicalize(&path).expect("exists")));
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "\
# My server.
port = 6000 # the club's port

# The model everyone gets.
gen_model = \"new-model\"   # cheap one
# search_engine = \"searxng\"
allowed_models = [\"a\", \"b\"]
"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&dir).expect("list").flatten().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_new_runtime_file_says_what_it_is_and_is_private() {
        let dir = scratch("runtime");
        let path = dir.join("runtime.toml");
        let store = SettingsStore::new(Some(Target::RuntimeFile(path.clone())), BTreeMap::new());
        store
            .save(&[("search_engine", Value::from("searxng"))])
            .expect("saved");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.starts_with("# Settings changed on yail-server's admin page"));
        assert!(text.ends_with("search_engine = \"searxng\"\n"), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn new_keys_follow_a_last_line_without_its_line_end() {
        let updated =
            update("port = 1\n# the end", &[("gen_model", Value::from("m"))]).expect("valid");
        assert_eq!(updated, "port = 1\n# the end\ngen_model = \"m\"\n");
        let updated = update("port = 1", &[("gen_model", Value::from("m"))]).expect("valid");
        assert_eq!(updated, "port = 1\ngen_model = \"m\"\n");
    }

    #[test]
    fn a_file_broken_by_hand_is_left_alone() {
        let dir = scratch("broken");
        let path = dir.join("yail.toml");
        std::fs::write(&path, "port = = 1\n").expect("write");
        let store = SettingsStore::config_file(path.clone());
        let error = store
            .save(&[("gen_model", Value::from("m"))])
            .expect_err("not TOML");
        assert!(matches!(error, SaveError::Syntax { .. }), "{error}");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "port = = 1\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_the_server_cannot_write_is_an_error_and_changes_nothing() {
        let path = PathBuf::from("/no/such/folder/yail.toml");
        let store = SettingsStore::config_file(path);
        let error = store
            .save(&[("gen_model", Value::from("m"))])
            .expect_err("no folder");
        assert!(
            error.to_string().contains("/no/such/folder/yail.toml"),
            "{error}"
        );
    }

    #[test]
    fn without_a_file_nothing_is_saved() {
        let store = SettingsStore::default();
        assert_eq!(
            store.save(&[("gen_model", Value::from("m"))]).ok(),
            Some(None)
        );
        assert!(store.path().is_none());
    }
}
