//! The exact search: every colour of the palette, eight at a time.

use wide::f32x8;

use super::space::clamped;

/// A stand-in colour for the padding lanes of the last group: never near
/// anything, so never chosen.
const FAR_AWAY: f32 = 1.0e9;

/// A palette in working space, searched by Euclidean distance.
///
/// The colours are stored channel by channel in groups of eight, so one
/// query costs a few dozen vector operations even for 255 colours.
#[derive(Debug, Clone)]
pub(crate) struct PaletteScan {
    colours: Vec<[f32; 3]>,
    /// Colours `8 * g .. 8 * g + 8` in group `g`, one vector per channel.
    groups: Vec<[f32x8; 3]>,
}

/// Squared Euclidean distance, summed in channel order (both searches
/// must compute it identically to agree on ties).
#[inline]
pub(super) fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

impl PaletteScan {
    /// A search over `colours` (1 to 256 of them).
    pub fn new(colours: Vec<[f32; 3]>) -> PaletteScan {
        assert!(
            !colours.is_empty() && colours.len() <= 256,
            "palette of 1 to 256 colours"
        );
        let groups = colours
            .chunks(8)
            .map(|chunk| {
                std::array::from_fn(|k| {
                    f32x8::new(std::array::from_fn(|l| {
                        chunk.get(l).map_or(FAR_AWAY, |c| c[k])
                    }))
                })
            })
            .collect();
        PaletteScan { colours, groups }
    }

    /// Tries every colour one by one: the definition [`PaletteScan::nearest`]
    /// must agree with. Ties go to the lower index.
    #[cfg(test)]
    pub fn nearest_reference(&self, value: [f32; 3]) -> u8 {
        let value = clamped(value);
        let mut best = (f32::INFINITY, 0u8);
        for (i, &c) in self.colours.iter().enumerate() {
            let d = distance(value, c);
            if d < best.0 {
                best = (d, i as u8);
            }
        }
        best.1
    }

    /// Index of the colour nearest to `value` (clamped to the search's
    /// domain first), ties going to the lower index.
    #[inline]
    pub fn nearest(&self, value: [f32; 3]) -> u8 {
        let query = clamped(value).map(f32x8::splat);
        let distances = |c: &[f32x8; 3]| {
            let (d0, d1, d2) = (query[0] - c[0], query[1] - c[1], query[2] - c[2]);
            d0 * d0 + d1 * d1 + d2 * d2
        };
        // First the smallest distance: a running minimum is a short chain
        // of dependent operations, where tracking the index too is not.
        let mut best = f32x8::splat(f32::INFINITY);
        for c in &self.groups {
            best = best.fast_min(distances(c));
        }
        let lanes = best.to_array();
        let smallest = f32x8::splat(lanes.iter().copied().fold(f32::INFINITY, f32::min));
        // Then the first colour at that distance, which is the lower index
        // on a tie; the same arithmetic gives the same distances again.
        for (g, c) in self.groups.iter().enumerate() {
            let hits = distances(c).simd_eq(smallest).to_bitmask();
            if hits != 0 {
                return (g * 8 + hits.trailing_zeros() as usize) as u8;
            }
        }
        0
    }

    /// The colours, in index order.
    pub fn colours(&self) -> &[[f32; 3]] {
        &self.colours
    }

    /// The colour at `index`.
    #[inline]
    pub fn colour(&self, index: u8) -> [f32; 3] {
        self.colours[usize::from(index)]
    }

    /// Mean distance from each colour to its nearest other colour.
    pub fn spread(&self) -> f32 {
        if self.colours.len() < 2 {
            return 0.5;
        }
        let total: f32 = self
            .colours
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                self.colours
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, &b)| distance(a, b))
                    .fold(f32::INFINITY, f32::min)
                    .sqrt()
            })
            .sum();
        total / self.colours.len() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nearest::strategies::{coarse_palette, coarse_queries, palette, queries};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn scan_matches_the_one_by_one_search(palette in palette(1..=256), queries in queries()) {
            let search = PaletteScan::new(palette);
            for q in queries {
                prop_assert_eq!(search.nearest(q), search.nearest_reference(q), "query {:?}", q);
            }
        }

        #[test]
        fn scan_matches_on_coarse_palettes(
            // Duplicates and exact ties in every lane.
            palette in coarse_palette(1..=256),
            queries in coarse_queries(),
        ) {
            let search = PaletteScan::new(palette);
            for q in queries {
                prop_assert_eq!(search.nearest(q), search.nearest_reference(q), "query {:?}", q);
            }
        }
    }

    #[test]
    fn duplicate_colours_resolve_to_the_lower_index() {
        let mut palette = vec![[0.5f32, 0.5, 0.5]; 40];
        palette[7] = [0.1, 0.1, 0.1];
        palette[23] = [0.1, 0.1, 0.1];
        let search = PaletteScan::new(palette);
        assert_eq!(search.nearest([0.0, 0.0, 0.0]), 7);
        assert_eq!(search.nearest([0.6, 0.6, 0.6]), 0);
    }
}
