//! Frames that hold few distinct colours: a tiny picture blown up to the
//! screen, flat artwork, a GIF shown at its own size, letterbox bars.
//!
//! When a VBXE frame has no more distinct colours than the palette has
//! entries, those colours *are* the best palette, and each pixel's index is
//! known without a search: quantising (Wu) and dithering the 76 800 pixels
//! would spend milliseconds to find the same answer. The count gives up as
//! soon as one colour too many turns up, which on a photo is within its
//! first few hundred pixels.

/// Slots of the open-addressing table; a power of two comfortably above
/// the 256 colours a palette can hold, so probes stay short.
const SLOTS: usize = 1024;
/// A slot holding no colour (no 24-bit colour has the top bit set).
const EMPTY: u32 = u32::MAX;

/// The distinct colours of `pixels` (RGB triples) in first-seen order and
/// each pixel's index among them, or `None` when there are more than
/// `max` (at most 256) of them.
pub(super) fn few_colours(pixels: &[u8], max: usize) -> Option<(Vec<[u8; 3]>, Vec<u8>)> {
    debug_assert!(max <= 256);
    let mut keys = [EMPTY; SLOTS];
    let mut slot_index = [0u8; SLOTS];
    let mut colours: Vec<[u8; 3]> = Vec::new();
    let mut indices = Vec::with_capacity(pixels.len() / 3);
    // Neighbouring pixels are usually the same colour: remember the last.
    let mut last = (EMPTY, 0u8);
    for px in pixels.chunks_exact(3) {
        let key = u32::from(px[0]) << 16 | u32::from(px[1]) << 8 | u32::from(px[2]);
        if key == last.0 {
            indices.push(last.1);
            continue;
        }
        let mut slot = (key.wrapping_mul(0x9E37_79B1) >> 22) as usize;
        let index = loop {
            match keys[slot] {
                k if k == key => break slot_index[slot],
                EMPTY => {
                    if colours.len() == max {
                        return None;
                    }
                    let index = colours.len() as u8;
                    keys[slot] = key;
                    slot_index[slot] = index;
                    colours.push([px[0], px[1], px[2]]);
                    break index;
                }
                _ => slot = (slot + 1) % SLOTS,
            }
        };
        last = (key, index);
        indices.push(index);
    }
    Some((colours, indices))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain version: a linear search of the colours seen so far.
    fn few_colours_reference(pixels: &[u8], max: usize) -> Option<(Vec<[u8; 3]>, Vec<u8>)> {
        let mut colours: Vec<[u8; 3]> = Vec::new();
        let mut indices = Vec::new();
        for px in pixels.chunks_exact(3) {
            let c = [px[0], px[1], px[2]];
            let index = match colours.iter().position(|&k| k == c) {
                Some(i) => i,
                None if colours.len() == max => return None,
                None => {
                    colours.push(c);
                    colours.len() - 1
                }
            };
            indices.push(index as u8);
        }
        Some((colours, indices))
    }

    proptest! {
        #[test]
        fn few_colours_matches_the_plain_count(
            // Few levels per channel, so both outcomes (fits, too many) occur.
            pixels in proptest::collection::vec(proptest::sample::select(vec![0u8, 1, 127, 128, 254, 255]), 0..1500),
            max in 1usize..=256,
        ) {
            let whole = &pixels[..pixels.len() / 3 * 3];
            prop_assert_eq!(few_colours(whole, max), few_colours_reference(whole, max));
        }
    }

    #[test]
    fn a_full_palette_of_256_colours_fits_and_one_more_does_not() {
        let mut pixels: Vec<u8> = (0..=255u8).flat_map(|v| [v, 255 - v, v / 2]).collect();
        let (colours, indices) = few_colours(&pixels, 256).unwrap();
        assert_eq!(colours.len(), 256);
        assert_eq!(indices[255], 255);
        pixels.extend_from_slice(&[1, 2, 3]);
        assert_eq!(few_colours(&pixels, 256), None);
        assert_eq!(few_colours(&pixels[..255 * 3], 254), None);
    }
}
