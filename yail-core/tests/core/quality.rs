//! Quality regression: HVS-PSNR medians over the photo set, pinned a
//! little below what was measured (docs/performance.md has the table), so
//! a change that makes pictures worse fails here.

use yail_core::{BlendSpace, Converter, GfxMode, Settings, decode, hvs_psnr, render};

const PHOTOS: [&str; 5] = [
    "astronaut.png",
    "camera.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
];

fn median_score(mode: GfxMode, dither_in: BlendSpace, blur_in: BlendSpace) -> f64 {
    let converter = Converter::new();
    let settings = Settings {
        blend: dither_in,
        ..Settings::new(mode)
    };
    let mut scores: Vec<f64> = PHOTOS
        .iter()
        .map(|name| {
            let picture = decode(&super::photo(name), &Default::default()).unwrap();
            let packet = converter.convert_picture(&picture, &settings).unwrap();
            let shown = render(&packet, settings.tv).unwrap();
            let ideal = converter.fit(&picture, mode, settings.fit).unwrap();
            hvs_psnr(&shown, &ideal, blur_in).unwrap()
        })
        .collect();
    scores.sort_by(f64::total_cmp);
    scores[scores.len() / 2]
}

#[test]
fn graphics_9_quantises_to_the_real_grey_ramp() {
    // Measured 33.06 dB; the issue asks for at least 31 (Python: 28.5).
    let score = median_score(GfxMode::Gr9, BlendSpace::Linear, BlendSpace::Linear);
    assert!(score >= 32.8, "GR.9 median {score:.2} dB");
}

#[test]
fn graphics_8_in_linear_light() {
    // Measured 27.07 dB with the dark-tone compensation (26.59 without;
    // Python: 15.5). The issue asks for at least 27, which is the pin.
    let score = median_score(GfxMode::Gr8, BlendSpace::Linear, BlendSpace::Linear);
    assert!(score >= 27.0, "GR.8 median {score:.2} dB");
}

#[test]
fn graphics_8_dithered_in_srgb_beats_pillow_on_a_crt() {
    // Measured 31.43 dB under the sRGB blur; Pillow scores 29.4.
    let score = median_score(GfxMode::Gr8, BlendSpace::Srgb, BlendSpace::Srgb);
    assert!(score >= 31.0, "GR.8 (sRGB) median {score:.2} dB");
}

#[test]
fn vbxe_uses_a_real_quantiser() {
    // Measured 50.28 dB; the issue asks for at least 46 (Python: 42.8).
    let score = median_score(GfxMode::Vbxe, BlendSpace::Linear, BlendSpace::Linear);
    assert!(score >= 49.8, "VBXE median {score:.2} dB");
}
