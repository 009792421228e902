//! The exact search: candidate lists per cell of the colour cube, walked
//! eight colours at a time.

use wide::f32x8;

use crate::quantizer::Quantizer;

use super::scan::{PaletteScan, distance};
use super::space::{DOMAIN, WARPED, clamped, warp};

/// Cells per axis of the colour cube.
const CELLS: usize = 8;
/// Palettes at most this large are searched directly.
const DIRECT_SEARCH_MAX: usize = 24;
/// The index carried by padding lanes; larger than any palette index.
const PADDING: f32 = 256.0;
/// A stand-in colour for padding lanes: never near anything.
const FAR_AWAY: f32 = 1.0e9;

/// Eight candidate colours of one cell, channel by channel.
#[derive(Debug, Clone, Copy)]
struct Group {
    channels: [f32x8; 3],
    indices: f32x8,
    /// The smallest distance from the cell's centre to a colour of this
    /// group (the lists are sorted, so: to its first colour).
    reach: f32,
}

/// A cell whose candidate list has been built.
#[derive(Debug, Clone, Copy)]
struct Built {
    centre: [f32; 3],
    start: u32,
    end: u32,
}

/// A palette in working space, searched by Euclidean distance.
#[derive(Debug, Clone)]
pub(crate) struct ColourSearch {
    /// The palette, and the search small palettes use directly.
    all: PaletteScan,
    /// Per cell: `None` until first used, then the cell's centre and its
    /// range of `groups`.
    cells: Vec<Option<Built>>,
    /// The candidate groups of all built cells.
    groups: Vec<Group>,
}

/// The minimum of eight values, as a balanced tree of comparisons.
#[inline(always)]
fn tree_min(v: [f32; 8]) -> f32 {
    let a = [
        v[0].min(v[4]),
        v[1].min(v[5]),
        v[2].min(v[6]),
        v[3].min(v[7]),
    ];
    let b = [a[0].min(a[2]), a[1].min(a[3])];
    b[0].min(b[1])
}

/// The lower wall of cell `i` along one axis (`i` in `0..=CELLS`), in
/// working values; the outermost walls are the ends of the domain.
#[inline]
fn wall(i: usize) -> f32 {
    match i {
        0 => DOMAIN.0,
        CELLS => DOMAIN.1,
        _ => {
            let t = WARPED.0 + (WARPED.1 - WARPED.0) * i as f32 / CELLS as f32;
            t * t.abs()
        }
    }
}

impl ColourSearch {
    /// A search over `colours` (1 to 256 of them, values in 0..=1).
    pub fn new(colours: Vec<[f32; 3]>) -> ColourSearch {
        ColourSearch {
            all: PaletteScan::new(colours),
            cells: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// Tries every colour: the definition the fast path must agree with.
    #[cfg(test)]
    pub fn nearest_reference(&self, value: [f32; 3]) -> u8 {
        self.all.nearest_reference(value)
    }

    #[inline]
    fn cell_of(value: [f32; 3]) -> [usize; 3] {
        let scale = CELLS as f32 / (WARPED.1 - WARPED.0);
        value.map(|v| (((warp(v) - WARPED.0) * scale) as usize).min(CELLS - 1))
    }

    /// The centre of `cell`, in working values.
    fn centre(cell: [usize; 3]) -> [f32; 3] {
        cell.map(|c| (wall(c) + wall(c + 1)) / 2.0)
    }

    /// Lists the colours that can be nearest somewhere in `cell`, sorted
    /// by distance from the cell's centre.
    fn build_cell(&mut self, cell: [usize; 3]) -> Built {
        let lo = cell.map(wall);
        let hi = cell.map(|c| wall(c + 1));
        // Each colour's smallest possible distance to the cell, and the
        // smallest of the colours' largest possible distances.
        let mut near = [0.0f32; 256];
        let mut nearest_far = f32::INFINITY;
        let colours = self.all.colours();
        for (near, c) in near.iter_mut().zip(colours) {
            let (mut inside_sum, mut outside_sum) = (0.0f32, 0.0f32);
            for k in 0..3 {
                let inside = (lo[k] - c[k]).max(c[k] - hi[k]).max(0.0);
                let outside = (c[k] - lo[k]).abs().max((c[k] - hi[k]).abs());
                inside_sum += inside * inside;
                outside_sum += outside * outside;
            }
            *near = inside_sum;
            nearest_far = nearest_far.min(outside_sum);
        }
        // A hair of slack keeps rounding in the bounds from dropping a winner.
        let limit = nearest_far * (1.0 + 1e-5) + 1e-9;
        let centre = ColourSearch::centre(cell);
        // Sorted by distance, then index: a non-negative float's bits sort
        // as the float does, so one integer key holds both.
        let mut candidates: Vec<u64> = (colours.iter().zip(&near).enumerate())
            .filter(|(_, (_, near))| **near <= limit)
            .map(|(i, (&c, _))| u64::from(distance(c, centre).sqrt().to_bits()) << 8 | i as u64)
            .collect();
        candidates.sort_unstable();
        let start = self.groups.len();
        for chunk in candidates.chunks(8) {
            let lane = |l: usize| {
                let i = (*chunk.get(l)? & 0xff) as usize;
                Some((colours[i], i as f32))
            };
            let lanes: [([f32; 3], f32); 8] =
                std::array::from_fn(|l| lane(l).unwrap_or(([FAR_AWAY; 3], PADDING)));
            self.groups.push(Group {
                channels: std::array::from_fn(|k| f32x8::new(lanes.map(|(c, _)| c[k]))),
                indices: f32x8::new(lanes.map(|(_, i)| i)),
                reach: f32::from_bits((chunk[0] >> 8) as u32),
            });
        }
        Built {
            centre,
            start: start as u32,
            end: self.groups.len() as u32,
        }
    }
}

impl Quantizer<3> for ColourSearch {
    #[inline]
    fn nearest(&mut self, value: [f32; 3]) -> u8 {
        if self.all.colours().len() <= DIRECT_SEARCH_MAX {
            return self.all.nearest(value);
        }
        if self.cells.is_empty() {
            self.cells.resize(CELLS * CELLS * CELLS, None);
        }
        let value = clamped(value);
        let cell = ColourSearch::cell_of(value);
        let slot = (cell[0] * CELLS + cell[1]) * CELLS + cell[2];
        let built = match self.cells[slot] {
            Some(built) => built,
            None => {
                let built = self.build_cell(cell);
                self.cells[slot] = Some(built);
                built
            }
        };
        let offset = distance(value, built.centre).sqrt();
        let query = value.map(f32x8::splat);
        let mut best = f32x8::splat(f32::INFINITY);
        let mut best_index = f32x8::splat(PADDING);
        let mut smallest = f32::INFINITY;
        for group in &self.groups[built.start as usize..built.end as usize] {
            // Every colour from here on is at least `reach - offset` away.
            let bound = group.reach - offset;
            if bound > 0.0 && bound * bound > smallest * (1.0 + 1e-5) + 1e-9 {
                break;
            }
            let c = &group.channels;
            let (d0, d1, d2) = (query[0] - c[0], query[1] - c[1], query[2] - c[2]);
            let d = d0 * d0 + d1 * d1 + d2 * d2;
            // Lists are sorted by distance, not index: on a tie the lower
            // index must win explicitly.
            let better = d.simd_lt(best) | (d.simd_eq(best) & group.indices.simd_lt(best_index));
            best = better.select(d, best);
            best_index = better.select(group.indices, best_index);
            smallest = tree_min(best.to_array());
        }
        // Across lanes: the smallest distance, and among lanes that share it
        // the lowest index.
        let tied = best.simd_eq(f32x8::splat(smallest));
        tree_min(tied.select(best_index, f32x8::splat(f32::MAX)).to_array()) as u8
    }

    #[inline]
    fn colour(&self, index: u8) -> [f32; 3] {
        self.all.colour(index)
    }

    fn spread(&self) -> f32 {
        self.all.spread()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nearest::strategies::{coarse_palette, coarse_queries, palette, queries};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cell_search_matches_full_search(palette in palette(25..=256), queries in queries()) {
            let mut search = ColourSearch::new(palette);
            for q in queries {
                prop_assert_eq!(search.nearest(q), search.nearest_reference(q), "query {:?}", q);
            }
        }

        #[test]
        fn cell_search_matches_on_coarse_palettes(
            palette in coarse_palette(25..=256),
            queries in coarse_queries(),
        ) {
            let mut search = ColourSearch::new(palette);
            for q in queries {
                prop_assert_eq!(search.nearest(q), search.nearest_reference(q), "query {:?}", q);
            }
        }
    }

    #[test]
    fn duplicate_colours_resolve_to_the_lower_index() {
        let mut palette = vec![[0.5f32, 0.5, 0.5]; 40];
        palette[7] = [0.1, 0.1, 0.1];
        let mut search = ColourSearch::new(palette);
        assert_eq!(search.nearest([0.0, 0.0, 0.0]), 7);
        assert_eq!(search.nearest([0.6, 0.6, 0.6]), 0);
    }
}
