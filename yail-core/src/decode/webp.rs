//! Still WebP pictures, lossy and lossless, decoded with libwebp.
//!
//! The `image` crate's pure-Rust WebP decoder takes longer on a large lossy
//! WebP than Pillow's whole pipeline (which decodes with libwebp); libwebp
//! is several times faster. Its C code is built by the `webp` crate's
//! binding with the ordinary C compiler, as libdeflate's is.
//!
//! Animated WebPs are left to the `image` crate, which decodes the first
//! frame only: the binding's animation decoder would decode every frame.
//! So are files with EXIF data, whose orientation the `image` path applies.
//! The test `webp_matches_the_image_crate` holds this path to the `image`
//! crate's output: equal for lossless files, within a few levels for lossy
//! ones (libwebp upsamples chroma with a smoother filter).

use super::options::DecodeOptions;
use super::pixels::composite;
use crate::error::Result;
use crate::picture::{Picture, PixelFormat};

/// Bit of the VP8X flags byte saying the file carries EXIF metadata.
const EXIF_FLAG: u8 = 0x08;

/// Whether `bytes` is a WebP in the extended format with EXIF metadata
/// (whose orientation the `image` crate applies).
fn has_exif(bytes: &[u8]) -> bool {
    bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|f| f & EXIF_FLAG != 0)
}

/// Decodes a still WebP with libwebp; `None` when the `image` crate should
/// (animation, EXIF, or a file libwebp refuses, whose error the `image`
/// crate then names).
pub(crate) fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Picture>> {
    let Some(features) = webp::BitstreamFeatures::new(bytes) else {
        return Ok(None);
    };
    if features.has_animation() || has_exif(bytes) {
        return Ok(None);
    }
    let (width, height) = (features.width(), features.height());
    options.check_size(width, height)?;
    let channels: u64 = if features.has_alpha() { 4 } else { 3 };
    options.check_alloc(u64::from(width) * u64::from(height) * channels)?;
    let Some(image) = webp::Decoder::new(bytes).decode() else {
        return Ok(None);
    };
    let data = if image.is_alpha() {
        composite(&image, 3)
    } else {
        image.to_vec()
    };
    Ok(Some(Picture::new(width, height, PixelFormat::Rgb, data)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exif_flag_is_read_from_the_extended_header() {
        let mut file = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0".to_vec();
        file.extend_from_slice(&[EXIF_FLAG, 0, 0, 0]);
        assert!(has_exif(&file));
        file[20] = 0x10; // alpha only
        assert!(!has_exif(&file));
        assert!(!has_exif(b"RIFF\0\0\0\0WEBPVP8 "));
    }

    #[test]
    fn garbage_is_left_to_the_image_crate() {
        let options = DecodeOptions::default();
        assert_eq!(decode(b"RIFF\0\0\0\0WEBPVP8 junk", &options), Ok(None));
    }
}
