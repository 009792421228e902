//! Local pictures: scanning `--paths` into the catalogue, and loading one
//! picture's bytes (from disk or from the built-in gallery).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use yail_state::Catalogue;

use crate::gallery::{self, GalleryImage};

/// Catalogue entries of gallery pictures start with this, which no real
/// path produced by a scan does (scans yield absolute or `./` paths).
const GALLERY_PREFIX: &str = "gallery:";

/// The catalogue of the built-in gallery.
pub fn gallery_catalogue() -> Catalogue {
    gallery::GALLERY
        .iter()
        .map(|g| PathBuf::from(format!("{GALLERY_PREFIX}{}", g.name)))
        .collect()
}

/// Walks `paths` (files, and directories recursively) and keeps the files
/// whose extension is in `extensions`. Unreadable entries are reported in
/// the second list and skipped. Symbolic links to directories are not
/// followed, so a link loop cannot make the scan run forever.
pub fn scan(paths: &[PathBuf], extensions: &[String]) -> (Catalogue, Vec<String>) {
    let mut catalogue = Catalogue::new();
    let mut problems = Vec::new();
    let wanted = |path: &Path| {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
    };
    let mut pending: Vec<PathBuf> = paths.to_vec();
    while let Some(path) = pending.pop() {
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        if meta.is_file() {
            if wanted(&path) {
                catalogue.insert(path);
            }
            continue;
        }
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let mut children: Vec<PathBuf> = Vec::new();
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                children.push(entry.path());
            } else if (kind.is_file() || kind.is_symlink()) && wanted(&entry.path()) {
                catalogue.insert(entry.path());
            }
        }
        children.sort();
        pending.extend(children.into_iter().rev());
    }
    (catalogue, problems)
}

/// Where a picture's bytes come from.
#[derive(Debug, Clone)]
pub enum Picture {
    /// A file on disk.
    File(PathBuf),
    /// A built-in picture.
    Gallery(&'static GalleryImage),
}

impl Picture {
    /// The picture a catalogue entry names.
    pub fn of_entry(entry: &Path) -> Picture {
        entry
            .to_str()
            .and_then(|s| s.strip_prefix(GALLERY_PREFIX))
            .and_then(gallery::find)
            .map_or_else(|| Picture::File(entry.to_path_buf()), Picture::Gallery)
    }

    /// A short name for logs and error messages.
    pub fn name(&self) -> String {
        match self {
            Picture::File(path) => path
                .file_name()
                .unwrap_or(path.as_os_str())
                .to_string_lossy()
                .into_owned(),
            Picture::Gallery(g) => g.name.to_string(),
        }
    }

    /// An identity for the cache that changes when the file does
    /// (path, size and modification time).
    pub async fn identity(&self) -> std::io::Result<String> {
        match self {
            Picture::File(path) => {
                let meta = tokio::fs::metadata(path).await?;
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .unwrap_or_default();
                Ok(format!(
                    "file:{}:{}:{}",
                    path.display(),
                    meta.len(),
                    modified.as_nanos()
                ))
            }
            Picture::Gallery(g) => Ok(format!("{GALLERY_PREFIX}{}", g.name)),
        }
    }

    /// The picture's encoded bytes, refusing files above `max_len`.
    pub async fn load(&self, max_len: u64) -> std::io::Result<Arc<[u8]>> {
        match self {
            Picture::File(path) => {
                let len = tokio::fs::metadata(path).await?.len();
                if len > max_len {
                    return Err(std::io::Error::other(format!(
                        "file is {len} bytes, more than the {max_len} allowed"
                    )));
                }
                Ok(tokio::fs::read(path).await?.into())
            }
            Picture::Gallery(g) => Ok(g.bytes.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallery_entries_resolve_to_built_in_pictures() {
        let catalogue = gallery_catalogue();
        assert_eq!(catalogue.len(), gallery::GALLERY.len());
        for entry in catalogue.iter() {
            assert!(
                matches!(Picture::of_entry(entry), Picture::Gallery(_)),
                "{entry:?}"
            );
        }
        assert!(matches!(
            Picture::of_entry(Path::new("/tmp/x.png")),
            Picture::File(_)
        ));
    }

    #[test]
    fn scan_filters_by_extension_recursively() {
        let dir = std::env::temp_dir().join(format!("yail-scan-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        for name in [
            "a.png",
            "b.JPG",
            "notes.txt",
            "sub/c.gif",
            "sub/deeper/d.webp",
        ] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let extensions: Vec<String> = ["png", "jpg", "gif", "webp"].map(String::from).to_vec();
        let (catalogue, problems) = scan(&[dir.clone(), dir.join("missing")], &extensions);
        assert_eq!(
            catalogue.len(),
            4,
            "{:?}",
            catalogue.iter().collect::<Vec<_>>()
        );
        assert!(!catalogue.iter().any(|p| p.ends_with("notes.txt")));
        assert_eq!(problems.len(), 1, "{problems:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
