//! One encoder per graphics mode: working-space pixels in, packet out.
//!
//! Every mode follows the same path: the picture is fitted onto the mode's
//! screen (see [`Screen`]), turned into working-space values (squeezed to
//! wide pixels where the mode has them), dithered against the colours the
//! mode can show, and packed into the payload layout of the protocol.

mod few_colours;
mod grey;
mod hue;
mod registers;
mod vbxe;

use yail_proto::{GfxMode, Packet};

use crate::color::BlendSpace;
use crate::dither::{Dither, DitherBuffers, Quantizer};
use crate::error::Result;
use crate::palette::AtariPalette;

pub(crate) use vbxe::vbxe_shown;

/// How a palette for VBXE modes is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PaletteMethod {
    /// Wu's colour quantiser: fast, good (the default).
    #[default]
    Wu,
    /// Wu's palette refined by k-means: slower, closer colours.
    KMeans,
}

impl std::str::FromStr for PaletteMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "wu" => Ok(PaletteMethod::Wu),
            "kmeans" => Ok(PaletteMethod::KMeans),
            _ => Err(format!(
                "unknown palette method {s:?} (expected wu or kmeans)"
            )),
        }
    }
}

/// The screen a mode draws on: its shape (the aspect a picture is fitted
/// to), the grid the picture is resized to, and how many grid columns make
/// one Atari pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    /// Width and height of the screen shape, in screen pixels.
    pub shape: (u32, u32),
    /// Width and height of the resize grid.
    pub grid: (u32, u32),
    /// Grid columns per Atari pixel (1, 2 or 4).
    pub squeeze: u32,
    /// Whether the mode shows grey levels only.
    pub grey: bool,
}

impl Screen {
    /// The screen of a concrete mode; `None` for [`GfxMode::Random`].
    pub fn of(mode: GfxMode) -> Option<Screen> {
        let antic = |squeeze, grey| Screen {
            shape: (320, 220),
            grid: (320, 220),
            squeeze,
            grey,
        };
        Some(match mode {
            GfxMode::Gr8 => antic(1, true),
            GfxMode::Gr9 => antic(4, true),
            GfxMode::Gr15 => antic(2, true),
            GfxMode::Gr11 | GfxMode::Gr10 => antic(4, false),
            GfxMode::Vbxe | GfxMode::VbxeLegacy => Screen {
                shape: (320, 240),
                grid: (320, 240),
                squeeze: 1,
                grey: false,
            },
            GfxMode::VbxeHiRes => Screen {
                shape: (320, 240),
                grid: (640, 240),
                squeeze: 1,
                grey: false,
            },
            GfxMode::Random => return None,
        })
    }

    /// Atari pixels per row.
    pub fn columns(&self) -> usize {
        (self.grid.0 / self.squeeze) as usize
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.grid.1 as usize
    }
}

/// Buffers an encoder reuses between pictures.
#[derive(Debug, Default)]
pub(crate) struct Work {
    pub values: Vec<f32>,
    pub indices: Vec<u8>,
    pub dither: DitherBuffers,
}

impl Work {
    /// Dithers `values` (one screen of working values) to `quantizer`'s
    /// colours, leaving one index per pixel in `indices`.
    pub fn dither<const C: usize, Q: Quantizer<C>>(
        &mut self,
        screen: &Screen,
        method: Dither,
        quantizer: &mut Q,
    ) {
        crate::dither::dither(
            &self.values,
            screen.columns(),
            screen.rows(),
            method,
            quantizer,
            &mut self.dither,
            &mut self.indices,
        );
    }
}

/// What every encoder needs to know besides the pixels.
pub(crate) struct EncodeContext<'a> {
    pub dither: Dither,
    pub blend: BlendSpace,
    pub palette: &'a AtariPalette,
    pub method: PaletteMethod,
}

/// Encodes a fitted frame (grid-sized, grey for grey modes, RGB otherwise).
pub(crate) fn encode(
    mode: GfxMode,
    frame: &[u8],
    ctx: &EncodeContext<'_>,
    work: &mut Work,
) -> Result<Packet> {
    let screen = Screen::of(mode).ok_or(yail_proto::PacketError::NotConcrete)?;
    match mode {
        GfxMode::Gr8 | GfxMode::Gr9 | GfxMode::Gr15 => {
            grey::encode(mode, &screen, frame, ctx, work)
        }
        GfxMode::Gr11 => hue::encode(&screen, frame, ctx, work),
        GfxMode::Gr10 => registers::encode(&screen, frame, ctx, work),
        GfxMode::Vbxe | GfxMode::VbxeLegacy | GfxMode::VbxeHiRes => {
            vbxe::encode(mode, &screen, frame, ctx, work)
        }
        GfxMode::Random => Err(yail_proto::PacketError::NotConcrete.into()),
    }
}

/// Packs pixel values of `bits` bits (1, 2, 4 or 8) into bytes, leftmost
/// pixel in the most significant bits, as every mode's payload stores them.
pub fn pack(values: &[u8], bits: u32) -> Vec<u8> {
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
        // product reaches the top byte or carries into it. A fifth of the
        // time of the general loop, which took 0.02 ms per screen.
        1 => pack_groups(values, pack_group, |group: [u8; 8]| {
            let word = u64::from_le_bytes(group);
            ((word & 0x0101_0101_0101_0101).wrapping_mul(0x8040_2010_0804_0201) >> 56) as u8
        }),
        // Fixed group sizes, so the loop is a few shifts per byte that the
        // compiler can vectorise; `pack_group` with its shift per position
        // took 5 % of Graphics 9's convert stage.
        2 => pack_groups(values, pack_group, |group: [u8; 4]| {
            group.iter().fold(0, |byte, &v| byte << 2 | (v & 3))
        }),
        4 => pack_groups(values, pack_group, |group: [u8; 2]| {
            (group[0] & 15) << 4 | (group[1] & 15)
        }),
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

/// Working-space values of an 8-bit frame, squeezed to wide pixels;
/// `table` gives the working value of each 8-bit value (usually
/// [`BlendSpace::table`]).
fn working_values(
    frame: &[u8],
    screen: &Screen,
    channels: usize,
    table: &[f32; 256],
    out: &mut Vec<f32>,
) {
    crate::resize::squeeze(
        frame,
        screen.grid.0 as usize,
        channels,
        screen.squeeze as usize,
        table,
        out,
    );
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
