//! The general path: every format the `image` crate reads, within the
//! caller's limits. The fast paths fall back to it, and it is the
//! reference they are tested against.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::options::DecodeOptions;
use super::pixels::from_dynamic;
use crate::error::{Error, Result};
use crate::picture::Picture;

/// Decodes `bytes` of `format` with the `image` crate.
pub(super) fn decode_with_image(
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
