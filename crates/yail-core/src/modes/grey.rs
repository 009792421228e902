//! Graphics 8, 9 and 15: grey levels.

use yail_proto::{GfxMode, Packet};

use super::{EncodeContext, Screen, Work, pack, working_values};
use crate::color::luma601;
use crate::dither::GreyLevels;
use crate::error::Result;

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
    working_values(frame, screen, 1, ctx.blend, &mut work.values);
    work.dither(screen, ctx.dither, &mut quantizer);
    let bits = match mode {
        GfxMode::Gr8 => 1,
        GfxMode::Gr15 => 2,
        _ => 4,
    };
    Ok(Packet::image(mode, Vec::new(), pack(&work.indices, bits))?)
}
