//! Graphics 8, 9 and 15: grey levels.

use std::sync::LazyLock;

use yail_proto::{GfxMode, Packet};

use super::context::{EncodeContext, Work};
use super::pack::pack;
use super::screen::{Screen, working_values};
use super::wide_pixels::wide_pixel_values;
use crate::colour::{BlendSpace, luma601, srgb_to_linear};
use crate::dither::Dither;
use crate::error::Result;
use crate::grey_levels::GreyLevels;

/// The Atari colour byte shown for each pixel value of a grey mode.
fn colours(mode: GfxMode) -> &'static [u8] {
    match mode {
        // Background black, lit pixels at luminance 14.
        GfxMode::Gr8 => &[0x00, 0x0E],
        // Luminance 0..15 of hue 0.
        GfxMode::Gr9 => &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        // COLBK, PF0, PF1, PF2 as the current client sets them: the values
        // are not in order of brightness.
        _ => &[0x00, 0x06, 0x0E, 0x03],
    }
}

pub(super) fn encode(
    mode: GfxMode,
    screen: &Screen,
    frame: &[u8],
    ctx: &EncodeContext<'_>,
    work: &mut Work,
) -> Result<Packet> {
    let levels: Vec<f32> = colours(mode)
        .iter()
        .map(|&c| {
            let [r, g, b] = ctx.palette.rgb(c);
            ctx.blend.from_u8(luma601(r, g, b))
        })
        .collect();
    let mut quantizer = GreyLevels::new(&levels);
    let table = if mode == GfxMode::Gr8 && compensates(ctx) {
        if matches!(ctx.dither, Dither::FloydSteinberg | Dither::Atkinson) {
            // Error diffusion keeps the mean whatever the threshold; an
            // ordered pattern would shift with it.
            quantizer = quantizer.with_threshold(BINARY_THRESHOLD);
        }
        *BINARY_TONES
    } else {
        ctx.blend.table()
    };
    if ctx.dither == Dither::FloydSteinberg && screen.squeeze == 1 {
        // Graphics 8 (no squeeze) reads the frame's bytes: a float copy
        // of the frame would be 280 kB written and read again.
        crate::dither::floyd_steinberg_bytes(
            frame,
            &table,
            screen.columns(),
            screen.rows(),
            &quantizer,
            &mut work.dither,
            &mut work.indices,
        );
    } else if mode == GfxMode::Gr9 {
        let width = screen.grid.0 as usize;
        wide_pixel_values(frame, width, &table, &mut work.wide_sums, &mut work.values);
        work.dither(screen, ctx.dither, &mut quantizer.for_wide_pixels());
    } else {
        working_values(frame, screen, 1, &table, &mut work.values);
        work.dither(screen, ctx.dither, &mut quantizer);
    }
    let bits = match mode {
        GfxMode::Gr8 => 1,
        GfxMode::Gr15 => 2,
        _ => 4,
    };
    Ok(Packet::image(mode, Vec::new(), pack(&work.indices, bits))?)
}

// Tone compensation for the two-level screen (Graphics 8).
//
// Dithering in linear light keeps the local mean of the light, but a
// viewer does not see the mean: the screen is blurred (by the eye, an LCD's
// scaler) and what is seen is that blur, perceived on a roughly sRGB-like
// scale. In dark areas the lit pixels are sparse, each a bright isolated
// peak that the blur does not smooth away, and on a perceptual scale those
// peaks are much worse than the uniform darkness they replace. Measured on
// flat patches (Floyd–Steinberg, HVS-PSNR with a sigma-1 linear blur):
//
// - below sRGB value ~30 (1.3 % light) black beats any pattern;
// - from there to ~110 a pattern a little denser than the linear value
//   matches better, since the perceptual mean of a patterned area is lower
//   than that of its light mean;
// - above ~110 the linear value is right.
//
// `binary_tone_table` is the smooth curve fitted to those per-tone optima:
// v -> 0 below `DARK_CUT`, else v + LIFT * max(0, 1 - v / LIFT_END), in
// sRGB steps. On the photo set it adds 0.3-1.3 dB (docs/performance.md).
// Pixels are only ever brighter or black: no tone is inverted.

/// sRGB values below this show black on Graphics 8.
const DARK_CUT: f32 = 30.0;
/// sRGB steps added at the dark end, fading out at `LIFT_END`.
const LIFT: f32 = 22.0;
/// Where the lift reaches zero.
const LIFT_END: f32 = 112.0;
/// Decision point between black and lit for error diffusion, as a
/// fraction of the gap: a dot a little earlier than halfway sits more
/// evenly, and diffusion keeps the mean either way (ordered patterns would
/// not, so they keep the midpoint).
const BINARY_THRESHOLD: f32 = 0.4;

/// Whether the Graphics 8 tone compensation applies: it is tuned for
/// linear-light mixing and for diffused or ordered patterns, not for plain
/// thresholding or for the sRGB (CRT) blend.
fn compensates(ctx: &EncodeContext<'_>) -> bool {
    ctx.blend == BlendSpace::Linear && ctx.dither != Dither::None
}

/// [`binary_tone_table`], computed once: 256 `powf` calls per picture
/// would be wasted work on every Graphics 8 conversion.
static BINARY_TONES: LazyLock<[f32; 256]> = LazyLock::new(binary_tone_table);

/// Working (linear) value of each 8-bit grey for the two-level screen.
fn binary_tone_table() -> [f32; 256] {
    std::array::from_fn(|v| {
        let v = v as f32;
        if v < DARK_CUT {
            0.0
        } else {
            let lifted = v + LIFT * (1.0 - v / LIFT_END).max(0.0);
            srgb_to_linear((lifted / 255.0).min(1.0))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dither::DitherBuffers;
    use crate::hvs_psnr;
    use crate::palette::{AtariPalette, TvStandard};
    use crate::picture::{Picture, PixelFormat};

    #[test]
    fn tone_table_is_monotone_and_only_lifts_or_blacks() {
        let table = binary_tone_table();
        let plain = BlendSpace::Linear.table();
        assert!(table.windows(2).all(|w| w[0] <= w[1]));
        for v in 0..256 {
            assert!(table[v] == 0.0 || table[v] >= plain[v], "value {v}");
        }
        assert_eq!(table[29], 0.0);
        assert!(table[30] > 0.0);
        assert_eq!(table[200], plain[200]);
        assert_eq!(table[255], plain[255]);
    }

    /// HVS-PSNR of a flat grey patch dithered to black and luminance 14
    /// with `table` and `threshold`, the way Graphics 8 draws it.
    fn flat_patch_score(grey: u8, table: &[f32; 256], threshold: f32) -> f64 {
        let (w, h) = (160, 120);
        let [r, g, b] = AtariPalette::of(TvStandard::Ntsc).rgb(0x0E);
        let lit = luma601(r, g, b);
        let mut levels =
            GreyLevels::new(&[0.0, BlendSpace::Linear.from_u8(lit)]).with_threshold(threshold);
        let values = vec![table[usize::from(grey)]; w * h];
        let mut indices = Vec::new();
        crate::dither::dither(
            &values,
            w,
            h,
            Dither::FloydSteinberg,
            &mut levels,
            &mut DitherBuffers::default(),
            &mut indices,
        );
        let shown: Vec<u8> = indices
            .iter()
            .map(|&i| if i == 1 { lit } else { 0 })
            .collect();
        let shown = Picture::new(w as u32, h as u32, PixelFormat::Grey, shown).unwrap();
        let ideal = Picture::new(w as u32, h as u32, PixelFormat::Grey, vec![grey; w * h]).unwrap();
        hvs_psnr(&shown, &ideal, BlendSpace::Linear).unwrap()
    }

    #[test]
    fn compensation_improves_dark_and_low_mid_tones() {
        let plain = BlendSpace::Linear.table();
        let compensated = binary_tone_table();
        for grey in [16u8, 24, 40, 56, 72, 88] {
            let before = flat_patch_score(grey, &plain, 0.5);
            let after = flat_patch_score(grey, &compensated, BINARY_THRESHOLD);
            assert!(
                after > before,
                "grey {grey}: {after:.2} dB <= {before:.2} dB"
            );
        }
    }

    #[test]
    fn ordered_graphics_8_keeps_the_tone_of_a_flat_area() {
        // Regression: the 40 % threshold, meant for error diffusion, once
        // applied to ordered dithering too and lit 10 % of all pixels more
        // (GR.8 ordered fell from 25.3 to 14.1 dB).
        use crate::{Converter, Settings};
        let grey = 150u8;
        let picture = Picture::new(320, 220, PixelFormat::Grey, vec![grey; 320 * 220]).unwrap();
        let settings = Settings {
            dither: Dither::Ordered,
            ..Settings::new(GfxMode::Gr8)
        };
        let packet = Converter::new()
            .convert_picture(&picture, &settings)
            .unwrap();
        let data = packet.image_data().unwrap();
        let lit = data.iter().map(|b| b.count_ones()).sum::<u32>() as f32 / (320.0 * 220.0);
        let [r, g, b] = AtariPalette::of(TvStandard::Ntsc).rgb(0x0E);
        let expected =
            binary_tone_table()[usize::from(grey)] / BlendSpace::Linear.from_u8(luma601(r, g, b));
        assert!(
            (lit - expected).abs() < 0.02,
            "{lit} lit, expected {expected}"
        );
    }

    #[test]
    fn threshold_moves_only_the_two_level_decision() {
        let two = GreyLevels::new(&[0.0, 1.0]).with_threshold(0.25);
        let mut q = two.clone();
        use crate::quantizer::Quantizer;
        assert_eq!(q.nearest([0.2]), 0);
        assert_eq!(q.nearest([0.3]), 1);
        let mut three = GreyLevels::new(&[0.0, 0.5, 1.0]).with_threshold(0.25);
        assert_eq!(three.nearest([0.2]), 0);
        assert_eq!(three.nearest([0.3]), 1);
        assert_eq!(three.nearest([0.74]), 1);
    }
}
