//! The memoised search VBXE dithering uses: the exact answer for the
//! centre of each small cell of the cube, computed once.

use std::sync::OnceLock;

use super::scan::PaletteScan;
use super::space::{DOMAIN, WARPED, clamped, warp};
use crate::quantizer::Quantizer;

const GRID: usize = 64;
/// A memo slot not filled yet; palettes have at most 255 colours, so no
/// index is 255.
const UNKNOWN: u8 = u8::MAX;
/// Steps of the table that maps a value to its small cell without a square
/// root. They are finer than the narrowest small cell (about 0.0004 wide,
/// beside zero), so a cell wall falls at most one step from where the
/// square root would put it.
const STEPS: usize = 8192;
const STEP_SCALE: f32 = STEPS as f32 / (DOMAIN.1 - DOMAIN.0);

/// An approximate, much cheaper search for dithering large palettes.
///
/// The colour cube is divided into `GRID`³ small cells (evenly spaced in the
/// same signed square root as the exact search's cells). The first query
/// landing in a small cell scans the palette for the colour nearest to
/// the cell's centre and remembers it; later queries there get that answer.
/// The choice can differ from the exact one for a pixel near a boundary
/// between two colours, which error diffusion absorbs: the error it carries
/// on is computed from the colour actually chosen.
///
/// Every dithered pixel asks, so the way to the small cell is a table
/// lookup per channel ([`GridSearch::grid_of`]) rather than a square root,
/// and the memo is one byte per cell, in a buffer the caller reuses.
#[derive(Debug, Clone)]
pub(crate) struct GridSearch {
    exact: PaletteScan,
    memo: Vec<u8>,
    /// [`cell_of_step`]'s table, held so the per-pixel lookup skips the
    /// `OnceLock` check.
    cell_of_step: &'static [u8; STEPS],
}

/// The small cell of each step of [`DOMAIN`]: the cell of the step's centre.
fn cell_of_step() -> &'static [u8; STEPS] {
    static TABLE: OnceLock<[u8; STEPS]> = OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            let centre = DOMAIN.0 + (i as f32 + 0.5) / STEP_SCALE;
            GridSearch::grid_of_reference([centre; 3])[0] as u8
        })
    })
}

impl GridSearch {
    /// A memoised search over `colours` (1 to 255 of them), keeping its
    /// answers in `memo`: a buffer from [`GridSearch::into_memo`] of an
    /// earlier search, or an empty one.
    pub fn new(colours: Vec<[f32; 3]>, mut memo: Vec<u8>) -> GridSearch {
        assert!(colours.len() < 256, "palette of 1 to 255 colours");
        memo.clear();
        memo.resize(GRID * GRID * GRID, UNKNOWN);
        GridSearch {
            exact: PaletteScan::new(colours),
            memo,
            cell_of_step: cell_of_step(),
        }
    }

    /// The memo's buffer, for the next search to reuse.
    pub fn into_memo(self) -> Vec<u8> {
        self.memo
    }

    /// The small cell of `value`: the cell [`GridSearch::grid_of_reference`]
    /// gives, or its neighbour for a value within one step of their wall.
    #[inline]
    fn grid_of(&self, value: [f32; 3]) -> [usize; 3] {
        clamped(value).map(|v| {
            let step = (((v - DOMAIN.0) * STEP_SCALE) as usize).min(STEPS - 1);
            usize::from(self.cell_of_step[step])
        })
    }

    /// The small cell of `value` by definition: evenly spaced in the
    /// signed square root.
    fn grid_of_reference(value: [f32; 3]) -> [usize; 3] {
        let scale = GRID as f32 / (WARPED.1 - WARPED.0);
        clamped(value).map(|v| (((warp(v) - WARPED.0) * scale) as usize).min(GRID - 1))
    }

    /// The centre of small cell `g` along one axis, in working values.
    fn grid_centre(g: usize) -> f32 {
        let t = WARPED.0 + (WARPED.1 - WARPED.0) * (g as f32 + 0.5) / GRID as f32;
        t * t.abs()
    }
}

impl Quantizer<3> for GridSearch {
    #[inline]
    fn nearest(&mut self, value: [f32; 3]) -> u8 {
        let g = self.grid_of(value);
        let slot = (g[0] * GRID + g[1]) * GRID + g[2];
        match self.memo[slot] {
            UNKNOWN => {
                let index = self.exact.nearest(g.map(GridSearch::grid_centre));
                self.memo[slot] = index;
                index
            }
            known => known,
        }
    }

    #[inline]
    fn colour(&self, index: u8) -> [f32; 3] {
        self.exact.colour(index)
    }

    fn spread(&self) -> f32 {
        self.exact.spread()
    }
}

#[cfg(test)]
mod grid_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn grid_search_answers_with_the_exact_choice_for_the_cell_centre(
            palette in proptest::collection::vec([0.0f32..=1.0, 0.0f32..=1.0, 0.0f32..=1.0], 1..=255),
            queries in proptest::collection::vec([-0.3f32..=1.3, -0.3f32..=1.3, -0.3f32..=1.3], 1..100),
        ) {
            let mut grid = GridSearch::new(palette.clone(), Vec::new());
            let reference = PaletteScan::new(palette);
            for q in queries {
                let centre = grid.grid_of(q).map(GridSearch::grid_centre);
                prop_assert_eq!(grid.nearest(q), reference.nearest_reference(centre));
            }
        }

        #[test]
        fn table_cell_is_the_square_root_cell_away_from_walls(v in -0.4f32..=1.4) {
            let grid = GridSearch::new(vec![[0.0; 3]], Vec::new());
            let got = grid.grid_of([v; 3])[0];
            // Within a step of a wall either side may win; a step further
            // the table must agree with the definition.
            let step = 1.0 / STEP_SCALE;
            let around = [v - step, v, v + step].map(|x| GridSearch::grid_of_reference([x; 3])[0]);
            if around[0] == around[2] {
                prop_assert_eq!(got, around[1]);
            } else {
                prop_assert!(around[0] <= got && got <= around[2], "{v}: {got} not in {around:?}");
            }
        }
    }

    #[test]
    fn a_reused_memo_forgets_the_previous_palette() {
        let mut first = GridSearch::new(vec![[0.0; 3], [1.0; 3]], Vec::new());
        assert_eq!(first.nearest([0.9; 3]), 1);
        let mut second = GridSearch::new(vec![[1.0; 3], [0.0; 3]], first.into_memo());
        assert_eq!(second.nearest([0.9; 3]), 0);
    }

    #[test]
    fn every_small_cell_has_steps() {
        // No small cell is narrower than a step, or the table would skip it.
        let table = cell_of_step();
        for pair in table.windows(2) {
            assert!(
                pair[1] == pair[0] || pair[1] == pair[0] + 1,
                "cells jump from {} to {}",
                pair[0],
                pair[1]
            );
        }
        assert_eq!(table[0], 0);
        assert_eq!(usize::from(table[STEPS - 1]), GRID - 1);
    }
}
