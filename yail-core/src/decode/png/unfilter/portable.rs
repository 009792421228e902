//! The portable row-filter loops: one row at a time, and pairs of rows
//! with the same predicting filter run together.

/// [`unfilter_pair`] for `bpp` bytes per pixel.
pub(super) fn portable_pair(
    bpp: usize,
    paeth: bool,
    above: &[u8],
    row: &mut [u8],
    below: &mut [u8],
) {
    match bpp {
        1 => unfilter_pair::<1>(paeth, above, row, below),
        2 => unfilter_pair::<2>(paeth, above, row, below),
        3 => unfilter_pair::<3>(paeth, above, row, below),
        _ => unfilter_pair::<4>(paeth, above, row, below),
    }
}

/// Two consecutive rows with the same filter, Paeth or (`paeth` false)
/// Average (`row` under `above`, `below` under `row`), undone together.
///
/// Each pixel of such a row waits for the one to its left (about ten
/// dependent steps for Paeth, three for Average), which leaves the
/// processor mostly idle. The lower row only needs the upper row's pixels
/// up to its own position, so it runs one pixel behind in the same loop:
/// each step predicts the upper row's pixel `k` in lanes 0..4 and the lower
/// row's pixel `k - 1` in lanes 4..8 of eight 16-bit lanes, which the
/// compiler turns into vector instructions. What the lower row needs from
/// the upper one is the previous step's result, already in a register.
///
/// For a photo whose rows are mostly Paeth this takes a sixth or more off
/// the decode. Pairing has to be in lanes: in scalar code it makes RGB
/// slower, because the three channels of a pixel are already independent
/// chains, and six chains of scalar instructions are more than the
/// processor can issue.
///
/// On x86-64, RGB and RGBA rows go through [`super::sse2`] instead, in pairs or
/// fours, which moves bytes into lanes with fewer instructions. This loop
/// serves grey images (where it is as fast), other processors, and is the
/// reference that one is tested against.
fn unfilter_pair<const BPP: usize>(paeth: bool, above: &[u8], row: &mut [u8], below: &mut [u8]) {
    if paeth {
        pair_with::<BPP>(above, row, below, paeth_lanes);
    } else {
        pair_with::<BPP>(above, row, below, |a, b, _| {
            std::array::from_fn(|i| (a[i] + b[i]) >> 1)
        });
    }
}

/// The Paeth predictor lane by lane, in the same branch-free form as
/// [`paeth`], from left `a`, above `b` and upper-left `c`.
#[inline(always)]
fn paeth_lanes(a: &[i16; 8], b: &[i16; 8], c: &[i16; 8]) -> [i16; 8] {
    let t: [i16; 8] = std::array::from_fn(|i| 3 * c[i] - (a[i] + b[i]));
    let low: [i16; 8] = std::array::from_fn(|i| a[i].min(b[i]));
    let high: [i16; 8] = std::array::from_fn(|i| a[i].max(b[i]));
    let otherwise: [i16; 8] = std::array::from_fn(|i| if high[i] <= t[i] { low[i] } else { c[i] });
    std::array::from_fn(|i| {
        if t[i] <= low[i] {
            high[i]
        } else {
            otherwise[i]
        }
    })
}

/// [`unfilter_pair`] with the predictor `predict(left, above, upper_left)`.
#[inline(always)]
fn pair_with<const BPP: usize>(
    above: &[u8],
    row: &mut [u8],
    below: &mut [u8],
    predict: impl Fn(&[i16; 8], &[i16; 8], &[i16; 8]) -> [i16; 8],
) {
    const { assert!(BPP <= 4) };
    let pixels = row.len() / BPP;
    if pixels == 0 {
        return;
    }
    let mut a = [0i16; 8];
    let mut c = [0i16; 8];
    // Left, above and upper-left neighbours per lane; `x` is the filtered
    // byte.
    let step = |a: &[i16; 8], b: &[i16; 8], c: &[i16; 8], x: &[i16; 8]| -> [i16; 8] {
        let predicted = predict(a, b, c);
        std::array::from_fn(|i| (x[i] + predicted[i]) & 0xFF)
    };
    // The upper row's first pixel alone (the lower row's lanes compute
    // zeros, which are its left and upper-left neighbours at its start).
    let (b, x) = gather::<BPP>(Some((&above[..BPP], &row[..BPP])), None, &a);
    let out = step(&a, &b, &c, &x);
    put(&mut row[..BPP], &out[..4]);
    (a, c) = (out, b);
    for k in 1..pixels {
        let at = k * BPP..(k + 1) * BPP;
        let (b, x) = gather::<BPP>(
            Some((&above[at.clone()], &row[at.clone()])),
            Some(&below[at.start - BPP..at.start]),
            &a,
        );
        let out = step(&a, &b, &c, &x);
        put(&mut row[at.clone()], &out[..4]);
        put(&mut below[at.start - BPP..at.start], &out[4..]);
        (a, c) = (out, b);
    }
    // The lower row's last pixel alone.
    let last = (pixels - 1) * BPP..pixels * BPP;
    let (b, x) = gather::<BPP>(None, Some(&below[last.clone()]), &a);
    let out = step(&a, &b, &c, &x);
    put(&mut below[last], &out[4..]);
}

/// Writes a pixel's lanes (bytes kept in 16 bits) back as bytes.
#[inline(always)]
fn put(pixel: &mut [u8], lanes: &[i16]) {
    for (p, &v) in pixel.iter_mut().zip(lanes) {
        *p = v as u8;
    }
}

/// The lanes of one [`pair_with`] step: above-neighbours `b` and filtered
/// bytes `x`, lanes 0..4 from the upper row (`up` over `px`), lanes 4..8
/// from the lower row's `low`, whose above-neighbour is the upper row's
/// previous pixel, `a`'s lanes 0..4. Lanes without a pixel stay zero.
#[inline(always)]
fn gather<const BPP: usize>(
    upper: Option<(&[u8], &[u8])>,
    lower: Option<&[u8]>,
    a: &[i16; 8],
) -> ([i16; 8], [i16; 8]) {
    let (mut b, mut x) = ([0i16; 8], [0i16; 8]);
    if let Some((up, px)) = upper {
        for i in 0..BPP {
            b[i] = i16::from(up[i]);
            x[i] = i16::from(px[i]);
        }
    }
    if let Some(low) = lower {
        for i in 0..BPP {
            b[4 + i] = a[i];
            x[4 + i] = i16::from(low[i]);
        }
    }
    (b, x)
}

/// One row's filter undone; `above` is the previous row, already undone
/// (`None` on the first row, where it counts as zeros).
#[inline(always)]
pub(super) fn unfilter_row<const BPP: usize>(
    filter: u8,
    row: &mut [u8],
    above: Option<&[u8]>,
) -> bool {
    match (filter, above) {
        (0, _) | (2, None) => {}
        (1, _) | (4, None) => {
            let mut left = [0u8; BPP];
            for px in row.chunks_exact_mut(BPP) {
                for c in 0..BPP {
                    left[c] = px[c].wrapping_add(left[c]);
                    px[c] = left[c];
                }
            }
        }
        (2, Some(above)) => {
            for (x, b) in row.iter_mut().zip(above) {
                *x = x.wrapping_add(*b);
            }
        }
        (3, above) => {
            let mut left = [0u8; BPP];
            let zeros = [0u8; BPP];
            let above_pixels = above.map(|a| a.chunks_exact(BPP));
            let mut above_pixels = above_pixels.into_iter().flatten();
            for px in row.chunks_exact_mut(BPP) {
                let up = above_pixels.next().unwrap_or(&zeros);
                for c in 0..BPP {
                    let mean = (u16::from(left[c]) + u16::from(up[c])) / 2;
                    left[c] = px[c].wrapping_add(mean as u8);
                    px[c] = left[c];
                }
            }
        }
        (4, Some(above)) => {
            // Left and upper-left stay in registers, already widened: going
            // through memory would chain every byte to the store before it.
            let mut left = [0i16; BPP];
            let mut upper_left = [0i16; BPP];
            for (px, up) in row.chunks_exact_mut(BPP).zip(above.chunks_exact(BPP)) {
                for c in 0..BPP {
                    let b = i16::from(up[c]);
                    px[c] = px[c].wrapping_add(paeth(left[c], b, upper_left[c]));
                    left[c] = i16::from(px[c]);
                    upper_left[c] = b;
                }
            }
        }
        _ => return false,
    }
    true
}

/// The Paeth predictor: whichever of left `a`, above `b` and upper-left `c`
/// is closest to `a + b - c`, ties in that order.
///
/// Written in the branch-free form of stb_image (public domain): with
/// `t = 3 * upper_left - (left + above)`, the answer is the larger of left
/// and above if `t` is at most the smaller, else the smaller if the larger
/// is at most `t`, else upper-left. On photos the choice is close to random,
/// so branches would mispredict; this compiles to conditional moves and has
/// a short dependency chain through `left`, which each pixel waits for.
#[inline(always)]
fn paeth(a: i16, b: i16, c: i16) -> u8 {
    let threshold = 3 * c - (a + b);
    let (low, high) = (a.min(b), a.max(b));
    let otherwise = if high <= threshold { low } else { c };
    (if threshold <= low { high } else { otherwise }) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paeth_matches_the_specification() {
        // The specification's form, with p = a + b - c.
        fn spec(a: u8, b: u8, c: u8) -> u8 {
            let p = i32::from(a) + i32::from(b) - i32::from(c);
            let (pa, pb, pc) = (
                (p - i32::from(a)).abs(),
                (p - i32::from(b)).abs(),
                (p - i32::from(c)).abs(),
            );
            if pa <= pb && pa <= pc {
                a
            } else if pb <= pc {
                b
            } else {
                c
            }
        }
        for a in (0..=255u8).step_by(5) {
            for b in (0..=255u8).step_by(3) {
                for c in 0..=255u8 {
                    assert_eq!(
                        paeth(i16::from(a), i16::from(b), i16::from(c)),
                        spec(a, b, c),
                        "{a} {b} {c}"
                    );
                }
            }
        }
    }
}
