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
use crate::error::Result;
use crate::picture::{Picture, PixelFormat};
use chunks::{Chunks, Header, image_data};
use unfilter::unfilter;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// [`decode_into`] with a new buffer.
#[cfg(test)]
pub(crate) fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Picture>> {
    decode_into(bytes, options, &mut DecodeBuffers::default())
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
    let Some(stream) = deflate_stream(data) else {
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
        inflater.deflate_decompress(stream, &mut raw[..raw_len]),
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

/// The deflate stream inside zlib-wrapped `data`, if the two-byte zlib
/// header is valid and asks for no preset dictionary.
///
/// The Adler-32 checksum at the end is not checked (it cost about 1 % of
/// a conversion). The `image` crate's decoder does not check it either,
/// so both paths accept the same files, and damaged data rarely inflates
/// to exactly the expected number of bytes: such a file is still left to
/// the general decoder.
fn deflate_stream(data: &[u8]) -> Option<&[u8]> {
    let [method, flags, ..] = *data else {
        return None;
    };
    let valid = method & 0x0F == 8
        && method >> 4 <= 7
        && flags & 0x20 == 0
        && (u16::from(method) << 8 | u16::from(flags)) % 31 == 0;
    valid.then(|| &data[2..])
}
