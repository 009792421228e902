//! VBXE: 320x240 with up to 255 colours, and 640x240 with up to 15.
//!
//! Palette entry 0 is reserved (black), so colours go at entries 1..=n.
//! VBXE keeps 7 bits per channel: the palette is rounded to what the
//! hardware will show *before* dithering, so the ditherer corrects for
//! the rounding instead of the screen silently adding it.

use quantette::deps::palette::Srgb;
use quantette::deps::palette::cast::from_component_slice;
use quantette::kmeans::{Kmeans, KmeansOptions};
use quantette::wu::{BinnerU8x3, WuU8x3};
use quantette::{PaletteBuf, PaletteSize};
use yail_proto::{GfxMode, Packet};

use super::context::{EncodeContext, PaletteMethod, Work};
use super::few_colours::few_colours;
use super::pack::pack;
use super::screen::{Screen, working_values};
use crate::error::Result;
use crate::nearest::GridSearch;

/// The 7-bit value VBXE keeps of an 8-bit channel.
fn to_7bit(v: u8) -> u8 {
    ((u32::from(v) * 127 + 127) / 255) as u8
}

/// The byte sent for a 7-bit channel: the client writes it to a register
/// that drops the low bit, so the value sits in the top seven bits.
fn wire_of_7bit(v7: u8) -> u8 {
    v7 << 1 | v7 >> 6
}

/// The 8-bit sRGB level a VBXE shows for a palette byte as sent.
pub(crate) fn vbxe_shown(wire: u8) -> u8 {
    let v7 = u32::from(wire >> 1);
    ((v7 * 255 + 63) / 127) as u8
}

pub(super) fn encode(
    mode: GfxMode,
    screen: &Screen,
    frame: &[u8],
    ctx: &EncodeContext<'_>,
    work: &mut Work,
) -> Result<Packet> {
    let colours = if mode == GfxMode::VbxeHiRes { 15 } else { 255 };
    let bits = if mode == GfxMode::VbxeHiRes { 4 } else { 8 };
    if let Some((exact, mut indices)) = few_colours(frame, usize::from(colours)) {
        // Every colour gets an entry of its own: nothing to choose or
        // dither, only the 7-bit rounding (at most one level) is left.
        let mut wire = vec![0u8; 3];
        for c in &exact {
            wire.extend(c.map(|v| wire_of_7bit(to_7bit(v))));
        }
        indices.iter_mut().for_each(|i| *i += 1);
        return Ok(Packet::image(mode, wire, pack(&indices, bits))?);
    }
    let pixels: &[Srgb<u8>] = from_component_slice(frame);
    let chosen = quantize(pixels, colours, ctx.method);

    // Entry 0 stays black; the picture's colours follow, rounded to 7 bits.
    let mut wire = vec![0u8; 3];
    let mut palette = Vec::with_capacity(chosen.len());
    for c in &chosen {
        let sent = [c.red, c.green, c.blue].map(|v| wire_of_7bit(to_7bit(v)));
        wire.extend_from_slice(&sent);
        palette.push(sent.map(|v| ctx.blend.from_u8(vbxe_shown(v))));
    }
    working_values(frame, screen, 3, &ctx.blend.table(), &mut work.values);
    let mut search = GridSearch::new(palette, std::mem::take(&mut work.grid_memo));
    work.dither(screen, ctx.dither, &mut search);
    work.grid_memo = search.into_memo();
    work.indices.iter_mut().for_each(|i| *i += 1);
    Ok(Packet::image(mode, wire, pack(&work.indices, bits))?)
}

/// At most `k` colours representing `pixels` (never empty for a non-empty picture).
fn quantize(pixels: &[Srgb<u8>], k: u8, method: PaletteMethod) -> Vec<Srgb<u8>> {
    let size = PaletteSize::from_u8_clamped(k);
    let Ok(wu) = WuU8x3::run_slice(pixels, BinnerU8x3::rgb()) else {
        return vec![Srgb::new(0, 0, 0)];
    };
    let palette: PaletteBuf<Srgb<u8>> = wu.palette(size);
    let palette = match method {
        PaletteMethod::Wu => palette,
        PaletteMethod::KMeans => {
            match Kmeans::run_slice(pixels, palette.clone(), KmeansOptions::new()) {
                Ok(kmeans) => kmeans.into_palette(),
                Err(_) => palette,
            }
        }
    };
    let colours = palette.into_vec();
    if colours.is_empty() {
        vec![Srgb::new(0, 0, 0)]
    } else {
        colours
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_bit_round_trip() {
        for v in 0..=255u8 {
            let shown = vbxe_shown(wire_of_7bit(to_7bit(v)));
            assert!(
                (i16::from(shown) - i16::from(v)).abs() <= 1,
                "{v} shows as {shown}"
            );
        }
        assert_eq!(wire_of_7bit(127), 255);
        assert_eq!(wire_of_7bit(0), 0);
    }
}
