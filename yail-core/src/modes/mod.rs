//! One encoder per graphics mode: working-space pixels in, packet out.
//!
//! Every mode follows the same path: the picture is fitted onto the mode's
//! screen (see [`Screen`]), turned into working-space values (squeezed to
//! wide pixels where the mode has them; Graphics 9's through a filter of
//! their own), dithered against the colours the
//! mode can show, and packed into the payload layout of the protocol.

mod context;
mod few_colours;
mod grey;
mod hue;
mod pack;
mod registers;
mod screen;
mod vbxe;
mod wide_pixels;

use yail_proto::{GfxMode, Packet};

use crate::error::Result;

pub use context::PaletteMethod;
pub(crate) use context::{EncodeContext, Work};
pub(crate) use pack::pack;
pub(crate) use screen::Screen;
pub(crate) use vbxe::vbxe_shown;

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
