//! Bytes of a picture file to a [`Picture`].
//!
//! Everything the `image` crate reads (JPEG, PNG, GIF's first frame, WebP,
//! BMP, TIFF), with EXIF orientation applied, transparency composited on
//! black and limits that stop decompression bombs before they allocate.
//! Large JPEGs are decoded at 1/2, 1/4 or 1/8 scale in the DCT domain when
//! the caller only needs a small picture; the common kinds of PNG take a
//! faster path of their own (`png/`), and still WebPs are decoded by
//! libwebp (`webp.rs`).

mod general;
mod jpeg;
mod options;
mod pixels;
mod png;
mod webp;

use image::ImageFormat;

use crate::error::{Error, Result};
use crate::picture::Picture;

pub(crate) use options::DecodeBuffers;
pub use options::{DecodeOptions, Target};
#[doc(hidden)]
pub use png::unfilter_variants as png_unfilter_variants;

/// Decodes a picture file.
pub fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Picture> {
    decode_reusing(bytes, options, &mut DecodeBuffers::default())
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
    if format == ImageFormat::Jpeg && !jpeg::has_end(bytes) {
        // JPEG decoders paint whatever is missing grey; a half-transferred
        // file should be reported, not shown as half a picture.
        return Err(Error::Malformed("the file ends too early".into()));
    }
    if format == ImageFormat::Jpeg
        && let Some(target) = options.target
        && let Some(picture) = jpeg::decode_scaled(bytes, target, options)?
    {
        return Ok(picture);
    }
    if format == ImageFormat::Jpeg
        && options.target.is_some_and(|t| t.grey)
        && let Some(picture) = jpeg::decode_luma(bytes, options)?
    {
        return Ok(picture);
    }
    if format == ImageFormat::Png {
        png::check_palette(bytes)?;
    }
    if format == ImageFormat::Png
        && let Some(picture) = png::decode_into(bytes, options, buffers)?
    {
        return Ok(picture);
    }
    if format == ImageFormat::WebP
        && let Some(picture) = webp::decode(bytes, options)?
    {
        return Ok(picture);
    }
    general::decode_with_image(bytes, format, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::picture::PixelFormat;

    fn png(width: u32, height: u32, colour: image::ExtendedColorType, data: &[u8]) -> Vec<u8> {
        use image::ImageEncoder;
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(data, width, height, colour)
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
            (PixelFormat::Grey, &[0u8, 255][..])
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
