//! Pixel helpers shared by the decoders: pictures from the `image` crate's
//! buffers, EXIF orientation, and alpha composited on black.

use image::DynamicImage;
use image::metadata::Orientation;

use crate::picture::{Picture, PixelFormat};

/// Our picture from whatever the decoder produced: 8-bit, alpha on black.
pub(super) fn from_dynamic(image: DynamicImage) -> Picture {
    let (width, height) = (image.width(), image.height());
    let (format, data) = match image {
        DynamicImage::ImageLuma8(img) => (PixelFormat::Grey, img.into_raw()),
        DynamicImage::ImageRgb8(img) => (PixelFormat::Rgb, img.into_raw()),
        DynamicImage::ImageLuma16(_) => (PixelFormat::Grey, image.to_luma8().into_raw()),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            (PixelFormat::Grey, composite(&image.to_luma_alpha8(), 1))
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
    Picture::new(1, 1, PixelFormat::Grey, vec![0]).expect("1x1 picture")
}

/// A colour value with coverage `alpha`, composited on black.
#[inline]
fn over_black(value: u8, alpha: u8) -> u8 {
    ((value as u32 * alpha as u32 + 127) / 255) as u8
}

/// Applies an EXIF orientation to a picture.
pub(super) fn orient(picture: Picture, orientation: Orientation) -> Picture {
    if orientation == Orientation::NoTransforms {
        return picture;
    }
    let (w, h, format) = (picture.width(), picture.height(), picture.format());
    let mut image = match format {
        PixelFormat::Grey => {
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
pub(super) fn composite(pixels: &[u8], colours: usize) -> Vec<u8> {
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
