//! A fast path for the PNGs most pictures are: 8 bits per channel, not
//! interlaced, grey, grey with alpha, RGB or RGBA, without a transparency
//! key or EXIF block.
//!
//! Inflating the compressed data is most of a PNG's decoding time, and
//! libdeflate inflates a whole stream into a buffer of known size about
//! twice as fast as the `png` crate's streaming inflater on photos.
//! Filters are
//! undone in place, rows moving down to their final position as they go.
//!
//! Anything else, and any file this path cannot read, is left to the
//! `image` crate (the caller gets `None`), which is also the reference this
//! path is tested against: for every file both accept, the pixels are
//! identical. Only the size checks answer with an error here, before any
//! pixel memory is reserved.

mod chunks;
#[cfg(test)]
mod tests;
mod unfilter;

use super::options::{DecodeBuffers, DecodeOptions};
use super::pixels::composite;
use crate::error::{Error, Result};
use crate::picture::{Picture, PixelFormat};
use chunks::{Chunks, Header, image_data};
use unfilter::{Variant, unfilter, unfilter_with};

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// [`decode_into`] with a new buffer.
#[cfg(test)]
pub(crate) fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Picture>> {
    decode_into(bytes, options, &mut DecodeBuffers::default())
}

/// Refuses a palette the PNG standard does not allow (empty, over 256
/// entries, or a length that is not whole RGB triples) before any decoder
/// sees it: the `png` crate 0.18 panics on such a palette (found by
/// fuzzing, `fuzz/regressions/diff_png-png-crate-panics-on-short-palette.bin`).
pub(crate) fn check_palette(bytes: &[u8]) -> Result<()> {
    let Some(rest) = bytes.strip_prefix(&SIGNATURE) else {
        return Ok(());
    };
    for (kind, data) in Chunks(rest) {
        if &kind == b"PLTE" && (data.is_empty() || data.len() % 3 != 0 || data.len() > 256 * 3) {
            return Err(Error::Malformed(format!(
                "the palette holds {} bytes, not 1 to 256 colours of 3 bytes",
                data.len()
            )));
        }
        if &kind == b"IDAT" || &kind == b"IEND" {
            break; // the palette comes before the image data
        }
    }
    Ok(())
}

/// Decodes `bytes` if they are a PNG of the common kind; `None` otherwise.
///
/// The pixels are inflated into `buffers.pixels`' memory, which the
/// picture then owns (for grey and RGB files) and the caller may hand back
/// for the next picture; otherwise `buffers` keeps it. A buffer that is
/// long enough is not cleared first: inflating writes every byte of it.
/// Image data split over several chunks is joined in `buffers.compressed`.
pub(crate) fn decode_into(
    bytes: &[u8],
    options: &DecodeOptions,
    buffers: &mut DecodeBuffers,
) -> Result<Option<Picture>> {
    let Some(rest) = bytes.strip_prefix(&SIGNATURE) else {
        return Ok(None);
    };
    let mut chunks = Chunks(rest);
    let Some(header) = chunks.next().and_then(Header::parse) else {
        return Ok(None);
    };
    options.check_size(header.width, header.height)?;
    let (width, height, channels) = (
        header.width as usize,
        header.height as usize,
        header.channels,
    );
    let stride = width * channels;
    let raw_len = (stride as u64 + 1) * height as u64;
    options.check_alloc(raw_len)?;
    let DecodeBuffers { pixels, compressed } = buffers;
    let Some(data) = image_data(chunks, compressed) else {
        return Ok(None);
    };
    let raw_len = raw_len as usize;
    let mut raw = std::mem::take(pixels);
    if raw.capacity() < raw_len {
        // Growing would copy the old contents, which nobody needs.
        raw = vec![0u8; raw_len];
    } else if raw.len() < raw_len {
        raw.resize(raw_len, 0);
    }
    let mut inflater = libdeflater::Decompressor::new();
    let inflated = matches!(
        inflater.zlib_decompress(data, &mut raw[..raw_len]),
        Ok(n) if n == raw_len
    );
    if !inflated || !unfilter(&mut raw[..raw_len], stride, height, channels) {
        *pixels = raw;
        return Ok(None);
    }
    raw.truncate(stride * height);
    let (format, pixels) = match channels {
        1 => (PixelFormat::Grey, raw),
        3 => (PixelFormat::Rgb, raw),
        _ => {
            let format = if channels == 2 {
                PixelFormat::Grey
            } else {
                PixelFormat::Rgb
            };
            let composited = composite(&raw, channels - 1);
            *pixels = raw;
            (format, composited)
        }
    };
    Ok(Picture::new(header.width, header.height, format, pixels).ok())
}

/// Test hook, not part of the API: for a PNG this path takes (within
/// `options`' limits), its image data inflated, then unfiltered by each
/// variant of the unfiltering code this processor can run: `row-by-row`
/// (the reference, first), `portable` (grouped rows, no vectors), `sse2`
/// (without the AVX2 encoding, as an older processor runs it) and `avx2`
/// (what decoding uses here), as (name, pixels, or `None` when a row names
/// an unknown filter). Empty for any other file. The differential tests
/// and the `diff_png` fuzz target require every entry to equal the first.
#[doc(hidden)]
pub fn unfilter_variants(
    bytes: &[u8],
    options: &DecodeOptions,
) -> Vec<(&'static str, Option<Vec<u8>>)> {
    let Some(rest) = bytes.strip_prefix(&SIGNATURE) else {
        return Vec::new();
    };
    let mut chunks = Chunks(rest);
    let Some(header) = chunks.next().and_then(Header::parse) else {
        return Vec::new();
    };
    let (width, height, channels) = (
        header.width as usize,
        header.height as usize,
        header.channels,
    );
    let raw_len = (width * channels + 1) as u64 * height as u64;
    if options.check_size(header.width, header.height).is_err()
        || options.check_alloc(raw_len).is_err()
    {
        return Vec::new();
    }
    let mut joined = Vec::new();
    let Some(data) = image_data(chunks, &mut joined) else {
        return Vec::new();
    };
    let mut raw = vec![0u8; raw_len as usize];
    let mut inflater = libdeflater::Decompressor::new();
    if !matches!(inflater.zlib_decompress(data, &mut raw), Ok(n) if n == raw.len()) {
        return Vec::new();
    }
    let stride = width * channels;
    Variant::available()
        .into_iter()
        .map(|variant| {
            let mut pixels = raw.clone();
            let known = unfilter_with(variant, &mut pixels, stride, height, channels);
            pixels.truncate(stride * height);
            (variant.name(), known.then_some(pixels))
        })
        .collect()
}

// Why the zlib stream's Adler-32 is checked (`zlib_decompress`), although
// the `png` crate does not check it: libdeflate is more lenient than the
// `png` crate's inflater (fdeflate, strict like zlib). When a block's
// distance code has one codeword, or none, libdeflate gives the unused
// codeword to a real symbol where zlib reports "invalid distance code", and
// it reads the invalid distance symbols 30 and 31 as distances from 24577
// on. Damage that strays there usually changes the inflated bytes; their
// checksum then fails and the file goes to the `png` crate, which refuses
// it as the reference does. What remains is damage libdeflate reads as the
// bytes that were written (a flipped bit in a one-symbol code, found by the
// `diff_png` fuzz target; test
// `libdeflate_reads_a_stream_using_an_unused_distance_codeword`): we show
// those rows, the `png` crate refuses the file. Detecting it would take a
// second, strict inflate (fdeflate takes 1.1 to 1.7 times libdeflate's
// time on the sample photos), so it stays the one documented difference
// (docs/security.md). The checksum costs one vectorised pass over the
// inflated rows; a file with a wrong one is still decoded, by the `png`
// crate.
