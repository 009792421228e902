//! The colours an Atari shows, generated from a model of its video signal.
//!
//! A colour byte has the hue in its high nibble and the luminance in its low
//! nibble. The model, fitted to the Altirra emulator's default palettes:
//!
//! 1. Luma `Y'` comes from a measured ramp of the 16 luminances (hue 0 greys
//!    are not evenly spaced in brightness).
//! 2. Hue 0 has no chroma. Hues 1-15 add a chroma vector of fixed amplitude
//!    at angle `start + step * n(hue)` in the YUV plane. On NTSC `n` counts
//!    hues (`hue - 1`); PAL GTIA takes its phases from a table with uneven
//!    gaps, modelled as multiples of one step.
//! 3. YUV becomes gamma-encoded RGB (clipped), is linearised with the sRGB
//!    curve, passes a 3x3 matrix from the TV's primaries to sRGB primaries,
//!    and is encoded as sRGB again.
//!
//! Against the reference tables the model is within 4 of 255 on every
//! channel of every PAL entry (mean 0.6); on NTSC within 21 (the darkest
//! colours, luminance 0 and 1, which Altirra tints more strongly), mean 2.1,
//! greys within 4. The test `palette_model_matches_reference_tables` pins
//! this, and `tools/fit_palette.py` refits the constants.

use std::sync::LazyLock;

use crate::colour::{linear_to_srgb, srgb_to_linear};

/// The TV standard of the Atari, which decides what its colours look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TvStandard {
    /// NTSC machines (North America, Japan).
    #[default]
    Ntsc,
    /// PAL machines (Europe, Australia).
    Pal,
}

impl std::str::FromStr for TvStandard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ntsc" => Ok(TvStandard::Ntsc),
            "pal" => Ok(TvStandard::Pal),
            _ => Err(format!("unknown TV standard {s:?} (expected ntsc or pal)")),
        }
    }
}

/// Parameters of the palette model (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct PaletteModel {
    /// sRGB-encoded luma (0..=255) of luminance 0..15.
    pub luma_ramp: [u8; 16],
    /// Chroma angle of hue 1, in degrees.
    pub hue_start: f32,
    /// Degrees per step of `hue_steps`.
    pub hue_step: f32,
    /// Steps from hue 1 for hues 1..=15.
    pub hue_steps: [i8; 15],
    /// Chroma amplitude in YUV units.
    pub saturation: f32,
    /// Linear RGB of the TV's primaries to linear sRGB, row-major.
    pub matrix: [[f32; 3]; 3],
}

impl PaletteModel {
    /// The NTSC model.
    pub const NTSC: PaletteModel = PaletteModel {
        luma_ramp: [
            0, 1, 22, 42, 62, 81, 103, 122, 131, 149, 170, 188, 205, 223, 243, 255,
        ],
        hue_start: 179.824,
        hue_step: -27.107,
        hue_steps: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
        saturation: 0.198_26,
        matrix: [
            [1.457_94, -0.385_78, -0.085_57],
            [-0.043_04, 0.929_16, 0.065_88],
            [-0.041_79, -0.058_30, 1.167_62],
        ],
    };

    /// The PAL model. Hue 15 lands on the phase of hue 1, one turn later.
    pub const PAL: PaletteModel = PaletteModel {
        luma_ramp: [
            0, 17, 37, 53, 70, 87, 107, 124, 131, 148, 168, 185, 202, 218, 238, 255,
        ],
        hue_start: 135.450,
        hue_step: -17.988,
        hue_steps: [0, 1, 3, 5, 6, 7, 9, 10, 11, 13, 16, 17, 18, 19, 20],
        saturation: 0.287_69,
        matrix: [
            [1.002_91, 0.000_83, -0.000_64],
            [-0.000_10, 0.999_69, -0.000_17],
            [0.000_27, -0.000_84, 0.999_48],
        ],
    };

    /// The sRGB colour of an Atari colour byte.
    pub fn rgb(&self, colour: u8) -> [u8; 3] {
        let hue = usize::from(colour >> 4);
        let y = f32::from(self.luma_ramp[usize::from(colour & 0x0F)]) / 255.0;
        let (u, v) = if hue == 0 {
            (0.0, 0.0)
        } else {
            let angle =
                (self.hue_start + self.hue_step * f32::from(self.hue_steps[hue - 1])).to_radians();
            (self.saturation * angle.cos(), self.saturation * angle.sin())
        };
        // YUV to gamma-encoded RGB (BT.470 coefficients), then linear light.
        let encoded = [
            y + 1.139_83 * v,
            y - 0.394_65 * u - 0.580_60 * v,
            y + 2.032_11 * u,
        ];
        let linear = encoded.map(|c| srgb_to_linear(c.clamp(0.0, 1.0)));
        std::array::from_fn(|row| {
            let m = self.matrix[row];
            let c = m[0] * linear[0] + m[1] * linear[1] + m[2] * linear[2];
            (linear_to_srgb(c) * 255.0).round() as u8
        })
    }

    /// All 256 colours.
    pub fn generate(&self) -> AtariPalette {
        AtariPalette {
            rgb: std::array::from_fn(|i| self.rgb(i as u8)),
        }
    }
}

/// The 256 colours of one TV standard, indexed by Atari colour byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtariPalette {
    rgb: [[u8; 3]; 256],
}

static NTSC: LazyLock<AtariPalette> = LazyLock::new(|| PaletteModel::NTSC.generate());
static PAL: LazyLock<AtariPalette> = LazyLock::new(|| PaletteModel::PAL.generate());

impl AtariPalette {
    /// The palette of a TV standard (generated once).
    pub fn of(tv: TvStandard) -> &'static AtariPalette {
        match tv {
            TvStandard::Ntsc => &NTSC,
            TvStandard::Pal => &PAL,
        }
    }

    /// The sRGB colour of an Atari colour byte.
    pub fn rgb(&self, colour: u8) -> [u8; 3] {
        self.rgb[usize::from(colour)]
    }

    /// The colour bytes most modes can use: every hue at the eight even
    /// luminances (the low bit of the luminance only shows in Graphics 9).
    pub fn register_colours() -> impl Iterator<Item = u8> {
        (0..=255u8).filter(|c| c & 1 == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greys_follow_the_ramp() {
        for (tv, model) in [
            (TvStandard::Ntsc, PaletteModel::NTSC),
            (TvStandard::Pal, PaletteModel::PAL),
        ] {
            let palette = AtariPalette::of(tv);
            for lum in 0..16u8 {
                let [r, g, b] = palette.rgb(lum);
                let y = i16::from(crate::colour::luma601(r, g, b));
                let expected = i16::from(model.luma_ramp[usize::from(lum)]);
                assert!(
                    (y - expected).abs() <= 4,
                    "{tv:?} luminance {lum}: luma {y}, ramp {expected}"
                );
            }
        }
        assert_eq!(AtariPalette::of(TvStandard::Ntsc).rgb(0), [0, 0, 0]);
    }

    #[test]
    fn hues_have_colour() {
        let palette = AtariPalette::of(TvStandard::Ntsc);
        for hue in 1..16u8 {
            let [r, g, b] = palette.rgb(hue << 4 | 8);
            let spread = r.max(g).max(b) - r.min(g).min(b);
            assert!(spread > 60, "hue {hue} is grey: {r} {g} {b}");
        }
    }
}
