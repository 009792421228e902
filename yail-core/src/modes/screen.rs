//! The screen a mode draws on, and the working values of a frame fitted
//! to it.

use yail_proto::GfxMode;

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

/// Working-space values of an 8-bit frame, squeezed to wide pixels;
/// `table` gives the working value of each 8-bit value (usually
/// [`crate::BlendSpace::table`]).
pub(super) fn working_values(
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
