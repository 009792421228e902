//! Bytes of a picture file to a [`Picture`].
//!
//! Everything the `image` crate reads (JPEG, PNG, GIF's first frame, WebP,
//! BMP, TIFF), with EXIF orientation applied, transparency composited on
//! black and limits that stop decompression bombs before they allocate.
//! Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale in the DCT domain when
//! the caller only needs a small picture; the common kinds of PNG take a
//! faster path of their own (`png.rs`).

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::{Error, Result};
use crate::fit::Fit;
use crate::picture::{Picture, PixelFormat};

/// What the decoder may use, and what the caller needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest allocation the decoder may make, in bytes.
    pub max_alloc: u64,
    /// The size the picture will be shrunk to, if known. Lets large JPEGs
    /// decode at a reduced scale (still at least twice the size needed).
    pub target: Option<Target>,
}

/// The frame a picture is going to be fitted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// How the picture will be fitted.
    pub fit: Fit,
    /// Whether only the grey (Rec. 601 luma) of the picture is needed: a
    /// colour JPEG's luma plane is then decoded without its colour planes.
    pub grey: bool,
}

/// A reduced-scale JPEG decode keeps at least this many decoded pixels per
/// output pixel along each axis, so the final resize still filters properly.
const DCT_MARGIN: f64 = 2.0;

impl Default for DecodeOptions {
    /// 16384x16384 pixels at most, 512 MiB of decoder memory at most.
    fn default() -> Self {
        DecodeOptions {
            max_width: 16_384,
            max_height: 16_384,
            max_alloc: 512 << 20,
            target: None,
        }
    }
}

impl DecodeOptions {
    /// These options with a target frame for reduced-scale JPEG decoding
    /// (colour needed).
    pub fn with_target(mut self, width: u32, height: u32, fit: Fit) -> DecodeOptions {
        self.target = Some(Target {
            width,
            height,
            fit,
            grey: false,
        });
        self
    }

    pub(crate) fn check_size(&self, width: u32, height: u32) -> Result<()> {
        if width > self.max_width || height > self.max_height {
            return Err(Error::TooLarge {
                width,
                height,
                max_width: self.max_width,
                max_height: self.max_height,
            });
        }
        if width == 0 || height == 0 {
            return Err(Error::NoPixels);
        }
        Ok(())
    }

    fn limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}

/// Decodes a picture file.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Picture> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let format = image::guess_format(bytes).map_err(|_| Error::UnknownFormat)?;
    if format == ImageFormat::Jpeg && !jpeg_has_end(bytes) {
        // JPEG decoders paint whatever is missing grey; a half-transferred
        // file should be reported, not shown as half a picture.
        return Err(Error::Malformed("the file ends too early".into()));
    }
    if format == ImageFormat::Jpeg
        && let Some(target) = options.target
        && let Some(picture) = decode_jpeg_scaled(bytes, target, options)?
    {
        return Ok(picture);
    }
    if format == ImageFormat::Jpeg
        && options.target.is_some_and(|t| t.grey)
        && let Some(picture) = decode_jpeg_luma(bytes, options)?
    {
        return Ok(picture);
    }
    if format == ImageFormat::Png
        && let Some(picture) = crate::png::decode(bytes, options)?
    {
        return Ok(picture);
    }
    decode_with_image(bytes, format, options)
}

pub(crate) fn decode_with_image(
    bytes: &[u8],
    format: ImageFormat,
    options: &DecodeOptions,
) -> Result<Picture> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(options.limits());
    // The header alone says how big the picture is: refuse a bomb before
    // any pixel memory is reserved, and name its size in the error.
    if let Ok((width, height)) =
        ImageReader::with_format(Cursor::new(bytes), format).into_dimensions()
    {
        options.check_size(width, height)?;
    }
    let mut decoder = reader.into_decoder().map_err(|e| image_error(e, options))?;
    let (width, height) = decoder.dimensions();
    options.check_size(width, height)?;
    if decoder.total_bytes() > options.max_alloc {
        return Err(Error::MemoryLimit {
            limit: options.max_alloc,
        });
    }
    // Orientation is metadata; a file whose EXIF block is broken still shows.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(e, options))?;
    image.apply_orientation(orientation);
    Ok(from_dynamic(image))
}

/// Whether a JPEG's end-of-image marker is present near its end (it cannot
/// occur inside entropy-coded data, where `FF` is always followed by `00`
/// or a restart marker).
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Maps the decoder's errors onto ours.
fn image_error(error: image::ImageError, options: &DecodeOptions) -> Error {
    use image::ImageError;
    use image::error::LimitErrorKind;
    match error {
        ImageError::Limits(limit) => match limit.kind() {
            LimitErrorKind::DimensionError => Error::TooLarge {
                width: 0,
                height: 0,
                max_width: options.max_width,
                max_height: options.max_height,
            },
            _ => Error::MemoryLimit {
                limit: options.max_alloc,
            },
        },
        ImageError::Unsupported(e) => Error::Unsupported(e.to_string()),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Malformed("the file ends too early".into())
        }
        other => Error::Malformed(other.to_string()),
    }
}

/// Our picture from whatever the decoder produced: 8-bit, alpha on black.
fn from_dynamic(image: DynamicImage) -> Picture {
    let (width, height) = (image.width(), image.height());
    let (format, data) = match image {
        DynamicImage::ImageLuma8(img) => (PixelFormat::Gray, img.into_raw()),
        DynamicImage::ImageRgb8(img) => (PixelFormat::Rgb, img.into_raw()),
        DynamicImage::ImageLuma16(_) => (PixelFormat::Gray, image.to_luma8().into_raw()),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            let la = image.to_luma_alpha8();
            (
                PixelFormat::Gray,
                la.chunks_exact(2).map(|p| over_black(p[0], p[1])).collect(),
            )
        }
        other if other.color().has_alpha() => {
            let rgba = other.to_rgba8();
            (
                PixelFormat::Rgb,
                rgba.chunks_exact(4)
                    .flat_map(|p| {
                        [
                            over_black(p[0], p[3]),
                            over_black(p[1], p[3]),
                            over_black(p[2], p[3]),
                        ]
                    })
                    .collect(),
            )
        }
        other => (PixelFormat::Rgb, other.to_rgb8().into_raw()),
    };
    // Dimensions and length come from the decoder's own buffer.
    Picture::new(width, height, format, data).unwrap_or_else(|_| unreachable_picture())
}

#[cold]
fn unreachable_picture() -> Picture {
    // The decoder's buffers always match their dimensions; keep a harmless
    // value rather than panic if that ever changed.
    Picture::new(1, 1, PixelFormat::Gray, vec![0]).expect("1x1 picture")
}

/// A colour value with coverage `alpha`, composited on black.
#[inline]
pub(crate) fn over_black(value: u8, alpha: u8) -> u8 {
    ((value as u32 * alpha as u32 + 127) / 255) as u8
}

/// Decodes a JPEG at a reduced DCT scale when the target needs at most half
/// its size. Returns `None` when that does not apply (small picture, CMYK,
/// 16-bit), so the general path handles it.
fn decode_jpeg_scaled(
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
fn decode_jpeg_luma(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Picture>> {
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

/// Applies an EXIF orientation to a picture.
fn orient(picture: Picture, orientation: Orientation) -> Picture {
    if orientation == Orientation::NoTransforms {
        return picture;
    }
    let (w, h, format) = (picture.width(), picture.height(), picture.format());
    let mut image = match format {
        PixelFormat::Gray => {
            image::GrayImage::from_raw(w, h, picture.into_data()).map(DynamicImage::ImageLuma8)
        }
        PixelFormat::Rgb => {
            image::RgbImage::from_raw(w, h, picture.into_data()).map(DynamicImage::ImageRgb8)
        }
    }
    .unwrap_or_else(|| DynamicImage::new_luma8(1, 1));
    image.apply_orientation(orientation);
    from_dynamic(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, color: image::ExtendedColorType, data: &[u8]) -> Vec<u8> {
        use image::ImageEncoder;
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(data, width, height, color)
            .unwrap();
        out
    }

    #[test]
    fn transparency_goes_on_black() {
        let bytes = png(
            2,
            1,
            image::ExtendedColorType::Rgba8,
            &[255, 255, 255, 255, 200, 100, 50, 128],
        );
        let picture = decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(picture.data(), &[255, 255, 255, 100, 50, 25]);
    }

    #[test]
    fn sixteen_bit_grey_becomes_eight_bit() {
        let data: Vec<u8> = [0u16, 65535].iter().flat_map(|v| v.to_be_bytes()).collect();
        let bytes = png(2, 1, image::ExtendedColorType::L16, &data);
        let picture = decode(&bytes, &DecodeOptions::default()).unwrap();
        assert_eq!(
            (picture.format(), picture.data()),
            (PixelFormat::Gray, &[0u8, 255][..])
        );
    }

    #[test]
    fn hostile_inputs_are_typed_errors() {
        let options = DecodeOptions::default();
        assert_eq!(decode(b"", &options), Err(Error::Empty));
        assert_eq!(decode(b"hello, world", &options), Err(Error::UnknownFormat));
        let good = png(4, 4, image::ExtendedColorType::L8, &[7; 16]);
        assert!(matches!(
            decode(&good[..good.len() / 2], &options),
            Err(Error::Malformed(_))
        ));
    }
}
