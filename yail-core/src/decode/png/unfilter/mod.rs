//! Undoing the PNG row filters in place. Runs of rows with the same
//! predicting filter go through together: eight or four at a time in
//! vectors where the processor has them ([`sse2`], [`avx2`]), else in
//! pairs through the portable loop ([`portable`]), which is also the
//! reference the vector code is tested against.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod portable;
#[cfg(target_arch = "x86_64")]
mod sse2;

use portable::{portable_pair, unfilter_row};

/// Which code undoes the filters. Decoding uses [`Variant::Best`]; the
/// others exist so tests can force each one the processor has and compare
/// it with [`Variant::RowByRow`] (see `png::unfilter_variants`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// One row at a time, never grouped: the plain reference.
    RowByRow,
    /// Groups of rows through the portable pair loop only.
    Portable,
    /// Groups of two and four rows in SSE2 (in its original encoding,
    /// as on a processor without AVX2); the rest portable.
    Sse2,
    /// What the processor does best: eight Paeth rows in AVX2, two and four
    /// rows in SSE2 (VEX-encoded where AVX2 exists).
    Best,
}

impl Variant {
    /// The variants this processor can run, [`Variant::RowByRow`] first.
    pub(crate) fn available() -> Vec<Variant> {
        let mut variants = vec![Variant::RowByRow, Variant::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if pulp::x86::V1::try_new().is_some() {
                variants.push(Variant::Sse2);
            }
            if pulp::x86::V3::try_new().is_some() {
                variants.push(Variant::Best);
            }
        }
        variants
    }

    /// A short name for reports: `row-by-row`, `portable`, `sse2`, `avx2`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::RowByRow => "row-by-row",
            Variant::Portable => "portable",
            Variant::Sse2 => "sse2",
            Variant::Best => "avx2",
        }
    }
}

/// Undoes the row filters of `raw` (rows of a filter byte and `stride`
/// bytes) in place, moving row `y` to `y * stride` so the pixels end up
/// packed at the front. `false` if a row names an unknown filter.
pub(super) fn unfilter(raw: &mut [u8], stride: usize, height: usize, bpp: usize) -> bool {
    unfilter_with(Variant::Best, raw, stride, height, bpp)
}

/// [`unfilter`] through the code `variant` names.
pub(super) fn unfilter_with(
    variant: Variant,
    raw: &mut [u8],
    stride: usize,
    height: usize,
    bpp: usize,
) -> bool {
    let filter_of = |raw: &[u8], y: usize| raw[y * (stride + 1)];
    let mut y = 0;
    while y < height {
        let filter = filter_of(raw, y);
        // Rows in a row with the same predicting filter (Paeth or Average)
        // go through together, eight (Paeth only), four or two at a time;
        // the first row has none above.
        let run = if variant != Variant::RowByRow && y > 0 && matches!(filter, 3 | 4) {
            (y..height.min(y + 8))
                .take_while(|&r| filter_of(raw, r) == filter)
                .count()
        } else {
            1
        };
        // Eight and four rows go to the vector code where it serves them,
        // else through portable pairs.
        let rows = match run {
            8 if filter == 4 => 8,
            4..=8 => 4,
            2 | 3 => 2,
            _ => 1,
        };
        for r in y..y + rows {
            let from = r * (stride + 1) + 1;
            raw.copy_within(from..from + stride, r * stride);
        }
        let (done, rest) = raw.split_at_mut(y * stride);
        let above = (y > 0).then(|| &done[(y - 1) * stride..]);
        let mut group = rest[..rows * stride].chunks_exact_mut(stride);
        let mut group = || group.next().unwrap_or_default();
        let paeth = filter == 4;
        let known = match (rows, above) {
            (8, Some(above)) => {
                let [r0, r1, r2, r3, r4, r5, r6, r7] = std::array::from_fn(|_| group());
                let eight = [
                    &mut *r0, &mut *r1, &mut *r2, &mut *r3, &mut *r4, &mut *r5, &mut *r6, &mut *r7,
                ];
                if !vector_eight(variant, bpp, above, eight) {
                    four_rows(variant, bpp, paeth, above, [r0, r1, r2, &mut *r3]);
                    four_rows(variant, bpp, paeth, r3, [r4, r5, r6, r7]);
                }
                true
            }
            (4, Some(above)) => {
                four_rows(variant, bpp, paeth, above, std::array::from_fn(|_| group()));
                true
            }
            (2, Some(above)) => {
                let [row, below] = std::array::from_fn(|_| group());
                if !vector_rows::<1, 2>(variant, bpp, paeth, above, [&mut *row, &mut *below]) {
                    portable_pair(bpp, paeth, above, row, below);
                }
                true
            }
            (_, above) => match bpp {
                1 => unfilter_row::<1>(filter, group(), above),
                2 => unfilter_row::<2>(filter, group(), above),
                3 => unfilter_row::<3>(filter, group(), above),
                _ => unfilter_row::<4>(filter, group(), above),
            },
        };
        if !known {
            return false;
        }
        y += rows;
    }
    true
}

/// Four rows under `above` with the same filter, Paeth (`paeth`) or
/// Average: in vectors where the processor has them, else as two pairs.
fn four_rows(variant: Variant, bpp: usize, paeth: bool, above: &[u8], rows: [&mut [u8]; 4]) {
    let [r0, r1, r2, r3] = rows;
    let rows = [&mut *r0, &mut *r1, &mut *r2, &mut *r3];
    if !vector_rows::<2, 4>(variant, bpp, paeth, above, rows) {
        portable_pair(bpp, paeth, above, r0, r1);
        portable_pair(bpp, paeth, r1, r2, r3);
    }
}

/// [`avx2::unfilter_eight`] (eight Paeth rows) where there is such a
/// thing and `variant` allows it; `false` (nothing done) elsewhere.
fn vector_eight(variant: Variant, bpp: usize, above: &[u8], rows: [&mut [u8]; 8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    return variant == Variant::Best && avx2::unfilter_eight(bpp, above, rows);
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// [`sse2::unfilter_rows`] where there is such a thing; `false` (nothing
/// done) elsewhere.
fn vector_rows<const V: usize, const ROWS: usize>(
    variant: Variant,
    bpp: usize,
    paeth: bool,
    above: &[u8],
    rows: [&mut [u8]; ROWS],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    return match variant {
        Variant::Sse2 => sse2::unfilter_rows::<V, ROWS>(false, bpp, paeth, above, rows),
        Variant::Best => sse2::unfilter_rows::<V, ROWS>(true, bpp, paeth, above, rows),
        Variant::RowByRow | Variant::Portable => false,
    };
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn grouped_rows_match_row_by_row(
            bpp in 1usize..=4,
            width in 1usize..30,
            runs in proptest::collection::vec(
                (proptest::sample::select(vec![0u8, 1, 2, 3, 4]), 1usize..11),
                1..6,
            ),
            seed in proptest::prelude::any::<u64>(),
        ) {
            // Runs of one filter, so that groups of two, four and eight rows, and
            // the rows left over after them, all come up.
            let filters: Vec<u8> = runs.iter().flat_map(|&(f, n)| std::iter::repeat_n(f, n)).collect();
            let (stride, height) = (width * bpp, filters.len());
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut raw: Vec<u8> = Vec::with_capacity(height * (stride + 1));
            for &f in &filters {
                raw.push(f);
                raw.extend((0..stride).map(|_| rng.u8(..)));
            }
            // Row by row, never paired.
            let mut plain = vec![0u8; stride * height];
            for (y, &f) in filters.iter().enumerate() {
                let from = y * (stride + 1) + 1;
                let (done, rest) = plain.split_at_mut(y * stride);
                rest[..stride].copy_from_slice(&raw[from..from + stride]);
                let above = (y > 0).then(|| &done[(y - 1) * stride..]);
                let row = &mut rest[..stride];
                match bpp {
                    1 => unfilter_row::<1>(f, row, above),
                    2 => unfilter_row::<2>(f, row, above),
                    3 => unfilter_row::<3>(f, row, above),
                    _ => unfilter_row::<4>(f, row, above),
                };
            }
            for variant in Variant::available() {
                let mut raw = raw.clone();
                proptest::prop_assert!(unfilter_with(variant, &mut raw, stride, height, bpp));
                proptest::prop_assert_eq!(&raw[..stride * height], &plain[..], "{}", variant.name());
            }
            proptest::prop_assert!(unfilter(&mut raw, stride, height, bpp));
            proptest::prop_assert_eq!(&raw[..stride * height], &plain[..]);
        }
    }
}
