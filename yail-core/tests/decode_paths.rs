//! The decode paths that do less than a full decode, held to the `image`
//! crate's full decode: reduced-scale colour JPEGs (baseline and
//! progressive) against the full picture averaged down to the same size,
//! and the first frame of an animated WebP (cut out of its container for
//! libwebp) against the `image` crate's first frame.

use yail_core::{DecodeOptions, Fit, PixelFormat, Target, decode};

fn bench_picture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bench/pictures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `image` crate's full decode as RGB, alpha composited on black.
fn reference_rgb(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let image = image::load_from_memory(bytes).unwrap().to_rgba8();
    let (w, h) = image.dimensions();
    let data = image
        .pixels()
        .flat_map(|p| {
            let a = u32::from(p[3]);
            [0, 1, 2].map(|c| ((u32::from(p[c]) * a + 127) / 255) as u8)
        })
        .collect();
    (w, h, data)
}

/// `rgb` (width x height) averaged over `factor` x `factor` blocks, the
/// last row and column of blocks over what is left: the picture a DCT
/// decode at 1/`factor` scale approximates.
fn box_down(width: usize, height: usize, rgb: &[u8], factor: usize) -> (usize, usize, Vec<u8>) {
    let (w, h) = (width.div_ceil(factor), height.div_ceil(factor));
    let mut out = Vec::with_capacity(w * h * 3);
    for by in 0..h {
        for bx in 0..w {
            let (mut sum, mut n) = ([0u32; 3], 0u32);
            for y in by * factor..((by + 1) * factor).min(height) {
                for x in bx * factor..((bx + 1) * factor).min(width) {
                    for c in 0..3 {
                        sum[c] += u32::from(rgb[(y * width + x) * 3 + c]);
                    }
                    n += 1;
                }
            }
            out.extend(sum.map(|s| ((s + n / 2) / n) as u8));
        }
    }
    (w, h, out)
}

/// Mean and largest absolute difference of two equally long buffers.
fn differences(a: &[u8], b: &[u8]) -> (f64, u8) {
    assert_eq!(a.len(), b.len());
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    let largest = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max();
    (total as f64 / a.len() as f64, largest.unwrap_or(0))
}

/// A colour target of `width` x `height`, letterboxed.
fn colour_target(width: u32, height: u32) -> DecodeOptions {
    DecodeOptions {
        target: Some(Target {
            width,
            height,
            fit: Fit::Letterbox,
            grey: false,
        }),
        ..DecodeOptions::default()
    }
}

/// How far a quarter-scale colour decode of a photo may lie from the full
/// decode averaged over 4x4 blocks: mean and largest difference in
/// levels. The reduced IDCT keeps only each block's lowest frequencies,
/// which is close to, not equal to, a box average (strong edges differ
/// most), and a progressive file is read without its AC refinement scans
/// (`without_ac_refinements` in jpeg.rs). Measured: mean 1.6 / largest 53
/// (baseline photo_rocket.jpg), 1.7 / 57 (progressive_1024.jpg). On fine
/// texture the two filters part further (grass_640x480.jpg: mean 6.6), so
/// photos are the test; a wrong scale, channel order or row would be off
/// by tens of levels on average.
const QUARTER_SCALE_MEAN: f64 = 2.5;
const QUARTER_SCALE_LARGEST: u8 = 80;

#[test]
fn large_colour_jpegs_decode_at_a_quarter_like_the_full_picture_averaged() {
    // (file, target): each target needs, with the decoder's margin of two
    // decoded pixels per output pixel, between an eighth and a quarter of
    // the file's size, so the quarter scale is chosen.
    for (name, target) in [
        ("photo_rocket.jpg", (60, 40)),
        ("progressive_1024.jpg", (120, 80)),
    ] {
        let bytes = bench_picture(name);
        let ours = decode(&bytes, &colour_target(target.0, target.1)).unwrap();
        let (w, h, full) = reference_rgb(&bytes);
        let (qw, qh, quarter) = box_down(w as usize, h as usize, &full, 4);
        assert_eq!(ours.format(), PixelFormat::Rgb, "{name}");
        assert_eq!(
            (ours.width() as usize, ours.height() as usize),
            (qw, qh),
            "{name}"
        );
        // Still at least twice the target: no detail the resize needs is lost.
        assert!(
            ours.width() >= 2 * target.0 && ours.height() >= 2 * target.1,
            "{name}"
        );
        let (mean, largest) = differences(ours.data(), &quarter);
        assert!(
            mean <= QUARTER_SCALE_MEAN && largest <= QUARTER_SCALE_LARGEST,
            "{name}: mean difference {mean:.3}, largest {largest}"
        );
    }
}

#[test]
fn a_colour_jpeg_the_target_needs_whole_is_decoded_whole() {
    // 320x240 needs 640x480 with the margin: no reduced scale for a
    // 640x480 file, so the pixels are the full decode's.
    let bytes = bench_picture("grass_640x480.jpg");
    let ours = decode(&bytes, &colour_target(320, 240)).unwrap();
    let (w, h, full) = reference_rgb(&bytes);
    assert_eq!((ours.width(), ours.height()), (w, h));
    let (mean, largest) = differences(ours.data(), &full);
    assert!(
        mean < 0.5 && largest <= 8,
        "mean {mean:.3}, largest {largest}"
    );
}

#[test]
fn animated_webp_first_frame_matches_the_image_crate() {
    // The frame is cut out of its container and decoded by libwebp; the
    // `image` crate's pure-Rust decoder gives the reference first frame.
    // Lossy frames differ by libwebp's smoother chroma upsampling, as for
    // still files (`webp_matches_the_image_crate` in tests/core).
    let bytes = bench_picture("animated_320x200.webp");
    let ours = decode(&bytes, &DecodeOptions::default()).unwrap();
    let (w, h, reference) = reference_rgb(&bytes);
    assert_eq!((ours.width(), ours.height()), (w, h));
    let (mean, largest) = differences(ours.data(), &reference);
    assert!(
        mean <= 1.5 && largest <= 64,
        "mean difference {mean:.3}, largest {largest}"
    );
}

#[test]
fn lossless_animated_webp_first_frame_is_exact_at_its_offset() {
    // 48x32 canvas, two lossless frames with transparent surroundings;
    // the encoder stored the first as a 24x20 rectangle at (10, 6), so the
    // frame must be placed, and the rest of the canvas stays black.
    // Written by Pillow 13 (`save_all=True, lossless=True`) from two
    // drawn RGBA frames: a red and a blue rectangle with a half-transparent
    // green disc.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/webp/animated_offset_lossless.webp");
    let bytes = std::fs::read(path).unwrap();
    let ours = decode(&bytes, &DecodeOptions::default()).unwrap();
    let (w, h, reference) = reference_rgb(&bytes);
    assert_eq!((ours.width(), ours.height()), (w, h));
    assert_eq!(ours.data(), &reference[..]);
    // The first frame (red), not the second (blue), and black outside it.
    assert_eq!(ours.rgb_at(20, 20), [230, 40, 30]);
    assert_eq!(ours.rgb_at(5, 3), [0, 0, 0]);
}
