//! What the fuzz targets share. The reference decode (the `image` crate,
//! normalised the way `yail_core::decode` normalises its output), the
//! comparison rules of the differential targets and the hand-written PNGs
//! of the seeds are `yail_core::test_support`, which
//! `yail-core/tests/differential.rs` uses too; here are the limits the
//! targets run under and a PNG CRC fixer that lets the fuzzer reach past
//! the `png` crate's checksum check.

use yail_core::DecodeOptions;
pub use yail_core::test_support::{
    JPEG_LUMA_TOLERANCE, Pixels, RawPng, depths, is_limit, luma_distance, pixels_of,
    recompressed_png, reference_decode,
};

/// The limits the image targets run under: the server's defaults shrunk so
/// one input decodes in milliseconds. The code paths are the same; only the
/// thresholds move.
pub fn fuzz_limits() -> DecodeOptions {
    DecodeOptions {
        max_width: 4096,
        max_height: 4096,
        max_alloc: 64 << 20,
        target: None,
    }
}

/// Rewrites the CRC of every whole chunk after a PNG signature, so that
/// mutated files are judged on their contents, not their checksums (our
/// fast path skips CRCs; the `png` crate checks them).
pub fn fix_png_crcs(bytes: &mut [u8]) {
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let len =
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        let Some(end) = (at + 8).checked_add(len) else {
            return;
        };
        if end + 4 > bytes.len() {
            return;
        }
        let crc = crc32fast::hash(&bytes[at + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        at = end + 4;
    }
}
