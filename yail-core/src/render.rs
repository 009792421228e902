//! A packet back to the picture the Atari shows (previews, tests, metrics).

use yail_proto::{GfxMode, Packet};

use crate::error::{Error, Result};
use crate::modes::{Screen, vbxe_shown};
use crate::palette::{AtariPalette, TvStandard};
use crate::picture::{Picture, PixelFormat};

/// Renders an image packet as the screen shows it, on the screen's grid:
/// 320x220 for Graphics 8-15 (wide pixels repeated), 320x240 for VBXE and
/// 640x240 for VBXE hi-res. Atari colour bytes are shown in the palette of
/// `tv`; VBXE colours at the 7-bit precision the hardware keeps.
///
/// Graphics 10 pixel values 9-15, which the protocol does not use, show the
/// BAK register. Error packets and malformed packets are errors.
pub fn render(packet: &Packet, tv: TvStandard) -> Result<Picture> {
    if let Some(message) = packet.error_message() {
        return Err(Error::Render(format!("error packet: {message}")));
    }
    let mode = packet.mode();
    let (Some(geometry), Some(screen)) = (mode.geometry(), Screen::of(mode)) else {
        return Err(Error::Render("mode 42 is not an encoding".into()));
    };
    let data = packet
        .image_data()
        .filter(|d| d.len() == geometry.payload_len())
        .ok_or_else(|| {
            Error::Render(format!(
                "{mode} packet without a {}-byte image",
                geometry.payload_len()
            ))
        })?;
    let palette = AtariPalette::of(tv);
    let bits = geometry.bits_per_pixel as usize;
    let values: Vec<u8> = data
        .iter()
        .flat_map(|&byte| {
            (0..8 / bits).map(move |i| (byte >> (8 - bits * (i + 1))) & ((1u16 << bits) - 1) as u8)
        })
        .collect();

    let colour_of: Box<dyn Fn(u8) -> Result<[u8; 3]>> = match mode {
        GfxMode::Gr8 => Box::new(|v| Ok(palette.rgb(if v == 1 { 0x0E } else { 0x00 }))),
        GfxMode::Gr9 => Box::new(|v| Ok(palette.rgb(v))),
        GfxMode::Gr15 => Box::new(|v| Ok(palette.rgb([0x00, 0x06, 0x0E, 0x03][usize::from(v)]))),
        GfxMode::Gr11 => Box::new(|v| {
            Ok(if v == 0 {
                [0, 0, 0]
            } else {
                palette.rgb(v << 4 | 0x08)
            })
        }),
        GfxMode::Gr10 => {
            let registers = packet
                .palette()
                .filter(|p| p.len() == 9)
                .ok_or_else(|| {
                    Error::Render("Graphics 10 packet without 9 colour registers".into())
                })?
                .to_vec();
            Box::new(move |v| Ok(palette.rgb(registers[usize::from(v.min(8))])))
        }
        _ => {
            let entries: Vec<[u8; 3]> = packet
                .palette()
                .ok_or_else(|| Error::Render("VBXE packet without a palette".into()))?
                .chunks_exact(3)
                .map(|c| [vbxe_shown(c[0]), vbxe_shown(c[1]), vbxe_shown(c[2])])
                .collect();
            Box::new(move |v| {
                entries.get(usize::from(v)).copied().ok_or_else(|| {
                    Error::Render(format!(
                        "pixel value {v} is past the {}-entry palette",
                        entries.len()
                    ))
                })
            })
        }
    };

    let (width, height) = screen.grid;
    let repeat = screen.squeeze as usize;
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for &v in &values {
        let colour = colour_of(v)?;
        for _ in 0..repeat {
            rgb.extend_from_slice(&colour);
        }
    }
    Picture::new(width, height, PixelFormat::Rgb, rgb)
}

/// Renders an image packet as a person sees it on the monitor: the
/// [`render`] grid with each row repeated where the mode's pixels are
/// taller than wide, so the picture has the screen's proportions. VBXE
/// hi-res puts 640 pixels across the width of 320, each twice as tall as
/// wide, so it comes out 640x480; every other mode's grid already has the
/// screen's proportions and comes out as [`render`] gives it.
///
/// For previews; [`render`]'s grid is the one to compare with the
/// converter's input.
pub fn render_at_aspect(packet: &Packet, tv: TvStandard) -> Result<Picture> {
    let picture = render(packet, tv)?;
    let mode = packet.mode();
    let Some(screen) = Screen::of(mode) else {
        return Ok(picture);
    };
    let (grid_width, grid_height) = screen.grid;
    let (shape_width, shape_height) = screen.shape;
    // Rows each grid row stands for: the grid's width per screen width,
    // over its height per screen height (2 for VBXE hi-res, 1 elsewhere).
    let rows_per_row = (grid_width * shape_height) / (shape_width * grid_height);
    if rows_per_row <= 1 {
        return Ok(picture);
    }
    let row_bytes = picture.width() as usize * 3;
    let mut rgb = Vec::with_capacity(picture.data().len() * rows_per_row as usize);
    for row in picture.data().chunks_exact(row_bytes) {
        for _ in 0..rows_per_row {
            rgb.extend_from_slice(row);
        }
    }
    Picture::new(
        picture.width(),
        picture.height() * rows_per_row,
        PixelFormat::Rgb,
        rgb,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphics_8_bits_are_pixels() {
        let mut payload = vec![0u8; 8800];
        payload[0] = 0b1000_0001;
        let packet = Packet::image(GfxMode::Gr8, Vec::new(), payload).unwrap();
        let picture = render(&packet, TvStandard::Ntsc).unwrap();
        assert_eq!((picture.width(), picture.height()), (320, 220));
        let lit = AtariPalette::of(TvStandard::Ntsc).rgb(0x0E);
        assert_eq!(picture.rgb_at(0, 0), lit);
        assert_eq!(picture.rgb_at(1, 0), [0, 0, 0]);
        assert_eq!(picture.rgb_at(7, 0), lit);
    }

    #[test]
    fn wide_pixels_repeat() {
        let mut payload = vec![0u8; 8800];
        payload[0] = 0xF0;
        let packet = Packet::image(GfxMode::Gr9, Vec::new(), payload).unwrap();
        let picture = render(&packet, TvStandard::Pal).unwrap();
        let white = AtariPalette::of(TvStandard::Pal).rgb(0x0F);
        assert!((0..4).all(|x| picture.rgb_at(x, 0) == white));
        assert_eq!(picture.rgb_at(4, 0), [0, 0, 0]);
    }

    #[test]
    fn vbxe_hi_res_is_shown_with_pixels_twice_as_tall_as_wide() {
        // Two rows: the first all entry 1 (white), the second entry 0.
        let mut payload = vec![0u8; 76_800];
        payload[..320].fill(0x11);
        let palette = vec![0, 0, 0, 255, 255, 255];
        let packet = Packet::image(GfxMode::VbxeHiRes, palette, payload).unwrap();
        let grid = render(&packet, TvStandard::Ntsc).unwrap();
        assert_eq!((grid.width(), grid.height()), (640, 240));
        let shown = render_at_aspect(&packet, TvStandard::Ntsc).unwrap();
        assert_eq!((shown.width(), shown.height()), (640, 480));
        let white = [vbxe_shown(255); 3];
        assert_eq!(shown.rgb_at(639, 0), white);
        assert_eq!(shown.rgb_at(639, 1), white, "the first row, twice");
        assert_eq!(shown.rgb_at(0, 2), [0, 0, 0]);
    }

    #[test]
    fn square_pixel_grids_are_shown_as_rendered() {
        for mode in [GfxMode::Gr8, GfxMode::Gr9, GfxMode::Gr15, GfxMode::Vbxe] {
            let geometry = mode.geometry().unwrap();
            let palette = if mode.is_vbxe() {
                vec![0, 0, 0]
            } else {
                Vec::new()
            };
            let packet = Packet::image(mode, palette, vec![0; geometry.payload_len()]).unwrap();
            let grid = render(&packet, TvStandard::Ntsc).unwrap();
            let shown = render_at_aspect(&packet, TvStandard::Ntsc).unwrap();
            assert_eq!(shown, grid, "{mode}");
        }
    }

    #[test]
    fn error_packets_do_not_render() {
        assert!(matches!(
            render(&Packet::error(GfxMode::Gr8, "x"), TvStandard::Ntsc),
            Err(Error::Render(_))
        ));
    }
}
