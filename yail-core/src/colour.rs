//! sRGB transfer functions, luma, and the space in which pixels are mixed.

use std::sync::LazyLock;

/// The space in which dithering mixes neighbouring pixels.
///
/// A screen that shows pixels sharply (LCD, upscaler, emulator) mixes them
/// as light, so error diffusion must work on linear-light values or
/// mid-tones come out too bright. A composite CRT blurs the gamma-encoded
/// signal, where mixing sRGB values is what the eye sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BlendSpace {
    /// Mix linear light (the default).
    #[default]
    Linear,
    /// Mix sRGB-encoded values (what a composite CRT shows, and what Pillow does).
    Srgb,
}

impl std::str::FromStr for BlendSpace {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "linear" => Ok(BlendSpace::Linear),
            "srgb" => Ok(BlendSpace::Srgb),
            _ => Err(format!(
                "unknown blend space {s:?} (expected linear or srgb)"
            )),
        }
    }
}

/// sRGB-encoded value in 0..=1 to linear light.
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear light in 0..=1 to an sRGB-encoded value (clamped to 0..=1).
pub fn linear_to_srgb(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

static SRGB_TO_LINEAR: LazyLock<[f32; 256]> =
    LazyLock::new(|| std::array::from_fn(|i| srgb_to_linear(i as f32 / 255.0)));

/// Linear light of an 8-bit sRGB value, from a table.
#[inline]
pub fn linear_of(v: u8) -> f32 {
    SRGB_TO_LINEAR[v as usize]
}

/// Relative luminance (Rec. 709 weights) of a working-space RGB value.
#[inline]
pub(crate) fn luminance709(c: &[f32]) -> f32 {
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}

/// Rec. 601 luma of 8-bit sRGB values, rounded (the weights Pillow's `L` uses).
#[inline]
pub fn luma601(r: u8, g: u8, b: u8) -> u8 {
    // Fixed point with the weights 0.299, 0.587, 0.114 scaled by 2^16.
    ((19_595 * r as u32 + 38_470 * g as u32 + 7_471 * b as u32 + 32_768) >> 16) as u8
}

impl BlendSpace {
    /// The working value of an 8-bit sRGB value in this space (0..=1).
    #[inline]
    pub fn from_u8(self, v: u8) -> f32 {
        match self {
            BlendSpace::Linear => linear_of(v),
            BlendSpace::Srgb => v as f32 * (1.0 / 255.0),
        }
    }

    /// The working value of an sRGB-encoded value in 0..=1.
    #[inline]
    pub fn from_srgb(self, v: f32) -> f32 {
        match self {
            BlendSpace::Linear => srgb_to_linear(v),
            BlendSpace::Srgb => v,
        }
    }

    /// A table of [`BlendSpace::from_u8`] for every byte.
    pub(crate) fn table(self) -> [f32; 256] {
        std::array::from_fn(|i| self.from_u8(i as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_functions_invert() {
        for i in 0..=255u8 {
            let v = i as f32 / 255.0;
            assert!((linear_to_srgb(srgb_to_linear(v)) - v).abs() < 1e-5);
        }
        assert!((linear_of(128) - 0.2158605).abs() < 1e-6);
    }

    #[test]
    fn luma_weights() {
        assert_eq!(luma601(255, 255, 255), 255);
        assert_eq!(luma601(0, 0, 0), 0);
        assert_eq!(luma601(255, 0, 0), 76);
        assert_eq!(luma601(0, 255, 0), 150);
        assert_eq!(luma601(0, 0, 255), 29);
    }
}
