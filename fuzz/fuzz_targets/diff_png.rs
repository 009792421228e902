//! Our PNG decoding (the libdeflate + SIMD unfiltering fast path where it
//! applies) against the `image` crate on the same bytes.
//!
//! Two kinds of input: a mutated file (CRCs rewritten, so the fuzzer gets
//! past the `png` crate's checksum test), and a well-formed file encoded
//! from arbitrary pixels with an arbitrary filter, which reaches every
//! unfilter path. Same pixels, or both refusing; we may refuse alone only
//! by a size or memory limit. On every input the PNG fast path takes, each
//! unfiltering variant of this processor must give what row-by-row
//! unfiltering gives.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, ImageFormat};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Pixels {
    width: u8,
    colour: u8,
    filter: u8,
    data: Vec<u8>,
}

const COLOURS: [ExtendedColorType; 6] = [
    ExtendedColorType::L8,
    ExtendedColorType::La8,
    ExtendedColorType::Rgb8,
    ExtendedColorType::Rgba8,
    ExtendedColorType::L16,
    ExtendedColorType::Rgba16,
];
const FILTERS: [FilterType; 6] = [
    FilterType::NoFilter,
    FilterType::Sub,
    FilterType::Up,
    FilterType::Avg,
    FilterType::Paeth,
    FilterType::Adaptive,
];

fn encode(width: u8, colour: u8, filter: u8, data: &[u8]) -> Option<Vec<u8>> {
    let colour = COLOURS[usize::from(colour) % COLOURS.len()];
    let filter = FILTERS[usize::from(filter) % FILTERS.len()];
    let bpp = usize::from(colour.bits_per_pixel() / 8);
    let width = usize::from(width).max(1);
    let height = data.len() / (width * bpp);
    if height == 0 {
        return None;
    }
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, filter)
        .write_image(
            &data[..width * height * bpp],
            width as u32,
            height as u32,
            colour,
        )
        .ok()?;
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    // First byte below 0x80: the rest is a file (the corpus holds PNGs of
    // every kind so); otherwise it describes pixels to encode.
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let bytes = if kind < 0x80 {
        let mut bytes = rest.to_vec();
        yail_fuzz::fix_png_crcs(&mut bytes);
        bytes
    } else {
        let Ok(Pixels {
            width,
            colour,
            filter,
            data,
        }) = Pixels::arbitrary(&mut Unstructured::new(rest))
        else {
            return;
        };
        match encode(width, colour, filter, &data) {
            Some(bytes) => bytes,
            None => return,
        }
    };
    let options = yail_fuzz::fuzz_limits();
    // Every unfiltering variant this processor has (portable, SSE2 without
    // the AVX2 encoding, AVX2) against row-by-row unfiltering.
    let variants = yail_core::png_unfilter_variants(&bytes, &options);
    if let Some(((_, reference), others)) = variants.split_first() {
        for (name, pixels) in others {
            assert!(pixels == reference, "{name} unfilters differently");
        }
    }
    let ours = yail_core::decode(&bytes, &options);
    let reference = if image::guess_format(&bytes).ok() == Some(ImageFormat::Png) {
        yail_fuzz::reference_decode(&bytes, ImageFormat::Png, &options)
    } else {
        return;
    };
    match (ours, reference) {
        (Ok(picture), Some(expected)) => {
            assert!(
                yail_fuzz::pixels_of(&picture) == expected,
                "different pixels"
            )
        }
        (Ok(picture), None) => {
            // Only a stream libdeflate reads leniently, with its checksum right.
            let repaired = yail_fuzz::recompressed_png(&bytes)
                .and_then(|b| yail_fuzz::reference_decode(&b, ImageFormat::Png, &options));
            assert!(
                repaired == Some(yail_fuzz::pixels_of(&picture)),
                "we decoded a file the image crate refuses"
            );
        }
        (Err(e), Some(_)) => assert!(yail_fuzz::is_limit(&e), "we refused a good file: {e}"),
        (Err(_), None) => {}
    }
});
