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
}

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
        }
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
