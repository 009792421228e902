//! Fitting and resizing a picture onto a mode's pixel grid, with
//! `fast_image_resize` (SIMD Lanczos3), and squeezing to wide pixels.

use fast_image_resize as fr;

use crate::error::{Error, Result};
use crate::fit::{Fit, place};
use crate::picture::{Picture, PixelFormat};

/// Resizes pictures onto black frames, reusing its buffers.
#[derive(Debug, Default)]
pub(crate) struct Fitter {
    resizer: fr::Resizer,
}

impl Fitter {
    /// Draws `src` on a black `grid` frame (of screen shape `shape`),
    /// writing `grid.0 * grid.1` pixels of `src`'s format into `frame`.
    pub fn fit(
        &mut self,
        src: &Picture,
        fit: Fit,
        shape: (u32, u32),
        grid: (u32, u32),
        frame: &mut Vec<u8>,
    ) -> Result<()> {
        let channels = src.format().channels();
        // The picture's window is written in full below, so only what
        // lies outside it is cleared, not the whole frame each time.
        frame.resize(grid.0 as usize * grid.1 as usize * channels, 0);
        let placement = place((src.width(), src.height()), shape, grid, fit);
        let [dx, dy, dw, dh] = placement.dst;
        clear_outside(frame, grid.0 as usize * channels, placement.dst, channels);
        let [sl, st, sw, sh] = placement.src;
        let whole =
            sl == 0.0 && st == 0.0 && sw == f64::from(src.width()) && sh == f64::from(src.height());
        if whole && dw == src.width() && dh == src.height() {
            // Already the right size: copy rows, no resampling blur.
            let row = dw as usize * channels;
            let stride = grid.0 as usize * channels;
            for (y, src_row) in src.data().chunks_exact(row).enumerate() {
                let start = (dy as usize + y) * stride + dx as usize * channels;
                frame[start..start + row].copy_from_slice(src_row);
            }
            return Ok(());
        }
        let pixel_type = match src.format() {
            PixelFormat::Grey => fr::PixelType::U8,
            PixelFormat::Rgb => fr::PixelType::U8x3,
        };
        let resize_error =
            |e: &dyn std::fmt::Display| Error::Unsupported(format!("resize failed: {e}"));
        let src_view = fr::images::ImageRef::new(src.width(), src.height(), src.data(), pixel_type)
            .map_err(|e| resize_error(&e))?;
        let mut dst = fr::images::Image::from_slice_u8(grid.0, grid.1, frame, pixel_type)
            .map_err(|e| resize_error(&e))?;
        let mut window = fr::images::CroppedImageMut::new(&mut dst, dx, dy, dw, dh)
            .map_err(|e| resize_error(&e))?;
        let options = fr::ResizeOptions::new()
            .resize_alg(fr::ResizeAlg::Convolution(lanczos3()))
            .crop(sl, st, sw, sh);
        self.resizer
            .resize(&src_view, &mut window, &options)
            .map_err(|e| resize_error(&e))
    }
}

/// Sets to black every pixel of `frame` (rows of `stride` bytes) outside
/// the window `[x, y, width, height]`.
fn clear_outside(frame: &mut [u8], stride: usize, window: [u32; 4], channels: usize) {
    let [x, y, width, height] = window.map(|v| v as usize);
    let (left, right) = (x * channels, (x + width) * channels);
    for (row, line) in frame.chunks_exact_mut(stride).enumerate() {
        if (y..y + height).contains(&row) {
            line[..left].fill(0);
            line[right..].fill(0);
        } else {
            line.fill(0);
        }
    }
}

/// Lanczos3 from a table. `fast_image_resize` computes its filter weights
/// for every resize, two `sin` calls per weight, which costs about a tenth
/// of a Graphics 8 conversion; a table with linear interpolation is within
/// 2e-6 of the exact function, far below what 8-bit output can show.
fn lanczos3() -> fr::FilterType {
    // `Filter::new` only fails for a non-positive support.
    match fr::Filter::new("Lanczos3 (table)", lanczos3_table, 3.0) {
        Ok(filter) => fr::FilterType::Custom(filter),
        Err(_) => fr::FilterType::Lanczos3,
    }
}

const LANCZOS_STEPS: usize = 1024;

static LANCZOS_TABLE: std::sync::LazyLock<Vec<f64>> = std::sync::LazyLock::new(|| {
    (0..=3 * LANCZOS_STEPS + 1)
        .map(|i| lanczos3_exact(i as f64 / LANCZOS_STEPS as f64))
        .collect()
});

fn lanczos3_exact(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    if x.abs() >= 3.0 {
        return 0.0;
    }
    let px = std::f64::consts::PI * x;
    3.0 * px.sin() * (px / 3.0).sin() / (px * px)
}

fn lanczos3_table(x: f64) -> f64 {
    let x = x.abs();
    if x >= 3.0 {
        return 0.0;
    }
    let at = x * LANCZOS_STEPS as f64;
    let i = at as usize;
    let frac = at - i as f64;
    let table = &*LANCZOS_TABLE;
    table[i] + (table[i + 1] - table[i]) * frac
}

/// Averages groups of `factor` horizontal pixels of an 8-bit frame in the
/// working space given by `table` (byte to working value), producing
/// `width / factor` columns of `channels` floats each.
///
/// Each Atari pixel of Graphics 9, 10, 11 (factor 4) and 15 (factor 2)
/// covers that many screen pixels, so the best single value for it is the
/// mean of the light they would have shown.
pub(crate) fn squeeze(
    frame: &[u8],
    width: usize,
    channels: usize,
    factor: usize,
    table: &[f32; 256],
    out: &mut Vec<f32>,
) {
    // The shapes the modes use get a loop with both counts fixed at compile
    // time: written for any count, the Graphics 9 squeeze (a quarter of the
    // values out, each the sum of four looked-up values) costs as much as
    // dithering the result.
    match (channels, factor) {
        (_, 1) => {
            out.clear();
            out.extend(frame.iter().map(|&v| table[usize::from(v)]));
        }
        (1, 2) => squeeze_fixed::<1, 2>(frame, width, table, out),
        (1, 4) => squeeze_fixed::<1, 4>(frame, width, table, out),
        (3, 2) => squeeze_fixed::<3, 2>(frame, width, table, out),
        (3, 4) => squeeze_fixed::<3, 4>(frame, width, table, out),
        _ => squeeze_any(frame, width, channels, factor, table, out),
    }
}

/// [`squeeze`] for `C` channels and a factor of `F`.
fn squeeze_fixed<const C: usize, const F: usize>(
    frame: &[u8],
    width: usize,
    table: &[f32; 256],
    out: &mut Vec<f32>,
) {
    let scale = 1.0 / F as f32;
    let groups = width / F;
    out.clear();
    if groups == 0 {
        return;
    }
    out.resize(frame.len() / (width * C) * groups * C, 0.0);
    for (row, out_row) in frame
        .chunks_exact(width * C)
        .zip(out.chunks_exact_mut(groups * C))
    {
        for (group, o) in row.chunks_exact(F * C).zip(out_row.chunks_exact_mut(C)) {
            for c in 0..C {
                // Summed in the same order as `squeeze_any`, so the two
                // agree bit for bit.
                let mut sum = 0.0f32;
                for i in 0..F {
                    sum += table[usize::from(group[i * C + c])];
                }
                o[c] = sum * scale;
            }
        }
    }
}

/// [`squeeze`] for any channel count and factor: the plain form.
fn squeeze_any(
    frame: &[u8],
    width: usize,
    channels: usize,
    factor: usize,
    table: &[f32; 256],
    out: &mut Vec<f32>,
) {
    out.clear();
    if width * channels == 0 {
        return;
    }
    let scale = 1.0 / factor as f32;
    for row in frame.chunks_exact(width * channels) {
        for group in row.chunks_exact(factor * channels) {
            for c in 0..channels {
                let sum: f32 = (0..factor)
                    .map(|i| table[group[i * channels + c] as usize])
                    .sum();
                out.push(sum * scale);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_size_is_copied_and_letterboxed() {
        let src = Picture::new(2, 2, PixelFormat::Grey, vec![10, 20, 30, 40]).unwrap();
        let mut frame = Vec::new();
        Fitter::default()
            .fit(&src, Fit::Letterbox, (4, 2), (4, 2), &mut frame)
            .unwrap();
        assert_eq!(frame, [0, 10, 20, 0, 0, 30, 40, 0]);
    }

    #[test]
    fn a_reused_frame_gives_what_a_fresh_one_gives() {
        // Placements that leave bars on either axis, or none, one after
        // another in the same frame.
        let sources = [
            Picture::filled(400, 100, [90, 90, 90]).unwrap(),
            Picture::filled(100, 400, [200, 10, 50]).unwrap(),
            Picture::filled(320, 220, [1, 2, 3]).unwrap(),
            Picture::filled(50, 50, [255, 255, 255]).unwrap(),
        ];
        let mut fitter = Fitter::default();
        let mut reused = vec![0xA5; 320 * 220 * 3];
        for fit in [Fit::Letterbox, Fit::Crop, Fit::Stretch] {
            for src in sources.iter().chain(sources.iter().rev()) {
                let mut fresh = Vec::new();
                Fitter::default()
                    .fit(src, fit, (320, 220), (320, 220), &mut fresh)
                    .unwrap();
                fitter
                    .fit(src, fit, (320, 220), (320, 220), &mut reused)
                    .unwrap();
                assert!(reused == fresh, "{fit:?} {}x{}", src.width(), src.height());
            }
        }
    }

    #[test]
    fn resize_keeps_flat_colour() {
        let src = Picture::filled(333, 97, [200, 100, 50]).unwrap();
        let mut frame = Vec::new();
        Fitter::default()
            .fit(&src, Fit::Stretch, (320, 220), (320, 220), &mut frame)
            .unwrap();
        assert_eq!(frame.len(), 320 * 220 * 3);
        assert!(frame.chunks_exact(3).all(|p| p == [200, 100, 50]));
    }

    #[test]
    fn lanczos_table_is_close_to_the_function() {
        let worst = (0..30_000)
            .map(|i| i as f64 / 10_000.0 - 0.0001)
            .map(|x| (lanczos3_table(x) - lanczos3_exact(x)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 2e-6, "{worst}");
        assert_eq!(lanczos3_table(3.5), 0.0);
    }

    proptest::proptest! {
        #[test]
        fn squeeze_shapes_match_the_plain_form(
            channels in proptest::sample::select(vec![1usize, 3]),
            factor in 1usize..=4,
            groups in 0usize..12,
            height in 0usize..5,
            seed in proptest::prelude::any::<u64>(),
        ) {
            // Widths that are not a multiple of the factor drop their last
            // pixels in both forms.
            let width = groups * factor + (seed % 2) as usize;
            let mut rng = fastrand::Rng::with_seed(seed);
            let frame: Vec<u8> = (0..width * height * channels).map(|_| rng.u8(..)).collect();
            let table: [f32; 256] = std::array::from_fn(|i| (i as f32 / 255.0).powf(2.2));
            let (mut fast, mut plain) = (vec![9.0; 3], Vec::new());
            squeeze(&frame, width, channels, factor, &table, &mut fast);
            if factor == 1 {
                plain.extend(frame.iter().map(|&v| table[usize::from(v)]));
            } else {
                squeeze_any(&frame, width, channels, factor, &table, &mut plain);
            }
            proptest::prop_assert_eq!(fast, plain);
        }
    }

    #[test]
    fn squeeze_averages_groups() {
        let table: [f32; 256] = std::array::from_fn(|i| i as f32);
        let mut out = Vec::new();
        squeeze(&[0, 4, 8, 12, 1, 1, 1, 1], 8, 1, 4, &table, &mut out);
        assert_eq!(out, [6.0, 1.0]);
    }
}
