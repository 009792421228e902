//! What the differential tests (`tests/differential.rs`) and the fuzz
//! targets (`fuzz/`) hold our decoders against: the `image` crate's decode
//! normalised the way [`decode`](crate::decode) normalises its output, the
//! rules for comparing the two, and a PNG writer that produces every colour
//! type, depth and filter. Behind the `test-support` feature, hidden from
//! the documentation: it is not part of the crate's API.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::{DecodeOptions, Error, Picture, PixelFormat};

/// Pixels as (width, height, format, bytes).
pub type Pixels = (u32, u32, PixelFormat, Vec<u8>);

/// `picture` as plain [`Pixels`].
pub fn pixels_of(picture: &Picture) -> Pixels {
    (
        picture.width(),
        picture.height(),
        picture.format(),
        picture.data().to_vec(),
    )
}

/// How far (in grey levels) our luma-only JPEG decode may lie from the
/// Rec. 601 luma of the `image` crate's colour decode, on pixels the colour
/// decode did not clip ([`luma_distance`]). The luma plane is the file's Y
/// itself; the reference goes Y → RGB (each channel rounded) → Y again.
pub const JPEG_LUMA_TOLERANCE: u8 = 2;

/// The `image` crate's decode of `bytes`, with EXIF orientation applied,
/// 16-bit channels cut to 8 and transparency composited on black: what
/// `decode` promises to return. `None` if it refuses, or if the file is a
/// PNG whose palette is not 1 to 256 whole RGB triples: the `png` crate
/// 0.18 panics on those, and `decode` refuses them first.
pub fn reference_decode(
    bytes: &[u8],
    format: ImageFormat,
    options: &DecodeOptions,
) -> Option<Pixels> {
    if format == ImageFormat::Png && has_invalid_palette(bytes) {
        return None;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(options.max_width);
    limits.max_image_height = Some(options.max_height);
    limits.max_alloc = Some(options.max_alloc);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let (format, data) = match &image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => {
            (PixelFormat::Grey, image.to_luma8().into_raw())
        }
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            (PixelFormat::Grey, on_black(&image.to_luma_alpha8(), 1))
        }
        other if other.color().has_alpha() => (PixelFormat::Rgb, on_black(&image.to_rgba8(), 3)),
        other => (PixelFormat::Rgb, other.to_rgb8().into_raw()),
    };
    Some((width, height, format, data))
}

/// Whether a PNG's palette (before its image data) is empty, over 256
/// colours or not whole RGB triples.
fn has_invalid_palette(bytes: &[u8]) -> bool {
    let mut rest = bytes.get(8..).unwrap_or_default();
    while let (Some(length), Some(kind)) = (rest.get(..4), rest.get(4..8)) {
        let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
        if kind == b"IDAT" || kind == b"IEND" {
            return false;
        }
        if kind == b"PLTE" {
            return length == 0 || !length.is_multiple_of(3) || length > 768;
        }
        rest = rest.get(12 + length..).unwrap_or_default();
    }
    false
}

/// Colour channels followed by an alpha byte, composited on black with
/// rounding: written out independently of the crate's own code.
fn on_black(pixels: &[u8], colours: usize) -> Vec<u8> {
    pixels
        .chunks_exact(colours + 1)
        .flat_map(|px| {
            let alpha = u32::from(px[colours]);
            px[..colours]
                .iter()
                .map(move |&v| ((u32::from(v) * alpha + 127) / 255) as u8)
        })
        .collect()
}

/// Whether `error` is a refusal by size or memory limit, which our decoder
/// may reach before the `image` crate would (it checks the header first).
pub fn is_limit(error: &Error) -> bool {
    matches!(
        error,
        Error::TooLarge { .. } | Error::MemoryLimit { .. } | Error::NoPixels
    )
}

/// `bytes` with its image data re-compressed into one valid zlib stream of
/// what libdeflate reads from it (checksum checked), or `None` if libdeflate
/// cannot read it or the file is not of the kind the PNG fast path takes
/// (8 bits, not interlaced, grey, grey + alpha, RGB or RGBA).
///
/// The one file our decode may show while the `png` crate refuses it: a
/// zlib stream that uses a codeword its distance code leaves unused, which
/// libdeflate reads as the code's one symbol and the `png` crate (like zlib)
/// refuses as an invalid distance code. The Adler-32 then vouches that what
/// libdeflate read is what was written; our pixels must be what the `png`
/// crate decodes from the same rows in a valid stream (docs/security.md).
pub fn recompressed_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?) as usize;
        let end = (at + 8).checked_add(len)?;
        if end + 4 > bytes.len() {
            break;
        }
        chunks.push((&bytes[at + 4..at + 8], &bytes[at + 8..end]));
        at = end + 4;
    }
    let (kind, ihdr) = *chunks.first()?;
    if kind != b"IHDR" || ihdr.len() != 13 || ihdr[8] != 8 || ihdr[12] != 0 {
        return None;
    }
    let channels = match ihdr[9] {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return None,
    };
    let word = |at: usize| {
        u32::from_be_bytes([ihdr[at], ihdr[at + 1], ihdr[at + 2], ihdr[at + 3]]) as usize
    };
    let raw_len = (word(0) * channels + 1).checked_mul(word(4))?;
    if raw_len > 64 << 20 {
        return None;
    }
    let zlib: Vec<u8> = chunks
        .iter()
        .filter(|(kind, _)| *kind == b"IDAT")
        .flat_map(|(_, data)| data.iter().copied())
        .collect();
    let mut raw = vec![0u8; raw_len];
    let read = libdeflater::Decompressor::new().zlib_decompress(&zlib, &mut raw);
    if read.ok() != Some(raw_len) {
        return None;
    }
    let mut out = bytes[..8].to_vec();
    let mut idat_written = false;
    for (kind, data) in chunks {
        match kind {
            b"IDAT" if idat_written => {}
            b"IDAT" => {
                idat_written = true;
                chunk(&mut out, b"IDAT", &zlib_of(&raw));
            }
            _ => {
                chunk(&mut out, kind.try_into().ok()?, data);
            }
        }
    }
    Some(out)
}

/// The largest difference between the Rec. 601 luma of `rgb` and `grey`,
/// over the pixels whose colour was not clipped (no channel at 0 or 255):
/// where the colour decode clipped, its luma is not the file's Y any more
/// and may lie far from it (a saturated red/blue edge, up to ~100 levels).
pub fn luma_distance(rgb: &[u8], grey: &[u8]) -> u8 {
    rgb.chunks_exact(3)
        .zip(grey)
        .filter(|(px, _)| px.iter().all(|&c| c != 0 && c != 255))
        .map(|(px, &g)| luma601(px[0], px[1], px[2]).abs_diff(g))
        .max()
        .unwrap_or(0)
}

/// BT.601 luma in the fixed point the luma-only JPEG path is held to: the
/// reference the colour decode's pixels are reduced with.
fn luma601(r: u8, g: u8, b: u8) -> u8 {
    ((19_595 * u32::from(r) + 38_470 * u32::from(g) + 7_471 * u32::from(b) + 32_768) >> 16) as u8
}

/// A PNG written by hand, so that every colour type, bit depth, palette,
/// transparency key, interlacing and filter byte can be produced (the
/// encoders at hand write only some of them).
#[derive(Debug, Clone)]
pub struct RawPng {
    /// Width in pixels (at least 1).
    pub width: u32,
    /// Height in pixels (at least 1).
    pub height: u32,
    /// Colour type: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA.
    pub colour: u8,
    /// Bits per sample (1, 2, 4, 8 or 16 as the colour type allows).
    pub depth: u8,
    /// Adam7 interlacing.
    pub interlaced: bool,
    /// PLTE contents (colour type 3).
    pub palette: Option<Vec<u8>>,
    /// tRNS contents.
    pub transparency: Option<Vec<u8>>,
    /// How many IDAT chunks the compressed data is split into.
    pub idat_parts: usize,
    /// The filter of every row, or `None`: each row's filter byte comes
    /// from `data` (runs of one filter reach the grouped SIMD rows).
    pub filter: Option<u8>,
    /// The bytes rows are made of, used in turn and again from the start
    /// (after one 0x5A) as often as the rows need: any bytes are valid
    /// filtered data.
    pub data: Vec<u8>,
}

/// The Adam7 passes as (x start, y start, x step, y step).
const ADAM7: [(u32, u32, u32, u32); 7] = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
];

impl RawPng {
    /// Bits per pixel.
    pub fn bits_per_pixel(&self) -> u32 {
        let samples = match self.colour {
            2 => 3,
            4 => 2,
            6 => 4,
            _ => 1,
        };
        samples * u32::from(self.depth)
    }

    /// (columns, rows) of each reduced image the rows are stored as.
    pub fn passes(&self) -> Vec<(u32, u32)> {
        if !self.interlaced {
            return vec![(self.width, self.height)];
        }
        ADAM7
            .iter()
            .map(|&(x0, y0, dx, dy)| {
                (
                    self.width.saturating_sub(x0).div_ceil(dx),
                    self.height.saturating_sub(y0).div_ceil(dy),
                )
            })
            .filter(|&(w, h)| w > 0 && h > 0)
            .collect()
    }

    /// The uncompressed image data: each row a filter byte (reduced to
    /// 0..=4) and its sample bytes, taken from `data`.
    pub fn filtered(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut bytes = self
            .data
            .iter()
            .copied()
            .chain(std::iter::once(0x5A))
            .cycle();
        for (w, h) in self.passes() {
            let row = (u64::from(w) * u64::from(self.bits_per_pixel())).div_ceil(8) as usize;
            for _ in 0..h {
                let filter = bytes.next().unwrap_or(0) % 5;
                out.push(self.filter.unwrap_or(filter));
                out.extend(bytes.by_ref().take(row));
            }
        }
        out
    }

    /// The file (signature, IHDR, PLTE, tRNS, the IDAT parts, IEND), and
    /// where each chunk starts in it.
    pub fn file(&self) -> (Vec<u8>, Vec<usize>) {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut starts = Vec::new();
        let mut header = self.width.to_be_bytes().to_vec();
        header.extend_from_slice(&self.height.to_be_bytes());
        header.extend_from_slice(&[self.depth, self.colour, 0, 0, u8::from(self.interlaced)]);
        starts.push(chunk(&mut out, b"IHDR", &header));
        if let Some(palette) = &self.palette {
            starts.push(chunk(&mut out, b"PLTE", palette));
        }
        if let Some(key) = &self.transparency {
            starts.push(chunk(&mut out, b"tRNS", key));
        }
        let zlib = zlib_of(&self.filtered());
        let part = zlib.len().div_ceil(self.idat_parts.max(1)).max(1);
        for piece in zlib.chunks(part) {
            starts.push(chunk(&mut out, b"IDAT", piece));
        }
        starts.push(chunk(&mut out, b"IEND", &[]));
        (out, starts)
    }
}

/// `raw` as one zlib stream (libdeflate, fastest level).
fn zlib_of(raw: &[u8]) -> Vec<u8> {
    let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::fastest());
    let mut zlib = vec![0; compressor.zlib_compress_bound(raw.len())];
    let len = compressor
        .zlib_compress(raw, &mut zlib)
        .expect("libdeflate's bound is enough by its contract");
    zlib.truncate(len);
    zlib
}

/// Appends one chunk with its CRC; returns where it starts.
pub fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) -> usize {
    let start = out.len();
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start + 4..]);
    out.extend_from_slice(&crc.to_be_bytes());
    start
}

/// The depths PNG allows for a colour type.
pub fn depths(colour: u8) -> &'static [u8] {
    match colour {
        0 => &[1, 2, 4, 8, 16],
        3 => &[1, 2, 4, 8],
        _ => &[8, 16],
    }
}
