//! Bytes of a picture file to a [`Picture`].
//!
//! Everything the `image` crate reads (JPEG, PNG, GIF's first frame, WebP,
//! BMP, TIFF), with EXIF orientation applied, transparency composited on
//! black and limits that stop decompression bombs before they allocate.
//! Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale in the DCT domain when
//! the caller only needs a small picture; the common kinds of PNG take a
//! faster path of their own (`png/`), and still WebPs are decoded by
//! libwebp (`webp.rs`).

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

    /// Refuses a decode that would allocate more than `max_alloc` bytes.
    pub(crate) fn check_alloc(&self, bytes: u64) -> Result<()> {
        if bytes > self.max_alloc {
            return Err(Error::MemoryLimit {
                limit: self.max_alloc,
            });
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
    decode_reusing(bytes, options, &mut DecodeBuffers::default())
}

/// Memory a decoder may reuse from one picture to the next (see
/// [`crate::png::decode_into`]).
#[derive(Debug, Default)]
pub(crate) struct DecodeBuffers {
    /// For the pixels.
    pub pixels: Vec<u8>,
    /// For compressed data that has to be joined first.
    pub compressed: Vec<u8>,
}

/// [`decode`], with `buffers`' memory used where the decoder can.
pub(crate) fn decode_reusing(
    bytes: &[u8],
    options: &DecodeOptions,
    buffers: &mut DecodeBuffers,
) -> Result<Picture> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let format = image::guess_format(bytes).map_err(|_| Error::UnknownFormat)?;
    if format == ImageFormat::Jpeg && !crate::jpeg::has_end(bytes) {
        // JPEG decoders paint whatever is missing grey; a half-transferred
        // file should be reported, not shown as half a picture.
        return Err(Error::Malformed("the file ends too early".into()));
    }
    if format == ImageFormat::Jpeg
        && let Some(target) = options.target
        && let Some(picture) = crate::jpeg::decode_scaled(bytes, target, options)?
    {
        return Ok(picture);
    }
    if format == ImageFormat::Jpeg
        && options.target.is_some_and(|t| t.grey)
        && let Some(picture) = crate::jpeg::decode_luma(bytes, options)?
    {
        return Ok(picture);
    }
    if format == ImageFormat::Png
        && let Some(picture) = crate::png::decode_into(bytes, options, buffers)?
    {
        return Ok(picture);
    }
    if format == ImageFormat::WebP
        && let Some(picture) = crate::webp::decode(bytes, options)?
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
    options.check_alloc(decoder.total_bytes())?;
    // Orientation is metadata; a file whose EXIF block is broken still shows.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(e, options))?;
    image.apply_orientation(orientation);
    Ok(from_dynamic(image))
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
            (PixelFormat::Gray, composite(&image.to_luma_alpha8(), 1))
        }
        other if other.color().has_alpha() => (PixelFormat::Rgb, composite(&other.to_rgba8(), 3)),
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
fn over_black(value: u8, alpha: u8) -> u8 {
    ((value as u32 * alpha as u32 + 127) / 255) as u8
}

/// Applies an EXIF orientation to a picture.
pub(crate) fn orient(picture: Picture, orientation: Orientation) -> Picture {
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

/// Colour channels of pixels with a trailing alpha byte, composited on black.
pub(crate) fn composite(pixels: &[u8], colours: usize) -> Vec<u8> {
    let count = pixels.len() / (colours + 1);
    let mut out = vec![0u8; count * colours];
    for (to, from) in out
        .chunks_exact_mut(colours)
        .zip(pixels.chunks_exact(colours + 1))
    {
        let alpha = from[colours];
        for (t, &v) in to.iter_mut().zip(from) {
            *t = over_black(v, alpha);
        }
    }
    out
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
