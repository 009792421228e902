//! What an encoder works with besides the pixels: the settings that
//! shape it and the buffers it reuses between pictures.

use super::screen::Screen;
use crate::colour::BlendSpace;
use crate::dither::{Dither, DitherBuffers};
use crate::palette::AtariPalette;
use crate::quantizer::Quantizer;

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

/// Buffers an encoder reuses between pictures.
#[derive(Debug, Default)]
pub(crate) struct Work {
    pub values: Vec<f32>,
    /// Per-block sums of one row (Graphics 9's wide-pixel filter).
    pub wide_sums: Vec<[f32; 3]>,
    pub indices: Vec<u8>,
    pub dither: DitherBuffers,
    /// VBXE's memo of nearest colours (see `GridSearch`), kept for its
    /// allocation.
    pub grid_memo: Vec<u8>,
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
