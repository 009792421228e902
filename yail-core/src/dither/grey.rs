//! Floyd–Steinberg onto grey levels in fixed point: the hot loop of
//! Graphics 8, 9 and 15.
//!
//! The float version ([`super::floyd_steinberg`]) could serve these modes,
//! but on a Graphics 8 screen (70 400 pixels) most of its time goes to one
//! mispredicted branch: the compiler turns "lit or dark" into a jump, and
//! in mid-tones that choice is close to random. Here it is a conditional
//! move ([`std::hint::select_unpredictable`]). The rest of the gain comes
//! from a shorter chain per pixel (each pixel waits for the error of
//! the one before it): integer addition, a compare and a multiply-shift
//! instead of float additions, a compare feeding a table load, and a
//! float multiply. Integer addition is associative, so the value and the
//! error from the row above are summed before the loop, off the chain. The
//! next row's error stays in registers for the two positions still
//! receiving (one store per pixel instead of three read-modify-writes), and
//! two bands are stepped in lockstep as in the float version. Fitting,
//! dithering and packing a Graphics 8 screen take about a quarter less
//! time this way.
//!
//! Errors are split exactly: the shares ahead, behind below and below (7/16,
//! 3/16 and 5/16, or those [`GreyLevels::for_wide_pixels`] sets) are rounded
//! down and the pixel ahead below gets the remainder, so no light is lost or
//! made up.
//! [`reference`] is the textbook form this must agree with bit for bit.

use super::common::{BANDS, OVERSHOOT, band_starts};
use crate::grey_levels::GreyLevels;

/// Working value 1.0 in fixed point. Values stay within
/// `-OVERSHOOT..1 + OVERSHOOT`, so `err * 7` cannot overflow.
const ONE: f32 = 65536.0;

/// [`GreyLevels`] in fixed point.
#[derive(Debug, Clone, Copy)]
pub(super) struct FixedLevels {
    midpoints: [i32; 16],
    level_of_rank: [i32; 16],
    index_of_rank: [u8; 16],
    gaps: usize,
    low: i32,
    high: i32,
    shares: [i32; 3],
}

/// `v` in fixed point, rounded; held to -2..2 first (which also turns NaN
/// into a number), so midpoints past the last level (+infinity) become a
/// value no clamped pixel exceeds.
///
/// Written so that it vectorises: `as i32` saturates, which compiles to a
/// compare and fix-up per value, so this uses the float adder instead
/// (adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits).
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` would keep NaN
fn to_fixed(v: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    (v.max(-2.0).min(2.0) * ONE + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32
}

impl FixedLevels {
    pub fn new(levels: &GreyLevels) -> FixedLevels {
        FixedLevels {
            midpoints: levels.midpoints.map(to_fixed),
            level_of_rank: levels.value_of_rank.map(to_fixed),
            index_of_rank: levels.index_of_rank,
            gaps: levels.gaps,
            low: to_fixed(-OVERSHOOT),
            high: to_fixed(1.0 + OVERSHOOT),
            shares: levels.shares,
        }
    }

    /// Rank and value of the level nearest to `v`, comparing with the
    /// first `GAPS` midpoints (at least the number in use: the others lie
    /// above every clamped value). Picking the count at compile time lets
    /// the compiler make a few vector compares and a sum of them, not a
    /// chain of adds; with one gap (two levels) a single compare picks the
    /// level by a conditional move, no load.
    #[inline(always)]
    fn nearest<const GAPS: usize>(&self, v: i32) -> (u8, i32) {
        if GAPS == 1 {
            let brighter = v > self.midpoints[0];
            // Whether a pixel is lit is close to random in mid-tones: as a
            // branch it would be mispredicted about every other pixel.
            let level = std::hint::select_unpredictable(
                brighter,
                self.level_of_rank[1],
                self.level_of_rank[0],
            );
            (u8::from(brighter), level)
        } else {
            let rank: usize = self.midpoints[..GAPS]
                .iter()
                .map(|&m| usize::from(v > m))
                .sum();
            (rank as u8, self.level_of_rank[rank & 15])
        }
    }
}

/// The four shares of an error: ahead, behind below and below (`sixteenths`
/// of it, rounded down), ahead below (the rest).
#[inline(always)]
fn shares(err: i32, sixteenths: [i32; 3]) -> [i32; 4] {
    let [ahead, behind, below] = sixteenths.map(|s| (err * s) >> 4);
    [ahead, behind, below, err - ahead - behind - below]
}

/// Error rows kept between pictures: the row being read and the row
/// being written, `BANDS` bands side by side.
#[derive(Debug, Default)]
pub(super) struct FixedRows {
    above: Vec<i32>,
    below: Vec<i32>,
}

/// One band's row: its values plus the error it receives from above, its
/// output (ranks) and the error it passes down.
struct Row<'a> {
    input: &'a [i32],
    out: &'a mut [u8],
    below: &'a mut [i32],
}

/// Where the dithering loop's pixel values come from: working values, or
/// a frame's bytes through a table of their working values.
pub(super) trait Values: Copy {
    /// The values before `at`, and those from `at` on.
    fn split_at(self, at: usize) -> (Self, Self);
    /// Adds the values in `range`, in fixed point, to the error `row`
    /// received (a vectorised pass, off the dithering loop's critical path).
    fn add_to(self, row: &mut [i32], range: std::ops::Range<usize>);
}

impl Values for &[f32] {
    fn split_at(self, at: usize) -> (Self, Self) {
        <[f32]>::split_at(self, at)
    }

    #[inline(always)]
    fn add_to(self, row: &mut [i32], range: std::ops::Range<usize>) {
        for (e, &v) in row.iter_mut().zip(&self[range]) {
            *e += to_fixed(v);
        }
    }
}

/// 8-bit pixels and the working value of each byte.
#[derive(Clone, Copy)]
pub(super) struct Bytes<'a> {
    pixels: &'a [u8],
    fixed: &'a [i32; 256],
}

impl<'a> Bytes<'a> {
    /// `table` in fixed point, written into `fixed`: each byte then gives
    /// exactly what its working value would.
    pub fn new(pixels: &'a [u8], table: &[f32; 256], fixed: &'a mut [i32; 256]) -> Bytes<'a> {
        *fixed = table.map(to_fixed);
        Bytes { pixels, fixed }
    }
}

impl Values for Bytes<'_> {
    fn split_at(self, at: usize) -> (Self, Self) {
        let (low, high) = self.pixels.split_at(at);
        (
            Bytes {
                pixels: low,
                ..self
            },
            Bytes {
                pixels: high,
                ..self
            },
        )
    }

    #[inline(always)]
    fn add_to(self, row: &mut [i32], range: std::ops::Range<usize>) {
        for (e, &v) in row.iter_mut().zip(&self.pixels[range]) {
            *e += self.fixed[usize::from(v)];
        }
    }
}

/// Serpentine Floyd–Steinberg of `values` (`width * height`, one channel)
/// onto `levels`, one index per pixel into `out`.
// Out of line on purpose: inlined into `floyd_steinberg_bytes`, the loop
// is compiled about 2 % slower, and whether the compiler inlines it can
// change with unrelated code.
#[inline(never)]
pub(super) fn floyd_steinberg(
    values: impl Values,
    width: usize,
    height: usize,
    levels: &GreyLevels,
    rows: &mut FixedRows,
    out: &mut [u8],
) {
    let fixed = FixedLevels::new(levels);
    // Graphics 8, 15 and 9 have 1, 3 and 15 gaps; sixteen compares (a
    // whole number of vectors) measured faster than fifteen.
    match fixed.gaps {
        0 | 1 => bands::<1>(values, width, height, fixed, rows, out),
        2 | 3 => bands::<3>(values, width, height, fixed, rows, out),
        _ => bands::<16>(values, width, height, fixed, rows, out),
    }
    // The loop writes ranks (darkest first); most level sets are given in
    // that order already.
    let index_of_rank = fixed.index_of_rank;
    if index_of_rank[..=fixed.gaps.min(15)]
        .iter()
        .enumerate()
        .any(|(rank, &index)| usize::from(index) != rank)
    {
        for o in out.iter_mut() {
            *o = index_of_rank[usize::from(*o & 15)];
        }
    }
}

fn bands<const GAPS: usize>(
    values: impl Values,
    width: usize,
    height: usize,
    levels: FixedLevels,
    rows: &mut FixedRows,
    out: &mut [u8],
) {
    const { assert!(BANDS == 2) };
    if width == 0 {
        return;
    }
    let split = band_starts(height)[1] * width;
    let (values_0, values_1) = values.split_at(split);
    let (out_0, out_1) = out.split_at_mut(split);
    for row in [&mut rows.above, &mut rows.below] {
        row.clear();
        row.resize(width * BANDS, 0);
    }
    // Band 1 has as many rows as band 0, or up to two more.
    for y in 0..(height - split / width) {
        let (input_0, input_1) = rows.above.split_at_mut(width);
        let (below_0, below_1) = rows.below.split_at_mut(width);
        let at = y * width..(y + 1) * width;
        values_1.add_to(input_1, at.clone());
        let second = Row {
            input: input_1,
            out: &mut out_1[at.clone()],
            below: below_1,
        };
        let forward = y % 2 == 0;
        if at.end <= split {
            values_0.add_to(input_0, at.clone());
            let first = Row {
                input: input_0,
                out: &mut out_0[at],
                below: below_0,
            };
            if forward {
                run::<GAPS, 2>(levels, [first, second], 0..width);
            } else {
                run::<GAPS, 2>(levels, [first, second], (0..width).rev());
            }
        } else if forward {
            run::<GAPS, 1>(levels, [second], 0..width);
        } else {
            run::<GAPS, 1>(levels, [second], (0..width).rev());
        }
        std::mem::swap(&mut rows.above, &mut rows.below);
    }
}

/// Dithers `N` rows in lockstep along `xs` (left to right or back).
/// `levels` comes by value: the byte stores into `out` could alias a
/// borrowed table, which would make every pixel reload it.
#[inline(always)]
fn run<const GAPS: usize, const N: usize>(
    levels: FixedLevels,
    mut rows: [Row<'_>; N],
    mut xs: impl Iterator<Item = usize>,
) {
    let Some(first) = xs.next() else { return };
    let mut carry = [0i32; N];
    // Error collected for the position below the previous pixel, and for
    // the one below this pixel; the first is final once this pixel is done.
    let mut pending = [[0i32; 2]; N];
    let mut previous = first;
    for x in std::iter::once(first).chain(xs) {
        for b in 0..N {
            let row = &mut rows[b];
            let v = (row.input[x] + carry[b]).clamp(levels.low, levels.high);
            let (rank, level) = levels.nearest::<GAPS>(v);
            row.out[x] = rank;
            let [ahead, behind_below, below, ahead_below] = shares(v - level, levels.shares);
            carry[b] = ahead;
            // On the first pixel this writes a slot the next pixel rewrites.
            row.below[previous] = pending[b][0] + behind_below;
            pending[b] = [pending[b][1] + below, ahead_below];
        }
        previous = x;
    }
    for (row, pending) in rows.iter_mut().zip(pending) {
        row.below[previous] = pending[0];
    }
}

/// Textbook serpentine Floyd–Steinberg on one band with the same fixed-point
/// arithmetic: the definition [`floyd_steinberg`] is tested against.
#[cfg(test)]
pub(super) fn reference(
    values: &[f32],
    width: usize,
    height: usize,
    levels: &GreyLevels,
) -> Vec<u8> {
    let levels = FixedLevels::new(levels);
    let mut out = vec![0u8; width * height];
    // One slot of padding each side catches the taps that leave the row.
    let (mut here, mut below) = (vec![0i32; width + 2], vec![0i32; width + 2]);
    for y in 0..height {
        let forward = y % 2 == 0;
        let step = |e: usize, d: isize| if forward { e as isize + d } else { e as isize - d } as usize;
        for i in 0..width {
            let x = if forward { i } else { width - 1 - i };
            let e = x + 1;
            let v = (to_fixed(values[y * width + x]) + here[e]).clamp(levels.low, levels.high);
            let (rank, level) = levels.nearest::<16>(v);
            out[y * width + x] = levels.index_of_rank[usize::from(rank)];
            let [ahead, behind_below, straight_below, ahead_below] =
                shares(v - level, levels.shares);
            here[step(e, 1)] += ahead;
            below[step(e, -1)] += behind_below;
            below[e] += straight_below;
            below[step(e, 1)] += ahead_below;
        }
        std::mem::swap(&mut here, &mut below);
        below.fill(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shares_add_up_to_the_error() {
        let square = GreyLevels::new(&[0.0, 1.0]).shares;
        let wide = GreyLevels::new(&[0.0, 1.0]).for_wide_pixels().shares;
        for sixteenths in [square, wide] {
            let rest = 16 - sixteenths.iter().sum::<i32>();
            for err in (-100_000..100_000).step_by(7) {
                let [a, b, c, remainder] = shares(err, sixteenths);
                assert_eq!(a + b + c + remainder, err);
                // The remainder stays its sixteenths, give or take rounding.
                assert!(
                    (remainder * 16 - err * rest).abs() <= 48,
                    "{err}: {remainder}"
                );
            }
        }
    }

    #[test]
    fn fixed_point_is_rounded_and_bounded() {
        assert_eq!(to_fixed(0.0), 0);
        assert_eq!(to_fixed(1.0), 65536);
        assert_eq!(to_fixed(-0.5), -32768);
        assert_eq!(to_fixed(1.5 / 65536.0), 2);
        assert_eq!(to_fixed(f32::INFINITY), 131_072);
        assert_eq!(to_fixed(f32::NEG_INFINITY), -131_072);
        assert!(to_fixed(f32::NAN).abs() <= 131_072);
    }

    proptest! {
        #[test]
        fn bytes_dither_as_their_looked_up_values(
            width in 1usize..40,
            height in 1usize..24,
            seed in any::<u64>(),
            levels in proptest::collection::vec(0.0f32..1.0, 1..16),
        ) {
            let mut rng = fastrand::Rng::with_seed(seed);
            let pixels: Vec<u8> = (0..width * height).map(|_| rng.u8(..)).collect();
            // Any increasing table, reaching a little past 0..1.
            let table: [f32; 256] = std::array::from_fn(|v| (v as f32 / 255.0).powf(2.2) * 1.3 - 0.1);
            let q = GreyLevels::new(&levels);
            let mut rows = FixedRows::default();
            let (mut from_bytes, mut from_floats) = (vec![0; width * height], vec![0; width * height]);
            let mut fixed = [0; 256];
            floyd_steinberg(Bytes::new(&pixels, &table, &mut fixed), width, height, &q, &mut rows, &mut from_bytes);
            let values: Vec<f32> = pixels.iter().map(|&v| table[usize::from(v)]).collect();
            floyd_steinberg(&values[..], width, height, &q, &mut rows, &mut from_floats);
            prop_assert_eq!(from_bytes, from_floats);
        }

        #[test]
        fn banded_loop_matches_the_textbook_form(
            width in 1usize..40,
            height in 1usize..24,
            seed in any::<u64>(),
            levels in proptest::collection::vec(0.0f32..1.0, 1..16),
            threshold in proptest::option::of(0.1f32..0.9),
            wide in any::<bool>(),
        ) {
            let mut rng = fastrand::Rng::with_seed(seed);
            // A little outside 0..1 too, so the clamp is exercised.
            let values: Vec<f32> = (0..width * height).map(|_| rng.f32() * 1.4 - 0.2).collect();
            let mut q = GreyLevels::new(&levels);
            if let Some(t) = threshold {
                q = q.with_threshold(t);
            }
            if wide {
                q = q.for_wide_pixels();
            }
            // Rows left over from a picture of another size must not matter.
            let mut rows = FixedRows::default();
            let mut scratch = vec![0; 7 * 5];
            floyd_steinberg(&[0.7; 7 * 5][..], 7, 5, &q, &mut rows, &mut scratch);
            let mut fast = vec![0; width * height];
            floyd_steinberg(&values[..], width, height, &q, &mut rows, &mut fast);
            let starts = band_starts(height);
            let plain: Vec<u8> = (0..BANDS)
                .flat_map(|b| {
                    let band = &values[starts[b] * width..starts[b + 1] * width];
                    reference(band, width, starts[b + 1] - starts[b], &q)
                })
                .collect();
            prop_assert_eq!(fast, plain);
        }
    }
}
