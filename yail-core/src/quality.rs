//! HVS-PSNR: how close the picture on the Atari's screen is to the ideal.
//!
//! Both pictures are compared the way an eye sees a screen from a normal
//! distance: converted to the space in which the screen mixes light, blurred
//! with a Gaussian of sigma one screen pixel (reflected borders, truncated
//! at four sigma), re-encoded as sRGB in 0..1, and scored as
//! `10 * log10(1 / MSE)`. Blurring linear light models LCDs, upscalers and
//! emulators; blurring sRGB values models a composite CRT.
//!
//! The ideal is the source fitted to the mode's screen with Lanczos (see
//! [`Converter::fit`](crate::Converter::fit)), as Rec. 601 luma for the
//! grey modes.

use crate::colour::{BlendSpace, linear_to_srgb};
use crate::error::{Error, Result};
use crate::picture::{Picture, PixelFormat};

/// Gaussian sigma in screen pixels.
const SIGMA: f32 = 1.0;
/// Taps on each side of the centre: four sigma.
const RADIUS: usize = 4;

/// The HVS-PSNR in dB of `shown` (a rendered packet) against `ideal`.
///
/// When `ideal` is grey, `shown` is compared by its luma. Identical
/// pictures score `f64::INFINITY`.
pub fn hvs_psnr(shown: &Picture, ideal: &Picture, space: BlendSpace) -> Result<f64> {
    if (shown.width(), shown.height()) != (ideal.width(), ideal.height()) {
        return Err(Error::Render(format!(
            "cannot compare a {}x{} picture with a {}x{} one",
            shown.width(),
            shown.height(),
            ideal.width(),
            ideal.height()
        )));
    }
    let shown = match ideal.format() {
        PixelFormat::Grey => shown.to_grey(),
        PixelFormat::Rgb => shown.to_rgb(),
    };
    let a = perceived(&shown, space);
    let b = perceived(ideal, space);
    let mse = a
        .iter()
        .zip(&b)
        .map(|(x, y)| f64::from(x - y).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    Ok(if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (1.0 / mse).log10()
    })
}

/// The picture blurred in `space`, as sRGB-encoded values in 0..1.
fn perceived(picture: &Picture, space: BlendSpace) -> Vec<f32> {
    let (w, h) = (picture.width() as usize, picture.height() as usize);
    let channels = picture.format().channels();
    let table = space.table();
    let values: Vec<f32> = picture
        .data()
        .iter()
        .map(|&v| table[usize::from(v)])
        .collect();
    let kernel = gaussian_kernel();
    let horizontal = blur_axis(&values, (w, h), channels, &kernel, (1, 0));
    let mut out = blur_axis(&horizontal, (w, h), channels, &kernel, (0, 1));
    if space == BlendSpace::Linear {
        out.iter_mut().for_each(|v| *v = linear_to_srgb(*v));
    }
    out
}

/// One pass of the separable blur along `axis` ((1, 0): rows, (0, 1):
/// columns), borders reflected.
fn blur_axis(
    values: &[f32],
    (w, h): (usize, usize),
    channels: usize,
    kernel: &[f32; 2 * RADIUS + 1],
    axis: (usize, usize),
) -> Vec<f32> {
    let mut out = vec![0.0f32; values.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..channels {
                out[(y * w + x) * channels + c] = kernel
                    .iter()
                    .enumerate()
                    .map(|(k, weight)| {
                        let offset = k as isize - RADIUS as isize;
                        let sx = if axis.0 == 1 {
                            reflect(x as isize + offset, w)
                        } else {
                            x
                        };
                        let sy = if axis.1 == 1 {
                            reflect(y as isize + offset, h)
                        } else {
                            y
                        };
                        weight * values[(sy * w + sx) * channels + c]
                    })
                    .sum();
            }
        }
    }
    out
}

fn gaussian_kernel() -> [f32; 2 * RADIUS + 1] {
    let mut k: [f32; 2 * RADIUS + 1] = std::array::from_fn(|i| {
        (-((i as f32 - RADIUS as f32).powi(2)) / (2.0 * SIGMA * SIGMA)).exp()
    });
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// Mirror an index into `0..n` the way `d c b a | a b c d | d c b a` does.
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let m = i.rem_euclid(period);
    (if m < n { m } else { period - 1 - m }) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_pictures_are_infinitely_good() {
        let p = Picture::filled(10, 10, [10, 200, 30]).unwrap();
        assert_eq!(hvs_psnr(&p, &p, BlendSpace::Linear), Ok(f64::INFINITY));
    }

    #[test]
    fn a_fine_checkerboard_looks_like_its_linear_mean() {
        // Black and white pixels alternating mix to 50 % light, which is
        // sRGB 188, not 128: the linear-light blur knows this.
        let checker: Vec<u8> = (0..64 * 64)
            .map(|i| if (i % 64 + i / 64) % 2 == 0 { 255 } else { 0 })
            .collect();
        let checker = Picture::new(64, 64, PixelFormat::Grey, checker).unwrap();
        let mid = |v| Picture::new(64, 64, PixelFormat::Grey, vec![v; 64 * 64]).unwrap();
        let linear_188 = hvs_psnr(&checker, &mid(188), BlendSpace::Linear).unwrap();
        let linear_128 = hvs_psnr(&checker, &mid(128), BlendSpace::Linear).unwrap();
        assert!(
            linear_188 > 30.0 && linear_188 > linear_128 + 10.0,
            "{linear_188} {linear_128}"
        );
        let srgb_128 = hvs_psnr(&checker, &mid(128), BlendSpace::Srgb).unwrap();
        assert!(srgb_128 > 30.0, "{srgb_128}");
    }

    #[test]
    fn reflection_matches_the_convention() {
        let got: Vec<usize> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
    }
}
