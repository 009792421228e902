//! Dithering: choosing one of a few colours per pixel so that the mix of
//! neighbouring pixels reproduces the picture.
//!
//! The engine works on working-space values (see
//! [`BlendSpace`](crate::BlendSpace)) with one or three channels and asks a
//! [`Quantizer`] for the nearest available colour.

mod common;
mod grey;

use crate::grey_levels::GreyLevels;
use crate::quantizer::Quantizer;
use common::{BANDS, OVERSHOOT, band_starts};

/// How pixels are dithered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dither {
    /// Floyd–Steinberg error diffusion, alternating direction every row
    /// (serpentine), which avoids diagonal "worm" artefacts. The default.
    #[default]
    FloydSteinberg,
    /// Atkinson error diffusion: spreads 3/4 of the error, keeps contrast
    /// and clean flat areas at the cost of detail in shadows and highlights.
    Atkinson,
    /// Ordered dithering with an 8x8 Bayer matrix: a regular pattern,
    /// stable between video frames.
    Ordered,
    /// Nearest colour only.
    None,
}

impl std::str::FromStr for Dither {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "floydsteinberg" | "fs" => Ok(Dither::FloydSteinberg),
            "atkinson" => Ok(Dither::Atkinson),
            "ordered" | "bayer" => Ok(Dither::Ordered),
            "none" => Ok(Dither::None),
            _ => Err(format!(
                "unknown dithering {s:?} (expected floyd-steinberg, atkinson, ordered or none)"
            )),
        }
    }
}

/// The 8x8 Bayer threshold matrix, values 0..64.
const BAYER8: [[u8; 8]; 8] = [
    [0, 32, 8, 40, 2, 34, 10, 42],
    [48, 16, 56, 24, 50, 18, 58, 26],
    [12, 44, 4, 36, 14, 46, 6, 38],
    [60, 28, 52, 20, 62, 30, 54, 22],
    [3, 35, 11, 43, 1, 33, 9, 41],
    [51, 19, 59, 27, 49, 17, 57, 25],
    [15, 47, 7, 39, 13, 45, 5, 37],
    [63, 31, 55, 23, 61, 29, 53, 21],
];

/// Error rows reused between pictures.
#[derive(Debug, Default)]
pub(crate) struct DitherBuffers {
    rows: [Vec<f32>; 3],
    fixed: grey::FixedRows,
}

/// Dithers `values` (`width * height` pixels of `C` channels, row-major)
/// and writes one colour index per pixel to `out`.
pub(crate) fn dither<const C: usize, Q: Quantizer<C>>(
    values: &[f32],
    width: usize,
    height: usize,
    method: Dither,
    quantizer: &mut Q,
    buffers: &mut DitherBuffers,
    out: &mut Vec<u8>,
) {
    debug_assert_eq!(values.len(), width * height * C);

    out.clear();
    out.resize(width * height, 0);
    match method {
        Dither::FloydSteinberg => match quantizer.grey_levels() {
            Some(levels) => {
                grey::floyd_steinberg(values, width, height, levels, &mut buffers.fixed, out)
            }
            None => floyd_steinberg(values, width, height, quantizer, buffers, out),
        },
        Dither::Atkinson => diffuse(&ATKINSON, values, width, height, quantizer, buffers, out),
        Dither::Ordered => ordered(values, width, quantizer, out),
        Dither::None => {
            for (i, px) in values.chunks_exact(C).enumerate() {
                out[i] = quantizer.nearest(std::array::from_fn(|c| px[c]));
            }
        }
    }
}

/// Floyd–Steinberg of one-channel 8-bit `pixels` (`width * height`), whose
/// working values `table` gives, onto `levels`; the same indices as
/// [`dither`] of the looked-up values, without writing those out.
pub(crate) fn floyd_steinberg_bytes(
    pixels: &[u8],
    table: &[f32; 256],
    width: usize,
    height: usize,
    levels: &GreyLevels,
    buffers: &mut DitherBuffers,
    out: &mut Vec<u8>,
) {
    debug_assert_eq!(pixels.len(), width * height);
    out.clear();
    out.resize(width * height, 0);
    let mut fixed = [0; 256];
    let values = grey::Bytes::new(pixels, table, &mut fixed);
    grey::floyd_steinberg(values, width, height, levels, &mut buffers.fixed, out);
}

/// A pixel value plus its diffused error, kept near the range a screen
/// can show.
#[inline]
fn with_error<const C: usize>(values: &[f32], at: usize, error: &[f32], e_at: usize) -> [f32; C] {
    std::array::from_fn(|c| {
        (values[at * C + c] + error[e_at * C + c]).clamp(-OVERSHOOT, 1.0 + OVERSHOOT)
    })
}

#[inline]
fn spread_error<const C: usize>(row: &mut [f32], at: usize, err: &[f32; C], weight: f32) {
    for c in 0..C {
        row[at * C + c] += err[c] * weight;
    }
}

/// An error diffusion kernel: `(dx, dy, weight)` for a left-to-right row,
/// weights over `divisor`.
struct Kernel {
    taps: &'static [(isize, usize, f32)],
    divisor: f32,
    serpentine: bool,
}

/// Only the tests use it: production runs the specialised
/// [`floyd_steinberg`], which the tests hold to this definition.
#[cfg(test)]
const FLOYD_STEINBERG: Kernel = Kernel {
    taps: &[(1, 0, 7.0), (-1, 1, 3.0), (0, 1, 5.0), (1, 1, 1.0)],
    divisor: 16.0,
    serpentine: true,
};

/// Six neighbours get 1/8 each; the remaining 2/8 of the error is dropped.
const ATKINSON: Kernel = Kernel {
    taps: &[
        (1, 0, 1.0),
        (2, 0, 1.0),
        (-1, 1, 1.0),
        (0, 1, 1.0),
        (1, 1, 1.0),
        (0, 2, 1.0),
    ],
    divisor: 8.0,
    serpentine: false,
};

/// Padding of the error rows on each side, so taps never leave them.
const PAD: usize = 2;

fn diffuse<const C: usize, Q: Quantizer<C>>(
    kernel: &Kernel,
    values: &[f32],
    width: usize,
    height: usize,
    q: &mut Q,
    buffers: &mut DitherBuffers,
    out: &mut [u8],
) {
    for row in &mut buffers.rows {
        row.clear();
        row.resize((width + 2 * PAD) * C, 0.0);
    }
    let weights: Vec<(isize, usize, f32)> = kernel
        .taps
        .iter()
        .map(|&(dx, dy, w)| (dx, dy, w / kernel.divisor))
        .collect();
    for y in 0..height {
        let left_to_right = !kernel.serpentine || y % 2 == 0;
        for i in 0..width {
            let x = if left_to_right { i } else { width - 1 - i };
            let at = y * width + x;
            let e = x + PAD;
            let v = with_error::<C>(values, at, &buffers.rows[0], e);
            let (index, chosen) = q.nearest_with_colour(v);
            out[at] = index;
            let err: [f32; C] = std::array::from_fn(|c| v[c] - chosen[c]);
            for &(dx, dy, w) in &weights {
                let tx = if left_to_right {
                    e as isize + dx
                } else {
                    e as isize - dx
                } as usize;
                spread_error(&mut buffers.rows[dy], tx, &err, w);
            }
        }
        buffers.rows.rotate_left(1);
        buffers.rows[2].fill(0.0);
    }
}

/// Floyd–Steinberg, serpentine, in floats: the hot path of the colour
/// modes (grey levels take the fixed-point [`grey::floyd_steinberg`]).
///
/// Each pixel waits for the error of the one before it, so a single row is
/// a long chain of dependent arithmetic. The picture is therefore cut into
/// [`BANDS`] horizontal bands (at even rows, so all run in the same
/// direction) that are dithered independently and stepped through in
/// lockstep: the processor works on several chains at once. A band starts
/// without the error of the row above it, which no one can see.
/// [`diffuse`] with [`FLOYD_STEINBERG`] on each band is the plain version
/// this must agree with bit for bit.
fn floyd_steinberg<const C: usize, Q: Quantizer<C>>(
    values: &[f32],
    width: usize,
    height: usize,
    q: &mut Q,
    buffers: &mut DitherBuffers,
    out: &mut [u8],
) {
    let starts = band_starts(height);
    let rows_in = |b: usize| starts[b + 1] - starts[b];
    let stride = (width + 2 * PAD) * C;
    let [cur, next, _] = &mut buffers.rows;
    for row in [&mut *cur, &mut *next] {
        row.clear();
        row.resize(stride * BANDS, 0.0);
    }
    // Each band's pixels and indices, cut apart once so the loop below can
    // hold a row of every band at the same time.
    let band_values: [&[f32]; BANDS] =
        std::array::from_fn(|b| &values[starts[b] * width * C..starts[b + 1] * width * C]);
    let mut rest: &mut [u8] = out;
    let mut band_out: [&mut [u8]; BANDS] = std::array::from_fn(|b| {
        let (band, tail) = std::mem::take(&mut rest).split_at_mut(rows_in(b) * width);
        rest = tail;
        band
    });
    for y in 0..(0..BANDS).map(rows_in).max().unwrap_or(0) {
        let forward = y % 2 == 0;
        let mut rows: [Option<BandRow<'_, C>>; BANDS] = Default::default();
        let bands = (rows.iter_mut().zip(&band_values).zip(&mut band_out))
            .zip(cur.chunks_exact(stride).zip(next.chunks_exact_mut(stride)));
        for (b, (((slot, values), out), (cur, next))) in bands.enumerate() {
            if y < rows_in(b) {
                *slot = Some(BandRow {
                    values: &values[y * width * C..(y + 1) * width * C],
                    out: &mut out[y * width..(y + 1) * width],
                    cur,
                    next,
                    carry: [0.0; C],
                });
            }
        }
        for i in 0..width {
            let x = if forward { i } else { width - 1 - i };
            for row in rows.iter_mut().flatten() {
                row.step(q, x, forward);
            }
        }
        std::mem::swap(cur, next);
        next.fill(0.0);
    }
}

/// One row of one band while [`floyd_steinberg`] walks it.
struct BandRow<'a, const C: usize> {
    values: &'a [f32],
    out: &'a mut [u8],
    /// The error this row received from the row above.
    cur: &'a [f32],
    /// The error it passes to the row below.
    next: &'a mut [f32],
    /// The error for the next pixel of the row: it travels in registers,
    /// not through memory, and is added to `cur`'s error first, in the
    /// same order as the plain version.
    carry: [f32; C],
}

impl<const C: usize> BandRow<'_, C> {
    /// One Floyd–Steinberg step at column `x`.
    #[inline(always)]
    fn step<Q: Quantizer<C>>(&mut self, q: &mut Q, x: usize, forward: bool) {
        const W7: f32 = 7.0 / 16.0;
        const W3: f32 = 3.0 / 16.0;
        const W5: f32 = 5.0 / 16.0;
        const W1: f32 = 1.0 / 16.0;
        let e = x + PAD;
        let cur = &self.cur[e * C..(e + 1) * C];
        let pixel = &self.values[x * C..(x + 1) * C];
        let v: [f32; C] = std::array::from_fn(|c| {
            (pixel[c] + (cur[c] + self.carry[c])).clamp(-OVERSHOOT, 1.0 + OVERSHOOT)
        });
        let (index, chosen) = q.nearest_with_colour(v);
        self.out[x] = index;
        // Columns x - 1, x and x + 1 of the row below, in one slice.
        let below = &mut self.next[(e - 1) * C..(e + 2) * C];
        let (ahead, behind) = if forward { (2 * C, 0) } else { (0, 2 * C) };
        for c in 0..C {
            let err = v[c] - chosen[c];
            self.carry[c] = err * W7;
            below[behind + c] += err * W3;
            below[C + c] += err * W5;
            below[ahead + c] += err * W1;
        }
    }
}

fn ordered<const C: usize, Q: Quantizer<C>>(
    values: &[f32],
    width: usize,
    q: &mut Q,
    out: &mut [u8],
) {
    let spread = q.spread();
    for (i, px) in values.chunks_exact(C).enumerate() {
        let (x, y) = (i % width, i / width);
        let t = (f32::from(BAYER8[y % 8][x % 8]) + 0.5) / 64.0 - 0.5;
        out[i] = q.nearest(std::array::from_fn(|c| {
            (px[c] + t * spread).clamp(0.0, 1.0)
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn mean(indices: &[u8], levels: &GreyLevels) -> f32 {
        indices.iter().map(|&i| levels.colour(i)[0]).sum::<f32>() / indices.len() as f32
    }

    #[test]
    fn diffusion_preserves_the_mean_of_flat_areas() {
        let levels = GreyLevels::new(&[0.0, 0.9]);
        // Atkinson passes on only 3/4 of the error, so it clips shadows and
        // highlights on purpose; it keeps the mean of mid-tones only.
        let cases = [
            (Dither::FloydSteinberg, &[0.1f32, 0.25, 0.5, 0.8][..]),
            (Dither::Ordered, &[0.1, 0.25, 0.5, 0.8]),
            (Dither::Atkinson, &[0.5]),
        ];
        for (method, targets) in cases {
            for &target in targets {
                let values = vec![target; 64 * 64];
                let mut out = Vec::new();
                dither(
                    &values,
                    64,
                    64,
                    method,
                    &mut levels.clone(),
                    &mut DitherBuffers::default(),
                    &mut out,
                );
                let got = mean(&out, &levels);
                // Atkinson drops a quarter of the error, so it drifts more.
                let tolerance = if method == Dither::Atkinson {
                    0.06
                } else {
                    0.02
                };
                assert!(
                    (got - target).abs() < tolerance,
                    "{method:?} {target}: {got}"
                );
            }
        }
    }

    #[test]
    fn no_dithering_is_nearest() {
        let levels = GreyLevels::new(&[0.0, 0.5, 1.0]);
        let mut out = Vec::new();
        dither(
            &[0.1, 0.3, 0.9],
            3,
            1,
            Dither::None,
            &mut levels.clone(),
            &mut DitherBuffers::default(),
            &mut out,
        );
        assert_eq!(out, [0, 1, 2]);
    }

    /// The plain kernel run on each band of the picture on its own: what
    /// the banded [`floyd_steinberg`] must produce.
    fn plain_by_bands<const C: usize, Q: Quantizer<C> + Clone>(
        values: &[f32],
        width: usize,
        height: usize,
        q: &Q,
    ) -> Vec<u8> {
        let mut plain = vec![0; width * height];
        let starts = band_starts(height);
        for b in 0..BANDS {
            let rows = starts[b]..starts[b + 1];
            diffuse(
                &FLOYD_STEINBERG,
                &values[rows.start * width * C..rows.end * width * C],
                width,
                rows.len(),
                &mut q.clone(),
                &mut DitherBuffers::default(),
                &mut plain[rows.start * width..rows.end * width],
            );
        }
        plain
    }

    proptest! {
        #[test]
        fn fast_floyd_steinberg_matches_the_generic_kernel(
            width in 1usize..40,
            height in 1usize..24,
            seed in any::<u64>(),
            levels in proptest::collection::vec(0.0f32..1.0, 2..8),
        ) {
            let mut rng = fastrand::Rng::with_seed(seed);
            let values: Vec<f32> = (0..width * height).map(|_| rng.f32()).collect();
            let q = GreyLevels::new(&levels);
            let mut fast = vec![0; width * height];
            floyd_steinberg(&values, width, height, &mut q.clone(), &mut DitherBuffers::default(), &mut fast);
            prop_assert_eq!(fast, plain_by_bands::<1, _>(&values, width, height, &q));
        }

        #[test]
        fn fast_floyd_steinberg_matches_the_generic_kernel_in_colour(
            width in 1usize..40,
            height in 1usize..24,
            seed in any::<u64>(),
            palette in proptest::collection::vec([0.0f32..=1.0, 0.0f32..=1.0, 0.0f32..=1.0], 1..40),
        ) {
            let mut rng = fastrand::Rng::with_seed(seed);
            let values: Vec<f32> = (0..width * height * 3).map(|_| rng.f32()).collect();
            let q = crate::nearest::ColourSearch::new(palette);
            let mut fast = vec![0; width * height];
            floyd_steinberg(&values, width, height, &mut q.clone(), &mut DitherBuffers::default(), &mut fast);
            prop_assert_eq!(fast, plain_by_bands::<3, _>(&values, width, height, &q));
        }
    }
}
