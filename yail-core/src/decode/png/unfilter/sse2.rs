//! Runs of Paeth or Average rows in RGB and RGBA pictures undone with
//! SSE2 instructions, which every x86-64 processor has.
//!
//! The portable [`super::portable::unfilter_pair`] describes the method: a row runs
//! one pixel behind the row above it, two rows in eight 16-bit lanes (four
//! per row). Written with arrays, the compiler moved every byte into and
//! out of its lane with a separate instruction, and those moves, more than
//! the predictor, were the loop's cost. Here a row's pixel becomes lanes in
//! one widening instruction, and both rows' results bytes again in one.
//! With moves that cheap, a second pair of rows in a second vector (rows
//! 2 and 3, running two and three pixels behind) adds a little more.
//!
//! On RGB photos this takes up to a third off the portable pairs' decode
//! time; four rows rather than two add about 5 %.
//!
//! `pulp` hands out the instructions as safe functions once it has checked
//! the processor (this crate forbids `unsafe`); SSE2 is always there on
//! x86-64, so the check never fails in practice.

use std::arch::x86_64::__m128i;
use std::ops::Range;

use pulp::x86::{V1, V3};

/// Undoes `rows`, consecutive rows under the finished `above`, all
/// filtered with Paeth (`paeth`) or Average, `bpp` bytes per pixel: two or
/// four rows, in `V` vectors of two. `false`, with nothing done, for one
/// or two bytes per pixel (the portable loop is as fast there: it has few
/// bytes to move) or if the processor lacks SSE2. `vex`: use the VEX
/// encoding where the processor has AVX2 (tests turn it off to run the
/// code a processor without AVX2 runs).
pub(super) fn unfilter_rows<const V: usize, const ROWS: usize>(
    vex: bool,
    bpp: usize,
    paeth: bool,
    above: &[u8],
    rows: [&mut [u8]; ROWS],
) -> bool {
    if !matches!(bpp, 3 | 4) {
        return false;
    }
    // The same SSE2 instructions, compiled a second time for processors
    // with AVX2 in their three-operand (VEX) encoding, which needs fewer
    // register copies: astronaut.png's decode 4 % faster. (SSE4.1's
    // one-instruction lane select, tried in Paeth's two selects, made it
    // twice as slow on this machine.)
    if let Some(v3) = V3::try_new().filter(|_| vex) {
        let simd: V1 = **v3;
        v3.vectorize(|| dispatch::<V, ROWS>(simd, bpp, paeth, above, rows));
        return true;
    }
    let Some(simd) = V1::try_new() else {
        return false;
    };
    simd.vectorize(|| dispatch::<V, ROWS>(simd, bpp, paeth, above, rows));
    true
}

/// [`group`] for the pixel size and filter, `V` vectors of two rows.
#[inline(always)]
fn dispatch<const V: usize, const ROWS: usize>(
    simd: V1,
    bpp: usize,
    paeth: bool,
    above: &[u8],
    rows: [&mut [u8]; ROWS],
) {
    match (bpp, paeth) {
        (3, true) => group::<3, true, V, ROWS>(simd, above, rows),
        (_, true) => group::<4, true, V, ROWS>(simd, above, rows),
        (3, false) => group::<3, false, V, ROWS>(simd, above, rows),
        (_, false) => group::<4, false, V, ROWS>(simd, above, rows),
    }
}

/// Left and upper-left neighbours (`a`, `c`) of two rows, carried from
/// one step to the next.
#[derive(Clone, Copy)]
struct Carry {
    a: __m128i,
    c: __m128i,
}

/// `ROWS` rows under `above`, row `j` running `j` pixels behind row 0,
/// two rows to each of `V` vectors.
#[inline(always)]
fn group<const BPP: usize, const PAETH: bool, const V: usize, const ROWS: usize>(
    simd: V1,
    above: &[u8],
    mut rows: [&mut [u8]; ROWS],
) {
    const { assert!((BPP == 3 || BPP == 4) && (ROWS == 2 || ROWS == 4) && ROWS == 2 * V) };
    let pixels = rows.iter().map(|r| r.len()).fold(above.len(), usize::min) / BPP;
    let zero = simd.sse2._mm_setzero_si128();
    // Before their first pixel all rows' lanes hold zeros, which are their
    // left and upper-left neighbours there.
    let mut carry = [Carry { a: zero, c: zero }; V];
    let full = full_steps::<BPP>(pixels, ROWS);
    for k in 0..full.start {
        group_step::<BPP, PAETH, V, ROWS, true>(simd, k, pixels, above, &mut rows, &mut carry);
    }
    for k in full.clone() {
        group_step::<BPP, PAETH, V, ROWS, false>(simd, k, pixels, above, &mut rows, &mut carry);
    }
    for k in full.end..pixels + ROWS - 1 {
        group_step::<BPP, PAETH, V, ROWS, true>(simd, k, pixels, above, &mut rows, &mut carry);
    }
}

/// The steps of a group of `rows` rows, row `j` running `j` pixels behind
/// row 0, over `pixels` pixels, that reach every row. The steps before
/// them and after them up to `pixels + rows - 1` reach only some (`EDGE`
/// steps). Steps between read four bytes per pixel, so for three-byte
/// pixels the step that reaches row 0's last pixel counts as a last step
/// too. Shared with [`super::avx2`].
#[inline(always)]
pub(super) fn full_steps<const BPP: usize>(pixels: usize, rows: usize) -> Range<usize> {
    let last = if BPP == 3 {
        pixels.saturating_sub(1)
    } else {
        pixels
    };
    rows - 1..last.max(rows - 1)
}

/// Where step `k` of a group finds row `j`'s pixel (`k - j`): its byte
/// offset, or `None` if the row has no such pixel (never, unless `EDGE`).
#[inline(always)]
pub(super) fn pixel_at<const BPP: usize, const EDGE: bool>(
    k: usize,
    j: usize,
    pixels: usize,
) -> Option<usize> {
    (!EDGE || (k >= j && k - j < pixels)).then(|| (k - j) * BPP)
}

/// The pixel at the start of `bytes` as the low bytes of a word.
///
/// Away from the edges a three-byte pixel is read as four bytes: one load
/// instead of two and a merge. The fourth byte (the next pixel's first,
/// still filtered) only reaches a lane whose result is never written;
/// lanes do not mix. It does not overlap the previous step's three-byte
/// write either, so nothing waits for that store.
#[inline(always)]
pub(super) fn read_pixel<const BPP: usize, const EDGE: bool>(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 4];
    if EDGE {
        word[..BPP].copy_from_slice(&bytes[..BPP]);
    } else {
        word.copy_from_slice(&bytes[..4]);
    }
    u64::from(u32::from_le_bytes(word))
}

/// Step `k` of [`group`]: pixel `k - j` of each row `j`, if that is one of
/// its pixels (always, unless `EDGE`).
///
/// Pixels are read and written byte by byte: reading four bytes for a
/// three-byte pixel (and writing the fourth back unchanged) made the loop
/// 60 % slower, each read overlapping the previous step's write, which
/// the processor cannot forward.
#[inline(always)]
fn group_step<
    const BPP: usize,
    const PAETH: bool,
    const V: usize,
    const ROWS: usize,
    const EDGE: bool,
>(
    simd: V1,
    k: usize,
    pixels: usize,
    above: &[u8],
    rows: &mut [&mut [u8]; ROWS],
    carry: &mut [Carry; V],
) {
    let sse2 = simd.sse2;
    let at = |j: usize| pixel_at::<BPP, EDGE>(k, j, pixels);
    let read = read_pixel::<BPP, EDGE>;
    let up = at(0).map_or(0, |s| read(&above[s..]));
    // The previous step's results.
    let left = carry.map(|c| c.a);
    for v in 0..V {
        // Above-neighbours: row 0's from `above`; every other row's is the
        // previous step's result for the row above it.
        let upper = match v {
            0 => widen(simd, up),
            _ => sse2._mm_srli_si128::<8>(left[v - 1]),
        };
        let b = sse2._mm_unpacklo_epi64(upper, left[v]);
        // Two calls of a closure, not `[2 * v, 2 * v + 1].map(..)`: with the
        // array the compiler kept the loop's values on the stack, and the
        // whole loop ran 70 % slower.
        let load = |j: usize| at(j).map_or(0, |s| read(&rows[j][s..]));
        let out = step::<PAETH>(simd, &mut carry[v], b, load(2 * v) | load(2 * v + 1) << 32);
        for (half, j) in [2 * v, 2 * v + 1].into_iter().enumerate() {
            if let Some(s) = at(j) {
                rows[j][s..s + BPP].copy_from_slice(&out[half].to_le_bytes()[..BPP]);
            }
        }
    }
}

/// A word's eight bytes in eight 16-bit lanes.
#[inline(always)]
fn widen(simd: V1, w: u64) -> __m128i {
    let sse2 = simd.sse2;
    sse2._mm_unpacklo_epi8(
        pulp::cast::<[u64; 2], __m128i>([w, 0]),
        sse2._mm_setzero_si128(),
    )
}

/// One step for two rows: above-neighbours `b`, filtered bytes in
/// `filtered` (the upper row's in the low half). Returns both unfiltered
/// pixels as words.
#[inline(always)]
fn step<const PAETH: bool>(simd: V1, carry: &mut Carry, b: __m128i, filtered: u64) -> [u32; 2] {
    let sse2 = simd.sse2;
    let Carry { a, c } = *carry;
    let predicted = if PAETH {
        paeth(simd, a, b, c)
    } else {
        sse2._mm_srli_epi16::<1>(sse2._mm_add_epi16(a, b))
    };
    let sum = sse2._mm_add_epi16(widen(simd, filtered), predicted);
    let out = sse2._mm_and_si128(sum, sse2._mm_set1_epi16(0xFF));
    *carry = Carry { a: out, c: b };
    let [low, high, ..] = pulp::cast::<__m128i, [u32; 4]>(sse2._mm_packus_epi16(out, out));
    [low, high]
}

/// The Paeth predictor lane by lane, in the branch-free form of
/// [`super::portable::paeth`]: with `t = 3c - (a + b)`, the larger of `a` and `b` if
/// `t` is at most the smaller, else the smaller if the larger is at most
/// `t`, else `c`.
#[inline(always)]
fn paeth(simd: V1, a: __m128i, b: __m128i, c: __m128i) -> __m128i {
    let sse2 = simd.sse2;
    let select = |mask: __m128i, yes: __m128i, no: __m128i| {
        sse2._mm_or_si128(
            sse2._mm_and_si128(mask, yes),
            sse2._mm_andnot_si128(mask, no),
        )
    };
    let three_c = sse2._mm_add_epi16(c, sse2._mm_add_epi16(c, c));
    let t = sse2._mm_sub_epi16(three_c, sse2._mm_add_epi16(a, b));
    let low = sse2._mm_min_epi16(a, b);
    let high = sse2._mm_max_epi16(a, b);
    let otherwise = select(sse2._mm_cmpgt_epi16(high, t), c, low);
    select(sse2._mm_cmpgt_epi16(t, low), otherwise, high)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The vector pairs give what the portable pairs give.
        #[test]
        fn pairs_match_the_portable_loop(
            bpp in 3usize..=4,
            paeth in proptest::prelude::any::<bool>(),
            width in 0usize..40,
            seed in proptest::prelude::any::<u64>(),
        ) {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut bytes = || -> Vec<u8> { (0..width * bpp).map(|_| rng.u8(..)).collect() };
            let (above, row, below) = (bytes(), bytes(), bytes());
            let (mut row_a, mut below_a) = (row.clone(), below.clone());
            super::super::portable::portable_pair(bpp, paeth, &above, &mut row_a, &mut below_a);
            let (mut row_b, mut below_b) = (row.clone(), below.clone());
            proptest::prop_assert!(unfilter_rows::<1, 2>(true, bpp, paeth, &above, [&mut row_b, &mut below_b]));
            proptest::prop_assert_eq!((&row_a, &below_a), (&row_b, &below_b));
            // The plain SSE2 build too, which processors without AVX2 run.
            let (mut row_c, mut below_c) = (row, below);
            let simd = V1::try_new().unwrap();
            dispatch::<1, 2>(simd, bpp, paeth, &above, [&mut row_c, &mut below_c]);
            proptest::prop_assert_eq!((row_a, below_a), (row_c, below_c));
        }
    }
}
