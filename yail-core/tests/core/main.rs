//! yail-core integration tests, one module per area.

mod formats;
mod hostile;
mod layout;
mod palette;
mod quality;
mod reuse;
mod sizes;
mod varied;

/// The repository's photo folder.
pub fn photo(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
