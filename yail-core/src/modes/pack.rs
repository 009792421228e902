//! Packing pixel values into bytes, as every mode's payload stores them.

/// Packs pixel values of `bits` bits (1, 2, 4 or 8) into bytes, leftmost
/// pixel in the most significant bits, as every mode's payload stores them.
pub(crate) fn pack(values: &[u8], bits: u32) -> Vec<u8> {
    let per_byte = (8 / bits) as usize;
    let mask = ((1u16 << bits) - 1) as u8;
    let pack_group = |group: &[u8]| {
        group.iter().enumerate().fold(0u8, |byte, (i, &v)| {
            byte | (v & mask) << (8 - bits as usize * (i + 1))
        })
    };
    match bits {
        // Graphics 8: eight pixels to a byte in one multiplication. With
        // the eight values' low bits as bytes 0..8 of a little-endian word,
        // the product with 0x8040201008040201 (bit 9j set for j in 0..8)
        // has value i's bit at position 63 - i, and no other partial
        // product reaches the top byte or carries into it. About five times
        // faster than collecting the bits one by one.
        1 => pack_groups(values, pack_group, |group: [u8; 8]| {
            let word = u64::from_le_bytes(group);
            ((word & 0x0101_0101_0101_0101).wrapping_mul(0x8040_2010_0804_0201) >> 56) as u8
        }),
        // Fixed group sizes, so the loop is a few shifts per byte that the
        // compiler can vectorise; `pack_group` with its shift per position
        // would cost 5 % of Graphics 9's convert stage.
        2 => pack_groups(values, pack_group, |group: [u8; 4]| {
            group.iter().fold(0, |byte, &v| byte << 2 | (v & 3))
        }),
        4 => pack_groups(values, pack_group, |group: [u8; 2]| {
            (group[0] & 15) << 4 | (group[1] & 15)
        }),
        8 => values.to_vec(),
        _ => values.chunks(per_byte).map(pack_group).collect(),
    }
}

/// [`pack`] by whole groups of `N` values, through `whole`; a shorter last
/// group goes through `part`.
fn pack_groups<const N: usize>(
    values: &[u8],
    part: impl Fn(&[u8]) -> u8,
    whole: impl Fn([u8; N]) -> u8,
) -> Vec<u8> {
    let groups = values.chunks_exact(N);
    let tail = groups.remainder();
    let mut out: Vec<u8> = groups
        .map(|group| whole(group.try_into().unwrap_or([0; N])))
        .collect();
    if !tail.is_empty() {
        out.push(part(tail));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_puts_the_left_pixel_high() {
        assert_eq!(pack(&[1, 0, 0, 0, 0, 0, 0, 1], 1), [0x81]);
        assert_eq!(pack(&[3, 0, 1, 2], 2), [0b11_00_01_10]);
        assert_eq!(pack(&[0xA, 0x5], 4), [0xA5]);
        assert_eq!(pack(&[7, 9], 8), [7, 9]);
        // A short last group starts at the byte's top.
        assert_eq!(pack(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 1), [0, 0xC0]);
        assert_eq!(pack(&[1, 2, 3], 4), [0x12, 0x30]);
    }

    proptest::proptest! {
        /// Every value comes back from its bits, in order, and the bits
        /// past the last value are zero.
        #[test]
        fn packed_values_read_back(
            bits in proptest::sample::select(vec![1u32, 2, 4, 8]),
            values in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..70),
        ) {
            let mask = ((1u16 << bits) - 1) as u8;
            let packed = pack(&values, bits);
            let per = 8 / bits as usize;
            proptest::prop_assert_eq!(packed.len(), values.len().div_ceil(per));
            let read: Vec<u8> = packed
                .iter()
                .flat_map(|&byte| (0..per).map(move |i| (byte >> (8 - bits as usize * (i + 1))) & mask))
                .collect();
            proptest::prop_assert_eq!(&read[..values.len()], &values.iter().map(|v| v & mask).collect::<Vec<_>>()[..]);
            proptest::prop_assert!(read[values.len()..].iter().all(|&v| v == 0));
        }
    }
}
