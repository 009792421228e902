//! Scanning `--paths` (or the folders set on the admin page) into a
//! catalogue.

use std::path::{Path, PathBuf};

use yail_state::Catalogue;

/// Walks `paths` (files, and directories recursively) and keeps the files
/// whose extension is in `extensions`. Unreadable entries are reported in
/// the second list and skipped. Symbolic links to directories are not
/// followed, so a link loop cannot make the scan run forever; a link is
/// kept only when its target is a regular file (not a FIFO, a device or a
/// socket, which a read could block on or never finish).
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
        if !meta.is_dir() {
            problems.push(format!(
                "{}: neither a regular file nor a folder",
                path.display()
            ));
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
            } else if kind.is_file() && wanted(&entry.path()) {
                catalogue.insert(entry.path());
            } else if kind.is_symlink() && wanted(&entry.path()) {
                match std::fs::metadata(entry.path()) {
                    Ok(target) if target.is_file() => {
                        catalogue.insert(entry.path());
                    }
                    Ok(_) => problems.push(format!(
                        "{}: links to something that is not a regular file",
                        entry.path().display()
                    )),
                    Err(e) => problems.push(format!("{}: {e}", entry.path().display())),
                }
            }
        }
        children.sort();
        pending.extend(children.into_iter().rev());
    }
    (catalogue, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

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
