//! An 8-bit picture in memory: grey or RGB, rows top to bottom.

use crate::colour::luma601;
use crate::error::{Error, Result};

/// The channels of a [`Picture`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// One byte per pixel: grey, sRGB-encoded.
    Grey,
    /// Three bytes per pixel: red, green, blue, sRGB-encoded.
    Rgb,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub const fn channels(self) -> usize {
        match self {
            PixelFormat::Grey => 1,
            PixelFormat::Rgb => 3,
        }
    }
}

/// An 8-bit sRGB picture.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    width: u32,
    height: u32,
    format: PixelFormat,
    data: Vec<u8>,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Picture")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Picture {
    /// A picture from its pixel bytes; the length must be
    /// `width * height * format.channels()` and both dimensions non-zero.
    pub fn new(width: u32, height: u32, format: PixelFormat, data: Vec<u8>) -> Result<Picture> {
        if width == 0 || height == 0 {
            return Err(Error::NoPixels);
        }
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(format.channels()))
            .ok_or(Error::NoPixels)?;
        if data.len() != expected {
            return Err(Error::BufferSize {
                width,
                height,
                channels: format.channels(),
                expected,
                actual: data.len(),
            });
        }
        Ok(Picture {
            width,
            height,
            format,
            data,
        })
    }

    /// A picture of one colour.
    pub fn filled(width: u32, height: u32, rgb: [u8; 3]) -> Result<Picture> {
        let n = (width as usize) * (height as usize);
        Picture::new(width, height, PixelFormat::Rgb, rgb.repeat(n))
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Grey or RGB.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The pixel bytes, rows top to bottom.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes the pixel bytes out.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The pixel at `(x, y)` as RGB.
    ///
    /// # Panics
    /// When `(x, y)` is outside the picture.
    pub fn rgb_at(&self, x: u32, y: u32) -> [u8; 3] {
        assert!(
            x < self.width && y < self.height,
            "pixel outside the picture"
        );
        let i = (y as usize * self.width as usize + x as usize) * self.format.channels();
        match self.format {
            PixelFormat::Grey => [self.data[i]; 3],
            PixelFormat::Rgb => [self.data[i], self.data[i + 1], self.data[i + 2]],
        }
    }

    /// The same picture with three channels.
    pub fn to_rgb(&self) -> Picture {
        match self.format {
            PixelFormat::Rgb => self.clone(),
            PixelFormat::Grey => Picture {
                data: self.data.iter().flat_map(|&v| [v, v, v]).collect(),
                format: PixelFormat::Rgb,
                ..*self
            },
        }
    }

    /// The picture's Rec. 601 luma (computed on the sRGB-encoded values, as
    /// most software including Pillow does).
    pub fn to_grey(&self) -> Picture {
        self.to_grey_in(Vec::new())
    }

    /// [`Picture::to_grey`] written into `buffer`'s memory, for callers
    /// that convert many pictures: a fresh 100-300 kB buffer each time
    /// is an allocation that glibc clears first. `buffer`'s contents do
    /// not matter; every byte kept is overwritten.
    pub(crate) fn to_grey_in(&self, mut buffer: Vec<u8>) -> Picture {
        match self.format {
            PixelFormat::Grey => self.clone(),
            PixelFormat::Rgb => {
                // Only the part beyond the old length is cleared.
                buffer.resize(self.data.len() / 3, 0);
                pulp::Arch::new().dispatch(Luma(&self.data, &mut buffer));
                Picture {
                    data: buffer,
                    format: PixelFormat::Grey,
                    ..*self
                }
            }
        }
    }

    /// Encodes the picture as PNG (for previews and debugging).
    pub fn to_png(&self) -> Vec<u8> {
        use image::ImageEncoder;
        let mut out = Vec::new();
        let color = match self.format {
            PixelFormat::Grey => image::ExtendedColorType::L8,
            PixelFormat::Rgb => image::ExtendedColorType::Rgb8,
        };
        // Writing PNG into a Vec cannot fail for valid dimensions, which the
        // constructor guarantees.
        let _ = image::codecs::png::PngEncoder::new(&mut out).write_image(
            &self.data,
            self.width,
            self.height,
            color,
        );
        out
    }
}

/// Rec. 601 luma of packed RGB bytes, [`luma601`] per pixel, as a `pulp`
/// operation: RGB in, grey out ([`rgb_to_luma_into`] does the work).
///
/// Sixteen pixels at a time as fixed-size arrays, which the compiler turns
/// into vector code when it may use AVX2: baseline x86-64 (SSE2) has no
/// 32-bit vector multiply and no byte shuffle to pull the channels apart,
/// so that build stays scalar. `pulp` compiles the loop a second time with
/// AVX2 enabled and picks the version at run time, without `unsafe` here.
/// With AVX2 the Graphics 8 fit stage (luma, then resize) of a 512x512
/// picture takes about two thirds of the scalar build's time.
struct Luma<'a>(&'a [u8], &'a mut [u8]);

impl pulp::WithSimd for Luma<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        rgb_to_luma_into(self.0, self.1);
    }
}

// Inlined into `pulp`'s per-instruction-set copies, so each is compiled
// with that set's features.
#[inline(always)]
fn rgb_to_luma_into(rgb: &[u8], grey: &mut [u8]) {
    const BLOCK: usize = 16;
    let mut blocks = grey.chunks_exact_mut(BLOCK);
    let mut sources = rgb.chunks_exact(BLOCK * 3);
    for (out, src) in (&mut blocks).zip(&mut sources) {
        let src: &[u8; BLOCK * 3] = src.try_into().unwrap_or(&[0; BLOCK * 3]);
        let out: &mut [u8; BLOCK] = match out.try_into() {
            Ok(out) => out,
            Err(_) => continue,
        };
        let mut sums = [0u32; BLOCK];
        for (i, sum) in sums.iter_mut().enumerate() {
            *sum = 19_595 * u32::from(src[3 * i])
                + 38_470 * u32::from(src[3 * i + 1])
                + 7_471 * u32::from(src[3 * i + 2])
                + 32_768;
        }
        for (o, sum) in out.iter_mut().zip(sums) {
            *o = (sum >> 16) as u8;
        }
    }
    for (g, p) in blocks
        .into_remainder()
        .iter_mut()
        .zip(sources.remainder().chunks_exact(3))
    {
        *g = luma601(p[0], p[1], p[2]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_length_is_checked() {
        assert!(Picture::new(2, 2, PixelFormat::Rgb, vec![0; 12]).is_ok());
        assert!(matches!(
            Picture::new(2, 2, PixelFormat::Rgb, vec![0; 11]),
            Err(Error::BufferSize { expected: 12, .. })
        ));
        assert_eq!(
            Picture::new(0, 2, PixelFormat::Grey, vec![]),
            Err(Error::NoPixels)
        );
    }

    #[test]
    fn grey_and_rgb_convert() {
        let p = Picture::new(2, 1, PixelFormat::Rgb, vec![255, 0, 0, 255, 255, 255]).unwrap();
        assert_eq!(p.to_grey().data(), &[76, 255]);
        assert_eq!(p.to_grey().to_rgb().rgb_at(0, 0), [76, 76, 76]);
    }

    proptest::proptest! {
        #[test]
        fn block_luma_matches_the_per_pixel_formula(
            rgb in proptest::collection::vec(proptest::prelude::any::<u8>(), 3..200),
            old in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..100),
        ) {
            let whole = &rgb[..rgb.len() / 3 * 3];
            let expected: Vec<u8> = whole.chunks_exact(3).map(|p| luma601(p[0], p[1], p[2])).collect();
            // Dispatched (AVX2 where the processor has it), into a buffer
            // that held something else, shorter or longer; and baseline.
            let picture = Picture::new(expected.len() as u32, 1, PixelFormat::Rgb, whole.to_vec()).unwrap();
            let grey = picture.to_grey_in(old);
            proptest::prop_assert_eq!(grey.data(), &expected[..]);
            let mut baseline = vec![0u8; expected.len()];
            rgb_to_luma_into(whole, &mut baseline);
            proptest::prop_assert_eq!(baseline, expected);
        }
    }
}
