//! The memoised search VBXE dithering uses: the exact answer for the
//! centre of each small cell of the cube, computed once.

use super::cells::ColourSearch;
use super::space::{WARPED, clamped, warp};
use crate::quantizer::Quantizer;

const GRID: usize = 64;
/// A memo slot not filled yet.
const UNKNOWN: u16 = u16::MAX;

/// An approximate, much cheaper search for dithering large palettes.
///
/// The colour cube is divided into `GRID`³ small cells (evenly spaced in the
/// same signed square root as [`ColourSearch`]'s cells). The first query
/// landing in a small cell asks the exact search for the colour nearest to
/// the cell's centre and remembers it; later queries there get that answer.
/// The choice can differ from the exact one for a pixel near a boundary
/// between two colours, which error diffusion absorbs: the error it carries
/// on is computed from the colour actually chosen.
#[derive(Debug, Clone)]
pub(crate) struct GridSearch {
    exact: ColourSearch,
    memo: Vec<u16>,
}

impl GridSearch {
    /// A memoised search over `colours` (1 to 256 of them).
    pub fn new(colours: Vec<[f32; 3]>) -> GridSearch {
        GridSearch {
            exact: ColourSearch::new(colours),
            memo: vec![UNKNOWN; GRID * GRID * GRID],
        }
    }

    #[inline]
    fn grid_of(value: [f32; 3]) -> [usize; 3] {
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
        let g = GridSearch::grid_of(value);
        let slot = (g[0] * GRID + g[1]) * GRID + g[2];
        match self.memo[slot] {
            UNKNOWN => {
                let index = self.exact.nearest(g.map(GridSearch::grid_centre));
                self.memo[slot] = u16::from(index);
                index
            }
            known => known as u8,
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
            palette in proptest::collection::vec([0.0f32..=1.0, 0.0f32..=1.0, 0.0f32..=1.0], 1..=256),
            queries in proptest::collection::vec([-0.3f32..=1.3, -0.3f32..=1.3, -0.3f32..=1.3], 1..100),
        ) {
            let mut grid = GridSearch::new(palette.clone());
            let reference = ColourSearch::new(palette);
            for q in queries {
                let centre = GridSearch::grid_of(q).map(GridSearch::grid_centre);
                prop_assert_eq!(grid.nearest(q), reference.nearest_reference(centre));
            }
        }
    }
}
