//! A set of up to 16 grey levels, searched through the midpoints between
//! them: the quantizer of the grey modes (Graphics 8, 9 and 15).

/// Up to 16 grey levels, searched through the midpoints between them.
#[derive(Debug, Clone)]
pub(crate) struct GreyLevels {
    /// Midpoints between consecutive levels, ascending.
    pub(crate) midpoints: [f32; 16],
    /// Index of the level of each rank.
    pub(crate) index_of_rank: [u8; 16],
    /// Value of the level of each rank.
    pub(crate) value_of_rank: [f32; 16],
    /// Value of each index.
    pub(crate) by_index: [f32; 16],
    /// Number of midpoints in use (levels minus one).
    pub(crate) gaps: usize,
    /// Typical distance between neighbouring levels.
    pub(crate) spread: f32,
    /// How Floyd–Steinberg shares a pixel's error, in sixteenths: to the
    /// pixel ahead, behind below and below; the one ahead below gets the
    /// rest.
    pub(crate) shares: [i32; 3],
}

/// The classic Floyd–Steinberg shares: 7 ahead, 3, 5 and 1 below.
const SQUARE_PIXEL_SHARES: [i32; 3] = [7, 3, 5];

/// Shares for pixels four times as wide as tall (Graphics 9). The pixel
/// below is a quarter as far away as the one ahead, so the eye mixes an
/// error sent down with the pixel it came from, while one sent ahead lands
/// a pixel-width away. Half the error goes straight down. Measured on the
/// varied set and the photos, every picture gains (0.1-0.8 dB, after the
/// wide-pixel filter in `modes/wide_pixels.rs`); sending still more
/// down adds under 0.1 dB.
const WIDE_PIXEL_SHARES: [i32; 3] = [3, 3, 8];

impl GreyLevels {
    /// Levels given in index order (index `i` shows `levels[i]`); 1 to 16 of them.
    pub fn new(levels: &[f32]) -> GreyLevels {
        let levels = &levels[..levels.len().min(16)];
        let mut sorted: Vec<(f32, u8)> = levels
            .iter()
            .enumerate()
            .map(|(i, &v)| (v, i as u8))
            .collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut midpoints = [f32::INFINITY; 16];
        for (m, w) in midpoints.iter_mut().zip(sorted.windows(2)) {
            *m = (w[0].0 + w[1].0) / 2.0;
        }
        let mut index_of_rank = [0u8; 16];
        let mut value_of_rank = [0.0f32; 16];
        for (rank, &(v, i)) in sorted.iter().enumerate() {
            index_of_rank[rank] = i;
            value_of_rank[rank] = v;
        }
        let mut by_index = [0.0f32; 16];
        by_index[..levels.len()].copy_from_slice(levels);
        let range = sorted.last().map_or(0.0, |l| l.0) - sorted.first().map_or(0.0, |l| l.0);
        GreyLevels {
            midpoints,
            index_of_rank,
            value_of_rank,
            by_index,
            gaps: sorted.len().saturating_sub(1),
            spread: range / (sorted.len().max(2) - 1) as f32,
            shares: SQUARE_PIXEL_SHARES,
        }
    }

    /// Shares Floyd–Steinberg's error for pixels four times as wide as
    /// tall: mostly down, little ahead.
    pub fn for_wide_pixels(mut self) -> GreyLevels {
        self.shares = WIDE_PIXEL_SHARES;
        self
    }

    /// Moves the decision point between two levels to `fraction` of the
    /// way from the darker to the brighter (0.5 is nearest). Error
    /// diffusion keeps the local mean whatever the threshold; the threshold
    /// only changes where the dots go. No effect with more than two levels.
    pub fn with_threshold(mut self, fraction: f32) -> GreyLevels {
        if self.gaps == 1 {
            let (low, high) = (self.value_of_rank[0], self.value_of_rank[1]);
            self.midpoints[0] = low + (high - low) * fraction;
        }
        self
    }

    /// The straightforward search the midpoint table must agree with.
    #[cfg(test)]
    pub fn nearest_reference(&self, value: f32, count: usize) -> u8 {
        let mut best = (f32::INFINITY, 0u8);
        for (i, &level) in self.by_index[..count].iter().enumerate() {
            let d = (value - level).abs();
            if d < best.0 {
                best = (d, i as u8);
            }
        }
        best.1
    }
}

impl GreyLevels {
    /// Rank of the nearest level: how many midpoints `value` lies above.
    /// The comparisons do not depend on each other, so the processor does
    /// them in parallel; with two levels (Graphics 8) this is one compare.
    #[inline]
    pub(crate) fn rank(&self, value: f32) -> usize {
        if self.gaps == 1 {
            return usize::from(value > self.midpoints[0]);
        }
        let mut rank = 0;
        for &m in &self.midpoints[..self.gaps] {
            rank += usize::from(value > m);
        }
        rank
    }
}
