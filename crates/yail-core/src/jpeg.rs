//! The JPEG paths that do less work than a full decode: reduced DCT scale
//! for large pictures, the luma plane alone for grey modes, and, for large
//! progressive files, the DC scans alone.

use std::io::Cursor;

use image::metadata::Orientation;

use crate::decode::{DecodeOptions, Target, orient};
use crate::error::{Error, Result};
use crate::fit::Fit;
use crate::picture::{Picture, PixelFormat};

/// A reduced-scale JPEG decode keeps at least this many decoded pixels per
/// output pixel along each axis, so the final resize still filters properly.
const DCT_MARGIN: f64 = 2.0;

/// Whether a JPEG's end-of-image marker is present near its end (it cannot
/// occur inside entropy-coded data, where `FF` is always followed by `00`
/// or a restart marker).
pub(crate) fn has_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Decodes a JPEG at a reduced DCT scale when the target needs at most half
/// its size. Returns `None` when that does not apply (small picture, CMYK,
/// 16-bit), so the general path handles it.
pub(crate) fn decode_scaled(
    bytes: &[u8],
    target: Target,
    options: &DecodeOptions,
) -> Result<Option<Picture>> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    if decoder.read_info().is_err() {
        // Let the general decoder produce the error message.
        return Ok(None);
    }
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    options.check_size(width, height)?;
    let format = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => PixelFormat::Gray,
        jpeg_decoder::PixelFormat::RGB24 => PixelFormat::Rgb,
        _ => return Ok(None),
    };
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    // The target is in display orientation; the decoder works in file orientation.
    let (tw, th) = match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (target.height, target.width),
        _ => (target.width, target.height),
    };
    let (fw, fh) = (f64::from(width), f64::from(height));
    let (sx, sy) = {
        let (x, y) = (f64::from(tw) / fw, f64::from(th) / fh);
        match target.fit {
            Fit::Letterbox => (x.min(y), x.min(y)),
            Fit::Crop => (x.max(y), x.max(y)),
            Fit::Stretch => (x, y),
        }
    };
    let (need_w, need_h) = ((fw * sx * DCT_MARGIN).ceil(), (fh * sy * DCT_MARGIN).ceil());
    if need_w * 2.0 > fw || need_h * 2.0 > fh {
        // Not even half scale would do: decode normally.
        return Ok(None);
    }
    let request = |v: u32| u16::try_from(v.max(1)).unwrap_or(u16::MAX);
    let (sw, sh) = decoder
        .scale(request(need_w as u32), request(need_h as u32))
        .map_err(|e| Error::Malformed(e.to_string()))?;
    let channels = format.channels() as u64;
    if u64::from(sw) * u64::from(sh) * channels > options.max_alloc {
        return Err(Error::MemoryLimit {
            limit: options.max_alloc,
        });
    }
    decoder.set_max_decoding_buffer_size(usize::try_from(options.max_alloc).unwrap_or(usize::MAX));
    let pixels = decoder.decode().map_err(|e| match e {
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Malformed("the file ends too early".into())
        }
        other => Error::Malformed(other.to_string()),
    })?;
    let picture = Picture::new(u32::from(sw), u32::from(sh), format, pixels)
        .map_err(|e| Error::Malformed(e.to_string()))?;
    Ok(Some(orient(picture, orientation)))
}

/// Decodes only the luma plane of a JPEG, for callers that need grey: the
/// colour planes are entropy-decoded (they are interleaved with it) but not
/// transformed or converted, about a fifth less work for a photo (rocket.jpg
/// 2.7 to 2.1 ms) and half for a large one. JPEG's Y is the Rec. 601 luma
/// of the colours, so this is the grey the pipeline would compute. `None`
/// for what this path does not handle (CMYK, damaged files): the general
/// path decodes those and words their errors.
pub(crate) fn decode_luma(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Picture>> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;

    let settings = DecoderOptions::default()
        .set_max_width(options.max_width as usize)
        .set_max_height(options.max_height as usize)
        .jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), settings);
    if decoder.decode_headers().is_err() {
        return Ok(None);
    }
    let (Some((width, height)), Some(colour)) = (decoder.dimensions(), decoder.input_colorspace())
    else {
        return Ok(None);
    };
    if !matches!(colour, ColorSpace::YCbCr | ColorSpace::Luma) {
        return Ok(None);
    }
    let (width, height) = (width as u32, height as u32);
    options.check_size(width, height)?;
    if u64::from(width) * u64::from(height) > options.max_alloc {
        return Err(Error::MemoryLimit {
            limit: options.max_alloc,
        });
    }
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    let Ok(pixels) = decoder.decode() else {
        return Ok(None);
    };
    Ok(Picture::new(width, height, PixelFormat::Gray, pixels)
        .ok()
        .map(|picture| orient(picture, orientation)))
}
