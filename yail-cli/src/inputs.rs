//! The pictures a `yail convert` run works through: files named on the
//! command line, and the pictures found in folders, recursively.

use std::path::{Path, PathBuf};

/// File name extensions taken from folders: the same list yail-server
/// serves from its `--paths` by default (a unit test keeps them equal).
/// Files named directly are converted whatever their extension.
pub const EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "gif", "webp", "bmp"];

/// One picture to convert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Where to read it.
    pub path: PathBuf,
    /// Its output name relative to the output folder, without `.yai`: the
    /// file name for a file named directly, the path below the folder for
    /// a file found in one (so a tree comes out as a tree).
    pub name: PathBuf,
}

/// A path that could not be read: a named file that is missing, a folder
/// that cannot be listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The path.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// One entry of a run: a picture to convert, or a path that failed before
/// there was anything to convert. Both are reported in their turn.
pub type Found = Result<Input, Problem>;

/// Every input found under `roots`, in command-line order, each folder's
/// entries sorted by name, with the paths that cannot be read in their
/// place among them, so the rest of a batch still runs and every path
/// named gets its report.
///
/// Symbolic links to folders are not followed, so a link loop cannot make
/// the walk endless.
pub fn collect(roots: &[PathBuf]) -> Vec<Found> {
    let mut found = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk(root, &mut found),
            Ok(_) => found.push(Ok(Input {
                path: root.clone(),
                name: root
                    .file_name()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("picture")),
            })),
            Err(e) => found.push(Err(Problem {
                path: root.clone(),
                reason: format!("cannot read it: {e}"),
            })),
        }
    }
    found
}

fn walk(root: &Path, found: &mut Vec<Found>) {
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                found.push(Err(Problem {
                    path: dir,
                    reason: format!("cannot list it: {e}"),
                }));
                continue;
            }
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        let mut folders = Vec::new();
        for path in paths {
            let Ok(kind) = std::fs::symlink_metadata(&path).map(|m| m.file_type()) else {
                continue;
            };
            if kind.is_dir() {
                folders.push(path);
            } else if has_picture_extension(&path) {
                let name = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                found.push(Ok(Input { path, name }));
            }
        }
        // Popped last-first, so push in reverse to walk folders in order.
        pending.extend(folders.into_iter().rev());
    }
}

fn has_picture_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_recursively_with_the_extension_filter() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).expect("mkdir");
        for name in ["a.JPG", "notes.txt", "b/x.png", "b/c/y.webp", "b/c/z"] {
            std::fs::write(root.join(name), b"").expect("write");
        }
        let single = root.join("notes.txt");
        let missing = root.join("missing");
        let found = collect(&[root.to_path_buf(), missing.clone(), single.clone()]);
        let inputs: Vec<&Input> = found.iter().filter_map(|f| f.as_ref().ok()).collect();
        let names: Vec<PathBuf> = inputs.iter().map(|i| i.name.clone()).collect();
        assert_eq!(
            names,
            [
                PathBuf::from("a.JPG"),
                PathBuf::from("b/x.png"),
                PathBuf::from("b/c/y.webp"),
                // Named directly: taken whatever its extension.
                PathBuf::from("notes.txt"),
            ]
        );
        assert_eq!(inputs[3].path, single);
        // The missing path keeps its place between the folder and the file.
        let problem = found[3].as_ref().expect_err("the missing path");
        assert_eq!(problem.path, missing);
        assert!(problem.reason.starts_with("cannot read it"), "{problem:?}");
        assert_eq!(found.len(), 5);
    }

    #[test]
    fn the_extension_list_is_the_servers() {
        let ours: Vec<String> = EXTENSIONS.iter().map(|e| e.to_string()).collect();
        assert_eq!(ours, yail_server::Config::default().extensions);
    }
}
