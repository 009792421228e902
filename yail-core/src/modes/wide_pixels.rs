//! The value each Graphics 9 pixel shows: one pixel covers four columns of
//! the fitted frame.
//!
//! The plain choice is the mean of the four columns. But a viewer sees the
//! screen blurred (the eye, a scaler), and what should match is the blurred
//! screen and the blurred picture, not each block and its mean. The weights
//! below are the least-squares answer to that for a 12-column window (the
//! block and one neighbour each side) and the quality measure's blur (a
//! Gaussian of sigma one column), for a picture of unrelated pixels: the
//! block's own columns, weighted towards its centre and summing to one,
//! plus from each neighbour a term summing to zero (its nearest column
//! adds, its far ones subtract). That term keeps flat areas and ramps as
//! they are and steepens an edge a little, making up for part of the
//! detail the wide block blurs away. The derivation is in
//! `bench/runs/2026-12-04/gr9.md`. Against the plain mean, every picture of
//! the varied set and every photo gains (0.1-0.9 dB HVS-PSNR); only the
//! block's own columns and its two neighbours are read, so it costs a few
//! more multiplications per pixel and no second pass.

/// Weights of the block's own four columns, left to right.
const OWN: [f32; 4] = [0.209, 0.291, 0.291, 0.209];
/// Weights of the columns of the block on the left, left to right; the
/// block on the right uses them mirrored. They sum to zero, so a flat area
/// keeps its value.
const LEFT: [f32; 4] = [-0.037, -0.041, -0.006, 0.084];
/// [`LEFT`] mirrored, for the block on the right.
const RIGHT: [f32; 4] = [LEFT[3], LEFT[2], LEFT[1], LEFT[0]];

/// Columns per wide pixel.
const WIDTH: usize = 4;

/// Working values of a one-channel frame `width` columns wide, one per
/// group of four columns, into `out`; `table` gives the working value of
/// each byte, `sums` is scratch. Past the screen's edges the frame is
/// mirrored, as the quality measure's blur does. Trailing columns that do
/// not fill a group are dropped.
pub(super) fn wide_pixel_values(
    frame: &[u8],
    width: usize,
    table: &[f32; 256],
    sums: &mut Vec<[f32; 3]>,
    out: &mut Vec<f32>,
) {
    out.clear();
    let groups = width / WIDTH;
    if groups == 0 {
        return;
    }
    let dot = |b: [f32; 4], w: [f32; 4]| b[0] * w[0] + b[1] * w[1] + b[2] * w[2] + b[3] * w[3];
    for bytes in frame.chunks_exact(width) {
        // Each block once through each set of weights: as itself, as the
        // left neighbour of the next block, as the right one of the last.
        sums.clear();
        sums.extend(bytes[..groups * WIDTH].chunks_exact(WIDTH).map(|b| {
            let b = [b[0], b[1], b[2], b[3]].map(|v| table[usize::from(v)]);
            [dot(b, OWN), dot(b, LEFT), dot(b, RIGHT)]
        }));
        out.extend((0..groups).map(|g| {
            // The mirror image of a block seen through LEFT is the block
            // itself seen through RIGHT, and the other way round.
            let left = if g > 0 { sums[g - 1][1] } else { sums[0][2] };
            let right = if g + 1 < groups {
                sums[g + 1][2]
            } else {
                sums[g][1]
            };
            left + sums[g][0] + right
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The filter as a plain 12-tap convolution over mirrored columns: what
    /// [`wide_pixel_values`] must compute.
    fn reference(frame: &[u8], width: usize, table: &[f32; 256]) -> Vec<f32> {
        let taps: Vec<f32> = LEFT.iter().chain(&OWN).chain(&RIGHT).copied().collect();
        let used = width / WIDTH * WIDTH;
        let mirror = |x: isize| -> usize {
            let n = used as isize;
            let m = x.rem_euclid(2 * n);
            (if m < n { m } else { 2 * n - 1 - m }) as usize
        };
        let mut out = Vec::new();
        for bytes in frame.chunks_exact(width) {
            for g in 0..used / WIDTH {
                let start = (g * WIDTH) as isize - WIDTH as isize;
                let value: f32 = taps
                    .iter()
                    .enumerate()
                    .map(|(k, w)| w * table[usize::from(bytes[mirror(start + k as isize)])])
                    .sum();
                out.push(value);
            }
        }
        out
    }

    #[test]
    fn weights_keep_a_flat_area() {
        assert!((OWN.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(LEFT.iter().sum::<f32>().abs() < 1e-6);
        let table: [f32; 256] = std::array::from_fn(|v| v as f32 / 255.0);
        let (mut row, mut out) = (Vec::new(), Vec::new());
        wide_pixel_values(&[200; 320 * 3], 320, &table, &mut row, &mut out);
        assert_eq!(out.len(), 80 * 3);
        assert!(out.iter().all(|v| (v - 200.0 / 255.0).abs() < 1e-5));
    }

    #[test]
    fn an_edge_is_steepened_and_flat_areas_away_from_it_kept() {
        // Dark on the left, bright from column 10 (inside block 2): block 2
        // shows the mean of its columns, the blocks either side overshoot
        // a little away from the edge, and blocks further off keep their
        // value.
        let table: [f32; 256] = std::array::from_fn(|v| v as f32 / 255.0);
        let frame: Vec<u8> = (0..32).map(|x| if x < 10 { 0 } else { 255 }).collect();
        let (mut row, mut out) = (Vec::new(), Vec::new());
        wide_pixel_values(&frame, 32, &table, &mut row, &mut out);
        assert!((out[2] - 0.5).abs() < 1e-6, "{out:?}");
        assert!(out[1] < -0.05 && out[3] > 1.05, "{out:?}");
        assert!(
            out[0].abs() < 1e-6 && (out[5] - 1.0).abs() < 1e-6,
            "{out:?}"
        );
    }

    proptest! {
        #[test]
        fn matches_the_plain_convolution(
            groups in 1usize..24,
            extra in 0usize..4,
            height in 0usize..5,
            seed in any::<u64>(),
        ) {
            let width = groups * WIDTH + extra;
            let mut rng = fastrand::Rng::with_seed(seed);
            let frame: Vec<u8> = (0..width * height).map(|_| rng.u8(..)).collect();
            let table: [f32; 256] = std::array::from_fn(|i| (i as f32 / 255.0).powf(2.2));
            let (mut row, mut out) = (vec![[5.0; 3]; 2], vec![9.0; 7]);
            wide_pixel_values(&frame, width, &table, &mut row, &mut out);
            let plain = reference(&frame, width, &table);
            prop_assert_eq!(out.len(), plain.len());
            for (a, b) in out.iter().zip(&plain) {
                prop_assert!((a - b).abs() < 1e-5, "{} vs {}", a, b);
            }
        }
    }
}
