//! Graphics 11: fifteen hues at one luminance, plus black.
//!
//! Brightness cannot be shown, only colour: every value 1-15 lights at the
//! luminance the client set (8), and 0 is black. Pixels brighter than that
//! luminance are dimmed to it, keeping their hue and saturation, so bright
//! areas are matched by colour alone; darker pixels keep their brightness
//! and the ditherer mixes in black, so dark areas become dark.

use yail_proto::{GfxMode, Packet};

use super::context::{EncodeContext, Work};
use super::pack::pack;
use super::screen::{Screen, working_values};
use crate::colour::luminance709;
use crate::error::Result;
use crate::nearest::ColourSearch;

/// The colour byte behind each pixel value: black, then hues 1-15 at luminance 8.
pub(crate) fn colours() -> [u8; 16] {
    std::array::from_fn(|v| if v == 0 { 0 } else { (v as u8) << 4 | 0x08 })
}

pub(super) fn encode(
    screen: &Screen,
    frame: &[u8],
    ctx: &EncodeContext<'_>,
    work: &mut Work,
) -> Result<Packet> {
    let palette: Vec<[f32; 3]> = colours()
        .iter()
        .map(|&c| ctx.palette.rgb(c).map(|v| ctx.blend.from_u8(v)))
        .collect();
    let shown = palette[1..].iter().map(|c| luminance709(c)).sum::<f32>() / 15.0;
    working_values(frame, screen, 3, &ctx.blend.table(), &mut work.values);
    for px in work.values.chunks_exact_mut(3) {
        let y = luminance709(px);
        if y > shown {
            let scale = shown / y;
            px.iter_mut().for_each(|c| *c *= scale);
        }
    }
    let mut search = ColourSearch::new(palette);
    work.dither(screen, ctx.dither, &mut search);
    Ok(Packet::image(
        GfxMode::Gr11,
        Vec::new(),
        pack(&work.indices, 4),
    )?)
}
