//! The interface between the dithering engine and the colour searches:
//! a set of available colours in working space.

use crate::grey_levels::GreyLevels;

/// A set of available colours in working space.
pub(crate) trait Quantizer<const C: usize> {
    /// Index of the available colour nearest to `value`.
    fn nearest(&mut self, value: [f32; C]) -> u8;
    /// The colour at `index`.
    fn colour(&self, index: u8) -> [f32; C];
    /// The nearest colour's index and value (implementations may find the
    /// value without a second lookup: it sits on the dithering loop's
    /// critical path).
    #[inline]
    fn nearest_with_colour(&mut self, value: [f32; C]) -> (u8, [f32; C]) {
        let index = self.nearest(value);
        (index, self.colour(index))
    }
    /// Typical distance between neighbouring colours, for ordered dithering.
    fn spread(&self) -> f32;
    /// The levels, for a one-channel quantizer that is a set of greys:
    /// those have a faster Floyd–Steinberg ([`crate::dither`]).
    fn grey_levels(&self) -> Option<&GreyLevels> {
        None
    }
}

impl Quantizer<1> for GreyLevels {
    #[inline]
    fn nearest(&mut self, value: [f32; 1]) -> u8 {
        self.index_of_rank[self.rank(value[0])]
    }

    #[inline]
    fn nearest_with_colour(&mut self, value: [f32; 1]) -> (u8, [f32; 1]) {
        let rank = self.rank(value[0]);
        (self.index_of_rank[rank], [self.value_of_rank[rank]])
    }

    #[inline]
    fn colour(&self, index: u8) -> [f32; 1] {
        [self.by_index[usize::from(index & 15)]]
    }

    fn spread(&self) -> f32 {
        self.spread
    }

    fn grey_levels(&self) -> Option<&GreyLevels> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn midpoint_search_matches_reference(
            levels in proptest::collection::vec(0.0f32..1.0, 1..16),
            value in -0.5f32..1.5,
        ) {
            let mut q = GreyLevels::new(&levels);
            let fast = q.nearest([value]);
            let reference = q.nearest_reference(value, levels.len());
            // Equal distances may pick either index; the colours must agree.
            prop_assert!((q.colour(fast)[0] - value).abs() <= (q.colour(reference)[0] - value).abs() + 1e-6);
        }
    }
}
