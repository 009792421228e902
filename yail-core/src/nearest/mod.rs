//! Nearest-colour search in a palette of up to 256 colours.
//!
//! A VBXE picture maps 76 800 pixels onto 255 colours; trying every colour
//! for every pixel costs ~20 million distance computations. Instead the
//! colour cube is cut into cells, and for each cell that a pixel falls in
//! we list, once, the colours that can be nearest to *some* point of the
//! cell: a colour whose smallest possible distance to the cell is larger
//! than another colour's largest possible distance never wins. A pixel
//! then only compares its cell's list (about a tenth of the palette).
//!
//! Within a cell's list the colours are sorted by their distance to the
//! cell's centre and stored eight at a time, channel by channel, for
//! `wide`'s portable SIMD vectors. A pixel walks the groups in that order
//! and stops as soon as the triangle inequality proves that no later colour
//! can beat the best found (|c - centre| - |pixel - centre| > best), which
//! is usually after one or two groups.
//!
//! Working values are usually linear light, where a photo's colours crowd
//! near black, so the cell walls are spaced evenly in the (signed) square
//! root of the value. The cells reach a little past 0..1 on both sides
//! because a ditherer's values overshoot, and the overshoot must count in
//! the choice.
//!
//! The result is exact: the same index as trying every colour in turn,
//! ties going to the lower index. Palettes of a couple of dozen colours skip
//! the cells and take [`scan::PaletteScan`], which compares every colour,
//! eight at a time.
//!
//! VBXE dithering uses [`GridSearch`] on top: it memoises the exact answer
//! for small cells of the cube, trading 0.5 dB of HVS-PSNR (50.78 to 50.28
//! on the photo set) for a conversion about 1.6x faster. Its misses, a few
//! thousand a picture, are too few for building cells to pay: they go to a
//! [`scan::PaletteScan`].

mod cells;
mod grid;
mod scan;
mod space;

pub(crate) use cells::ColourSearch;
pub(crate) use grid::GridSearch;

/// Palettes and queries for the searches' property tests.
#[cfg(test)]
mod strategies {
    use proptest::prelude::*;

    type Colour = [f32; 3];

    fn colour(range: std::ops::RangeInclusive<f32>) -> impl Strategy<Value = Colour> {
        [range.clone(), range.clone(), range]
    }

    /// Colours in 0..=1.
    pub fn palette(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<Colour>> {
        proptest::collection::vec(colour(0.0..=1.0), len)
    }

    /// Queries overshooting 0..=1 on both sides, as a ditherer's do.
    pub fn queries() -> impl Strategy<Value = Vec<Colour>> {
        proptest::collection::vec(colour(-0.4..=1.4), 1..200)
    }

    /// Few distinct values (quarters): duplicates, exact ties, colours on
    /// cell walls.
    pub fn coarse_palette(
        len: std::ops::RangeInclusive<usize>,
    ) -> impl Strategy<Value = Vec<Colour>> {
        let quarter = colour(0.0..=1.0).prop_map(|c| c.map(|v| (v * 4.0).round() / 4.0));
        proptest::collection::vec(quarter, len)
    }

    /// Queries on eighths, so many sit exactly between two coarse colours.
    pub fn coarse_queries() -> impl Strategy<Value = Vec<Colour>> {
        let eighth = colour(0.0..=1.0).prop_map(|c| c.map(|v| (v * 8.0).round() / 8.0));
        proptest::collection::vec(eighth, 1..100)
    }
}
