//! One picture's bytes, from disk or from the built-in gallery, read with
//! bounds: never more than a limit, never from anything but a regular file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::gallery::{self, ENTRY_PREFIX, GalleryImage};

/// Where a picture's bytes come from.
#[derive(Debug, Clone)]
pub enum PictureFile {
    /// A file on disk.
    File(PathBuf),
    /// A built-in picture.
    Gallery(&'static GalleryImage),
}

impl PictureFile {
    /// The picture a catalogue entry names.
    pub fn of_entry(entry: &Path) -> PictureFile {
        entry
            .to_str()
            .and_then(|s| s.strip_prefix(ENTRY_PREFIX))
            .and_then(gallery::find)
            .map_or_else(
                || PictureFile::File(entry.to_path_buf()),
                PictureFile::Gallery,
            )
    }

    /// A short name for logs and error messages.
    pub fn name(&self) -> String {
        match self {
            PictureFile::File(path) => path
                .file_name()
                .unwrap_or(path.as_os_str())
                .to_string_lossy()
                .into_owned(),
            PictureFile::Gallery(g) => g.name.to_string(),
        }
    }

    /// An identity for the cache that changes when the file does
    /// (path, size and modification time).
    pub async fn identity(&self) -> std::io::Result<String> {
        match self {
            PictureFile::File(path) => {
                let meta = tokio::fs::metadata(path).await?;
                if !meta.is_file() {
                    return Err(not_regular());
                }
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
            PictureFile::Gallery(g) => Ok(format!("{ENTRY_PREFIX}{}", g.name)),
        }
    }

    /// The picture's encoded bytes, refusing files above `max_len` and
    /// anything that is not a regular file.
    pub async fn load(&self, max_len: u64) -> std::io::Result<Arc<[u8]>> {
        match self {
            PictureFile::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || read_regular_file(&path, max_len))
                    .await
                    .map_err(std::io::Error::other)?
                    .map(Arc::from)
            }
            PictureFile::Gallery(g) => Ok(g.bytes.into()),
        }
    }
}

fn not_regular() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "not a regular file (a FIFO, a device or a socket?)",
    )
}

/// Reads a whole regular file of at most `max_len` bytes.
///
/// The kind is checked on the opened file (through any symbolic link), so
/// it cannot be swapped between the check and the read; the file is opened
/// without blocking, so a FIFO with no writer does not hold the thread in
/// `open()`; and the read stops after `max_len` bytes even if the file
/// grows meanwhile.
pub fn read_regular_file(path: &Path, max_len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let too_long = |len: u64| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is {len} bytes, more than the {max_len} allowed"),
        )
    };
    if meta.len() > max_len {
        return Err(too_long(meta.len()));
    }
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max_len.saturating_add(1))
        .read_to_end(&mut data)?;
    if data.len() as u64 > max_len {
        return Err(too_long(data.len() as u64));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::super::scan::scan;
    use super::*;

    #[test]
    fn gallery_entries_resolve_to_built_in_pictures() {
        let catalogue = gallery::catalogue();
        assert_eq!(catalogue.len(), gallery::GALLERY.len());
        for entry in catalogue.iter() {
            assert!(
                matches!(PictureFile::of_entry(entry), PictureFile::Gallery(_)),
                "{entry:?}"
            );
        }
        assert!(matches!(
            PictureFile::of_entry(Path::new("/tmp/x.png")),
            PictureFile::File(_)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_scanned_and_read() {
        let dir = std::env::temp_dir().join(format!("yail-regular-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("good.png"), b"0123456789").unwrap();
        std::os::unix::fs::symlink(dir.join("good.png"), dir.join("link.png")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.join("zero.png")).unwrap();
        let fifo = dir.join("fifo.png");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );

        let (catalogue, problems) = scan(std::slice::from_ref(&dir), &["png".to_string()]);
        let mut names: Vec<_> = catalogue
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["good.png", "link.png"]);
        assert!(
            problems.iter().any(|p| p.contains("zero.png")),
            "{problems:?}"
        );

        // Read directly, as after a swap behind the scan's back: refused at
        // once, never blocking on the FIFO nor reading /dev/zero.
        assert_eq!(
            read_regular_file(&dir.join("link.png"), 10).unwrap().len(),
            10
        );
        for bad in ["fifo.png", "zero.png"] {
            let error = read_regular_file(&dir.join(bad), 1 << 20).unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
        }
        let error = read_regular_file(&dir.join("good.png"), 9).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
