//! The pictures compiled into the binary, served by `files` when no
//! `--paths` are configured, so a fresh install shows something at once.
//! Licences: `assets/photos/LICENSES.md`.

use std::path::PathBuf;

use yail_state::Catalogue;

/// Catalogue entries of gallery pictures start with this, which no real
/// path produced by a scan does (scans yield absolute or `./` paths).
pub(crate) const ENTRY_PREFIX: &str = "gallery:";

/// One built-in picture.
#[derive(Debug, Clone, Copy)]
pub struct GalleryImage {
    /// File name, also its identity in the cache.
    pub name: &'static str,
    /// The encoded picture.
    pub bytes: &'static [u8],
}

macro_rules! photo {
    ($name:literal) => {
        GalleryImage {
            name: $name,
            bytes: include_bytes!(concat!("../../../../assets/photos/", $name)),
        }
    };
}

/// The built-in gallery.
pub const GALLERY: &[GalleryImage] = &[
    photo!("astronaut.png"),
    photo!("camera.png"),
    photo!("chelsea.png"),
    photo!("coffee.png"),
    photo!("horse.png"),
    photo!("rocket.jpg"),
];

/// The licence table of the gallery.
pub const LICENSES: &str = include_str!("../../../../assets/photos/LICENSES.md");

/// The gallery picture called `name`.
pub fn find(name: &str) -> Option<&'static GalleryImage> {
    GALLERY.iter().find(|g| g.name == name)
}

/// The catalogue of the built-in gallery.
pub(crate) fn catalogue() -> Catalogue {
    GALLERY
        .iter()
        .map(|g| PathBuf::from(format!("{ENTRY_PREFIX}{}", g.name)))
        .collect()
}
