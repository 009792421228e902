//! Runs of eight Paeth rows in RGB and RGBA pictures undone with AVX2
//! instructions, four rows to a 256-bit vector.
//!
//! The method is [`super::sse2`]'s: row `j` runs `j` pixels behind row 0,
//! so the pixel above each one is a result of the previous step, and a
//! step predicts one pixel of every row. For Paeth that loop waits on the
//! chain from one step's results to the next step's prediction; eight rows
//! in two wide vectors do twice the work per link of the chain for the cost
//! of a lane-crossing shuffle, while the loads and stores per row stay the
//! same. About two thirds of the Paeth rows of the photos in
//! `assets/photos` come in runs of eight or more.
//!
//! Average rows stay with [`super::sse2`]: their chain is short, so the
//! loop is bound by its loads and stores, which wider vectors do not
//! reduce (eight at a time is slightly slower).

use std::arch::x86_64::{__m128i, __m256i};

use pulp::x86::V3;

use super::sse2::{full_steps, pixel_at, read_pixel};

/// The number of rows undone together.
pub(super) const ROWS: usize = 8;

/// Undoes `rows`, eight consecutive rows under the finished `above`, all
/// filtered with Paeth, `bpp` bytes per pixel.
/// `false`, with nothing done, for one or two bytes per pixel or if the
/// processor lacks AVX2.
pub(super) fn unfilter_eight(bpp: usize, above: &[u8], rows: [&mut [u8]; ROWS]) -> bool {
    if !matches!(bpp, 3 | 4) {
        return false;
    }
    let Some(simd) = V3::try_new() else {
        return false;
    };
    pulp::Simd::vectorize(
        simd,
        Eight {
            simd,
            bpp,
            above,
            rows,
        },
    );
    true
}

/// [`unfilter_eight`]'s work as a `pulp` operation. A closure would not
/// do: its body is a function of its own, compiled without AVX2, and every
/// intrinsic in it became a call (ten times slower).
struct Eight<'a> {
    simd: V3,
    bpp: usize,
    above: &'a [u8],
    rows: [&'a mut [u8]; ROWS],
}

impl pulp::WithSimd for Eight<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Eight {
            simd,
            bpp,
            above,
            rows,
        } = self;
        match bpp {
            3 => group::<3>(simd, above, rows),
            _ => group::<4>(simd, above, rows),
        }
    }
}

/// Each vector's previous results (left neighbours) and previous
/// above-neighbours (upper-left neighbours): rows 0-3 in the first vector,
/// 4-7 in the second, a row to each 64-bit quarter.
#[derive(Clone, Copy)]
struct Carry {
    a: [__m256i; 2],
    c: [__m256i; 2],
}

#[inline(always)]
fn group<const BPP: usize>(simd: V3, above: &[u8], rows: [&mut [u8]; ROWS]) {
    let pixels = rows.iter().map(|r| r.len()).fold(above.len(), usize::min) / BPP;
    // All rows cut to one length, so one bounds check can serve them all.
    let len = pixels * BPP;
    let above = &above[..len];
    let mut rows = rows.map(|r| &mut r[..len]);
    let zero = simd.avx._mm256_setzero_si256();
    // Zeros are every row's neighbours before its first pixel.
    let mut carry = Carry {
        a: [zero; 2],
        c: [zero; 2],
    };
    let full = full_steps::<BPP>(pixels, ROWS);
    for k in 0..full.start {
        step::<BPP, true>(simd, k, pixels, above, &mut rows, &mut carry);
    }
    for k in full.clone() {
        step::<BPP, false>(simd, k, pixels, above, &mut rows, &mut carry);
    }
    for k in full.end..pixels + ROWS - 1 {
        step::<BPP, true>(simd, k, pixels, above, &mut rows, &mut carry);
    }
}

/// Step `k`: pixel `k - j` of each row `j`, if that is one of its pixels
/// (always, unless `EDGE`).
#[inline(always)]
fn step<const BPP: usize, const EDGE: bool>(
    simd: V3,
    k: usize,
    pixels: usize,
    above: &[u8],
    rows: &mut [&mut [u8]; ROWS],
    carry: &mut Carry,
) {
    let (sse41, avx2) = (simd.sse4_1, simd.avx2);
    let at = |j: usize| pixel_at::<BPP, EDGE>(k, j, pixels);
    let read = read_pixel::<BPP, EDGE>;
    let load = |j: usize| at(j).map_or(0, |s| read(&rows[j][s..]));
    // No closure may hold an AVX2 intrinsic: a closure's body is a
    // function of its own, compiled without AVX2, where every intrinsic
    // stays a call (the loop ran ten times slower).
    let words = [
        [load(0) | load(1) << 32, load(2) | load(3) << 32],
        [load(4) | load(5) << 32, load(6) | load(7) << 32],
    ];
    let filtered = [
        avx2._mm256_cvtepu8_epi16(pulp::cast::<[u64; 2], __m128i>(words[0])),
        avx2._mm256_cvtepu8_epi16(pulp::cast::<[u64; 2], __m128i>(words[1])),
    ];
    // Row 0's above-neighbour in the second quarter of a vector, the one
    // the shuffle below moves to the first.
    let up = at(0).map_or(0, |s| read(&above[s..]));
    let up = sse41._mm_cvtepu8_epi16(pulp::cast::<[u64; 2], __m128i>([up << 32, 0]));
    let [left_0, left_1] = carry.a;
    // Every row's above-neighbour is the previous result of the row
    // before it, one quarter down: [above, r0 | r1, r2] and [r3, r4 | r5, r6].
    let b = [
        avx2._mm256_alignr_epi8::<8>(
            left_0,
            avx2._mm256_permute2x128_si256::<0x02>(left_0, simd.avx._mm256_castsi128_si256(up)),
        ),
        avx2._mm256_alignr_epi8::<8>(
            left_1,
            avx2._mm256_permute2x128_si256::<0x03>(left_1, left_0),
        ),
    ];
    let out = [
        predict(simd, carry.a[0], b[0], carry.c[0], filtered[0]),
        predict(simd, carry.a[1], b[1], carry.c[1], filtered[1]),
    ];
    *carry = Carry { a: out, c: b };
    // Bytes again: the low half holds rows 0, 1, 4, 5, the high half 2, 3,
    // 6, 7.
    let packed = avx2._mm256_packus_epi16(out[0], out[1]);
    let low = pulp::cast::<__m128i, [u32; 4]>(simd.avx._mm256_castsi256_si128(packed));
    let high = pulp::cast::<__m128i, [u32; 4]>(avx2._mm256_extracti128_si256::<1>(packed));
    let words = [
        low[0], low[1], high[0], high[1], low[2], low[3], high[2], high[3],
    ];
    for (j, word) in words.into_iter().enumerate() {
        if let Some(s) = at(j) {
            rows[j][s..s + BPP].copy_from_slice(&word.to_le_bytes()[..BPP]);
        }
    }
}

/// Four rows' pixels from their `filtered` bytes and the neighbours left
/// (`a`), above (`b`) and upper left (`c`).
#[inline(always)]
fn predict(simd: V3, a: __m256i, b: __m256i, c: __m256i, filtered: __m256i) -> __m256i {
    let avx2 = simd.avx2;
    let sum = avx2._mm256_add_epi16(filtered, paeth(simd, a, b, c));
    avx2._mm256_and_si256(sum, simd.avx._mm256_set1_epi16(0xFF))
}

/// [`super::sse2`]'s branch-free Paeth predictor, sixteen lanes.
#[inline(always)]
fn paeth(simd: V3, a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    let avx2 = simd.avx2;
    let three_c = avx2._mm256_add_epi16(c, avx2._mm256_add_epi16(c, c));
    let t = avx2._mm256_sub_epi16(three_c, avx2._mm256_add_epi16(a, b));
    let low = avx2._mm256_min_epi16(a, b);
    let high = avx2._mm256_max_epi16(a, b);
    let otherwise = select(simd, avx2._mm256_cmpgt_epi16(high, t), c, low);
    select(simd, avx2._mm256_cmpgt_epi16(t, low), otherwise, high)
}

/// `yes` in the lanes where `mask` is set, `no` elsewhere.
#[inline(always)]
fn select(simd: V3, mask: __m256i, yes: __m256i, no: __m256i) -> __m256i {
    let avx2 = simd.avx2;
    avx2._mm256_or_si256(
        avx2._mm256_and_si256(mask, yes),
        avx2._mm256_andnot_si256(mask, no),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Eight rows at once give what four portable pairs, one under
        /// the other, give.
        #[test]
        fn eight_rows_match_the_portable_loop(
            bpp in 3usize..=4,
            width in 0usize..40,
            seed in proptest::prelude::any::<u64>(),
        ) {
            if V3::try_new().is_none() {
                return Ok(());
            }
            let mut rng = fastrand::Rng::with_seed(seed);
            let above: Vec<u8> = (0..width * bpp).map(|_| rng.u8(..)).collect();
            let rows: Vec<Vec<u8>> = (0..ROWS)
                .map(|_| (0..width * bpp).map(|_| rng.u8(..)).collect())
                .collect();
            let mut plain = rows.clone();
            let mut upper = above.clone();
            for pair in plain.chunks_exact_mut(2) {
                let [row, below] = pair else { unreachable!() };
                super::super::portable::portable_pair(bpp, true, &upper, row, below);
                upper.clone_from(below);
            }
            let mut fast = rows;
            let [r0, r1, r2, r3, r4, r5, r6, r7] = &mut fast[..] else { unreachable!() };
            proptest::prop_assert!(unfilter_eight(bpp, &above, [r0, r1, r2, r3, r4, r5, r6, r7]));
            proptest::prop_assert_eq!(fast, plain);
        }
    }
}
