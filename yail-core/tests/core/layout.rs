//! Payload layouts that can be checked by hand.

use yail_core::{Converter, GfxMode, Picture, PixelFormat, Settings};

fn flat(width: u32, height: u32, value: u8) -> Picture {
    Picture::new(
        width,
        height,
        PixelFormat::Rgb,
        vec![value; (width * height * 3) as usize],
    )
    .unwrap()
}

#[test]
fn white_fills_graphics_8_and_black_leaves_it_empty() {
    let converter = Converter::new();
    let settings = Settings::new(GfxMode::Gr8);
    let white = converter
        .convert_picture(&flat(320, 220, 255), &settings)
        .unwrap();
    assert!(white.image_data().unwrap().iter().all(|&b| b == 0xFF));
    let black = converter
        .convert_picture(&flat(320, 220, 0), &settings)
        .unwrap();
    assert!(black.image_data().unwrap().iter().all(|&b| b == 0));
}

#[test]
fn letterbox_bars_are_black() {
    // A wide white picture: bars above and below, white band in the middle.
    let converter = Converter::new();
    let packet = converter
        .convert_picture(&flat(640, 220, 255), &Settings::new(GfxMode::Gr8))
        .unwrap();
    let rows: Vec<&[u8]> = packet.image_data().unwrap().chunks(40).collect();
    assert_eq!(rows.len(), 220);
    assert!(rows[0].iter().all(|&b| b == 0), "top bar");
    assert!(rows[219].iter().all(|&b| b == 0), "bottom bar");
    assert!(rows[110].iter().all(|&b| b == 0xFF), "middle row");
}

#[test]
fn graphics_9_white_is_the_brightest_grey() {
    let converter = Converter::new();
    let packet = converter
        .convert_picture(&flat(320, 220, 255), &Settings::new(GfxMode::Gr9))
        .unwrap();
    // Fitted at 320x220, squeezed to 80 columns: 0xF in both nibbles.
    let data = packet.image_data().unwrap();
    assert_eq!(data.len(), 8800);
    assert!(data[40 * 110..40 * 111].iter().all(|&b| b == 0xFF));
}

#[test]
fn vbxe_never_uses_entry_zero_for_colours() {
    let converter = Converter::new();
    let mut pixels = Vec::new();
    for i in 0..320 * 240 {
        pixels.extend_from_slice(&[(i % 256) as u8, (i / 320 % 256) as u8, 128]);
    }
    let picture = Picture::new(320, 240, PixelFormat::Rgb, pixels).unwrap();
    let packet = converter
        .convert_picture(&picture, &Settings::new(GfxMode::Vbxe))
        .unwrap();
    let palette = packet.palette().unwrap();
    assert_eq!(&palette[..3], &[0, 0, 0]);
    assert!(palette.len() / 3 <= 256);
    assert!(
        packet
            .image_data()
            .unwrap()
            .iter()
            .all(|&i| i != 0 && usize::from(i) < palette.len() / 3)
    );
}
