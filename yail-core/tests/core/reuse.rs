//! One converter used for many pictures keeps buffers between them (the
//! decoded pixels, joined compressed data): what it makes must not depend
//! on what it converted before.

use yail_core::{Converter, GfxMode, Settings};

use crate::photo;

#[test]
fn a_reused_converter_gives_what_a_fresh_one_gives() {
    let truncated = {
        let bytes = photo("chelsea.png");
        bytes[..bytes.len() / 2].to_vec()
    };
    // Large before small (a buffer longer than needed, holding an older
    // picture), RGBA (composited, the buffer handed back), grey, a file
    // that fails half-way, a JPEG, and the first one again.
    let inputs: Vec<(&str, Vec<u8>)> = [
        "astronaut.png",
        "horse.png",
        "camera.png",
        "chelsea.png",
        "text.png",
        "rocket.jpg",
        "coffee.png",
        "astronaut.png",
    ]
    .into_iter()
    .map(|name| (name, photo(name)))
    .chain(std::iter::once(("truncated chelsea.png", truncated)))
    .chain(std::iter::once(("chelsea.png", photo("chelsea.png"))))
    .collect();
    let shared = Converter::new();
    for mode in [GfxMode::Gr8, GfxMode::Vbxe, GfxMode::Gr9] {
        let settings = Settings::new(mode);
        for (name, bytes) in &inputs {
            let reused = shared.convert(bytes, &settings);
            let fresh = Converter::new().convert(bytes, &settings);
            assert_eq!(
                reused.map(|p| p.to_bytes()),
                fresh.map(|p| p.to_bytes()),
                "{name} in {mode:?}"
            );
        }
    }
}
