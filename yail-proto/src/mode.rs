//! Graphics modes as they appear on the wire (`gfx N`, and the fourth header byte).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// A graphics mode value that a YAIL client may send with `gfx N`.
///
/// The two client generations number some modes differently; this type names
/// the *wire value* and what this server sends for it. Both generations send
/// 8 for a hue mode (legacy "Graphics 10", current "Graphics 11") and receive
/// Graphics 11 data; 16 is VBXE 320x240 (current client) and 17 the legacy
/// client's VBXE value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GfxMode {
    /// Graphics 8: 320x220, one bit per pixel (wire value 2).
    Gr8,
    /// Graphics 9: 80x220, 16 grey levels (wire value 4).
    Gr9,
    /// Graphics 15: 160x220, four grey shades (wire value 6).
    Gr15,
    /// Graphics 11: 80x220, 15 hues plus black (wire value 8).
    Gr11,
    /// Graphics 10: 80x220, nine colour registers (wire value 10).
    Gr10,
    /// VBXE 320x240, up to 255 colours, as the current client numbers it (16).
    Vbxe,
    /// VBXE 320x240, up to 255 colours, as the legacy client numbers it (17).
    VbxeLegacy,
    /// VBXE 640x240, up to 15 colours plus black (wire value 18).
    VbxeHiRes,
    /// "Random": the server picks a mode for every image (wire value 42).
    Random,
}

/// How a packet is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketVersion {
    /// Version 1.1: one 8800-byte frame (`01 01 00`).
    V1_1,
    /// Version 1.4: a list of typed blocks (`01 04 00`).
    V1_4,
}

/// What kind of palette block a mode's packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaletteLayout {
    /// No palette block (the client's colour registers are fixed).
    None,
    /// Nine Atari colour bytes for P0 P1 P2 P3 PF0 PF1 PF2 PF3 BAK (Graphics 10).
    ColorRegisters,
    /// RGB triplets for VBXE palette entries `0..n`, entry 0 black, `n <= max_entries`.
    Rgb {
        /// The largest number of entries the mode can use, black included.
        max_entries: u16,
    },
}

/// The pixel grid and payload shape of a concrete (non-random) mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Pixels per row.
    pub width: u16,
    /// Rows.
    pub height: u16,
    /// Bits per pixel; pixels are packed most significant bits first.
    pub bits_per_pixel: u8,
    /// The palette block that accompanies the image, if any.
    pub palette: PaletteLayout,
    /// The packet layout the mode is sent in.
    pub version: PacketVersion,
}

impl Geometry {
    /// Bytes in one row of the image payload.
    pub const fn bytes_per_row(&self) -> usize {
        self.width as usize * self.bits_per_pixel as usize / 8
    }

    /// Bytes in the image payload.
    pub const fn payload_len(&self) -> usize {
        self.bytes_per_row() * self.height as usize
    }
}

/// The payload of every ANTIC/GTIA mode: 40 bytes x 220 rows.
pub const ANTIC_PAYLOAD_LEN: usize = 8800;
/// The image payload of both VBXE modes.
pub const VBXE_PAYLOAD_LEN: usize = 76_800;

/// A mode number that is not one of the values in [`GfxMode::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsupported graphics mode {0}")]
pub struct UnknownMode(pub u8);

/// A mode name or number that [`GfxMode::from_str`] does not recognise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown graphics mode {0:?} (expected one of gr8 gr9 gr10 gr11 gr15 vbxe vbxe-hr random, or a wire value 2 4 6 8 10 16 17 18 42)"
)]
pub struct ParseModeError(pub String);

impl GfxMode {
    /// Every mode, in wire-value order.
    pub const ALL: [GfxMode; 9] = [
        GfxMode::Gr8,
        GfxMode::Gr9,
        GfxMode::Gr15,
        GfxMode::Gr11,
        GfxMode::Gr10,
        GfxMode::Vbxe,
        GfxMode::VbxeLegacy,
        GfxMode::VbxeHiRes,
        GfxMode::Random,
    ];

    /// The mode for a wire value.
    pub const fn from_wire(value: u8) -> Result<GfxMode, UnknownMode> {
        Ok(match value {
            2 => GfxMode::Gr8,
            4 => GfxMode::Gr9,
            6 => GfxMode::Gr15,
            8 => GfxMode::Gr11,
            10 => GfxMode::Gr10,
            16 => GfxMode::Vbxe,
            17 => GfxMode::VbxeLegacy,
            18 => GfxMode::VbxeHiRes,
            42 => GfxMode::Random,
            other => return Err(UnknownMode(other)),
        })
    }

    /// The value sent after `gfx` and in the packet header.
    pub const fn wire(self) -> u8 {
        match self {
            GfxMode::Gr8 => 2,
            GfxMode::Gr9 => 4,
            GfxMode::Gr15 => 6,
            GfxMode::Gr11 => 8,
            GfxMode::Gr10 => 10,
            GfxMode::Vbxe => 16,
            GfxMode::VbxeLegacy => 17,
            GfxMode::VbxeHiRes => 18,
            GfxMode::Random => 42,
        }
    }

    /// A short lowercase name, accepted back by [`GfxMode::from_str`].
    pub const fn name(self) -> &'static str {
        match self {
            GfxMode::Gr8 => "gr8",
            GfxMode::Gr9 => "gr9",
            GfxMode::Gr15 => "gr15",
            GfxMode::Gr11 => "gr11",
            GfxMode::Gr10 => "gr10",
            GfxMode::Vbxe => "vbxe",
            GfxMode::VbxeLegacy => "vbxe-legacy",
            GfxMode::VbxeHiRes => "vbxe-hr",
            GfxMode::Random => "random",
        }
    }

    /// The name of a wire value, as status pages and tools show it: the
    /// mode's [`name`](GfxMode::name), or `mode N` for a value no mode has
    /// (metrics and session records keep the byte a client sent).
    pub fn wire_name(value: u8) -> Cow<'static, str> {
        match GfxMode::from_wire(value) {
            Ok(mode) => Cow::Borrowed(mode.name()),
            Err(_) => Cow::Owned(format!("mode {value}")),
        }
    }

    /// The payload shape, or `None` for [`GfxMode::Random`], which stands for
    /// whichever concrete mode the server picks.
    pub const fn geometry(self) -> Option<Geometry> {
        const fn antic(width: u16, bits_per_pixel: u8) -> Geometry {
            Geometry {
                width,
                height: 220,
                bits_per_pixel,
                palette: PaletteLayout::None,
                version: PacketVersion::V1_1,
            }
        }
        Some(match self {
            GfxMode::Gr8 => antic(320, 1),
            GfxMode::Gr9 | GfxMode::Gr11 => antic(80, 4),
            GfxMode::Gr15 => antic(160, 2),
            GfxMode::Gr10 => Geometry {
                palette: PaletteLayout::ColorRegisters,
                version: PacketVersion::V1_4,
                ..antic(80, 4)
            },
            GfxMode::Vbxe | GfxMode::VbxeLegacy => Geometry {
                width: 320,
                height: 240,
                bits_per_pixel: 8,
                palette: PaletteLayout::Rgb { max_entries: 256 },
                version: PacketVersion::V1_4,
            },
            GfxMode::VbxeHiRes => Geometry {
                width: 640,
                height: 240,
                bits_per_pixel: 4,
                palette: PaletteLayout::Rgb { max_entries: 16 },
                version: PacketVersion::V1_4,
            },
            GfxMode::Random => return None,
        })
    }

    /// True for the two VBXE 320x240 values and VBXE hi-res.
    pub const fn is_vbxe(self) -> bool {
        matches!(
            self,
            GfxMode::Vbxe | GfxMode::VbxeLegacy | GfxMode::VbxeHiRes
        )
    }
}

impl TryFrom<u8> for GfxMode {
    type Error = UnknownMode;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        GfxMode::from_wire(value)
    }
}

impl From<GfxMode> for u8 {
    fn from(mode: GfxMode) -> u8 {
        mode.wire()
    }
}

impl fmt::Display for GfxMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GfxMode {
    type Err = ParseModeError;

    /// Accepts a wire value (`"2"`, `"17"`) or a name, case-insensitively:
    /// `gr8 gr9 gr10 gr11 gr15 vbxe vbxe-legacy vbxe-hr random`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if let Ok(value) = trimmed.parse::<u8>() {
            return GfxMode::from_wire(value).map_err(|_| ParseModeError(s.to_owned()));
        }
        let lower = trimmed.to_ascii_lowercase();
        GfxMode::ALL
            .into_iter()
            .find(|mode| mode.name() == lower)
            .ok_or_else(|| ParseModeError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_unknown_values_are_errors() {
        for mode in GfxMode::ALL {
            assert_eq!(GfxMode::from_wire(mode.wire()), Ok(mode));
        }
        let known: Vec<u8> = GfxMode::ALL.iter().map(|m| m.wire()).collect();
        for value in 0..=u8::MAX {
            if !known.contains(&value) {
                assert_eq!(GfxMode::from_wire(value), Err(UnknownMode(value)));
            }
        }
    }

    #[test]
    fn payload_sizes_match_the_client_reads() {
        // The client reads 4080 + 4080 + 640 bytes for every ANTIC mode and
        // 18 x 4096 + 3072 for VBXE.
        for mode in [
            GfxMode::Gr8,
            GfxMode::Gr9,
            GfxMode::Gr15,
            GfxMode::Gr11,
            GfxMode::Gr10,
        ] {
            let g = mode.geometry().unwrap();
            assert_eq!(g.payload_len(), 4080 + 4080 + 640, "{mode}");
            assert_eq!(g.bytes_per_row(), 40, "{mode}");
        }
        for mode in [GfxMode::Vbxe, GfxMode::VbxeLegacy, GfxMode::VbxeHiRes] {
            let g = mode.geometry().unwrap();
            assert_eq!(g.payload_len(), 18 * 4096 + 3072, "{mode}");
        }
        assert_eq!(GfxMode::VbxeHiRes.geometry().unwrap().bytes_per_row(), 320);
        assert!(GfxMode::Random.geometry().is_none());
    }

    #[test]
    fn versions_follow_the_protocol_table() {
        let v11: Vec<u8> = GfxMode::ALL
            .iter()
            .filter(|m| m.geometry().map(|g| g.version) == Some(PacketVersion::V1_1))
            .map(|m| m.wire())
            .collect();
        assert_eq!(v11, [2, 4, 6, 8]);
        assert_eq!(
            GfxMode::Gr10.geometry().unwrap().palette,
            PaletteLayout::ColorRegisters
        );
    }

    #[test]
    fn names_and_numbers_parse() {
        for mode in GfxMode::ALL {
            assert_eq!(mode.name().parse::<GfxMode>(), Ok(mode));
            assert_eq!(mode.wire().to_string().parse::<GfxMode>(), Ok(mode));
        }
        assert_eq!("GR8".parse::<GfxMode>(), Ok(GfxMode::Gr8));
        assert!("99".parse::<GfxMode>().is_err());
        assert!("99999999999".parse::<GfxMode>().is_err());
        assert!("".parse::<GfxMode>().is_err());
    }

    #[test]
    fn wire_values_are_named_and_unknown_ones_numbered() {
        assert_eq!(GfxMode::wire_name(17), "vbxe-legacy");
        assert_eq!(GfxMode::wire_name(7), "mode 7");
    }
}
