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

/// Every input found under `roots`, in command-line order, each folder's
/// entries sorted by name. Paths that cannot be read are returned as
/// problems beside the inputs, so the rest of a batch still runs.
///
/// Symbolic links to folders are not followed, so a link loop cannot make
/// the walk endless.
pub fn collect(roots: &[PathBuf]) -> (Vec<Input>, Vec<(PathBuf, String)>) {
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk(root, &mut inputs, &mut problems),
            Ok(_) => inputs.push(Input {
                path: root.clone(),
                name: root
                    .file_name()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("picture")),
            }),
            Err(e) => problems.push((root.clone(), e.to_string())),
        }
    }
    (inputs, problems)
}

fn walk(root: &Path, inputs: &mut Vec<Input>, problems: &mut Vec<(PathBuf, String)>) {
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push((dir, e.to_string()));
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
                inputs.push(Input { path, name });
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
        let (inputs, problems) = collect(&[root.to_path_buf(), single.clone(), missing.clone()]);
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
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, missing);
    }

    #[test]
    fn the_extension_list_is_the_servers() {
        let ours: Vec<String> = EXTENSIONS.iter().map(|e| e.to_string()).collect();
        assert_eq!(ours, yail_server::Config::default().extensions);
    }
}
