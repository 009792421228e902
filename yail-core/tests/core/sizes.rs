//! Any picture size converts in every mode to exactly the mode's payload.

use proptest::prelude::*;
use yail_core::{Converter, GfxMode, Picture, PixelFormat, Settings};

fn picture(width: u32, height: u32, seed: u8, format: PixelFormat) -> Picture {
    let channels = if format == PixelFormat::Rgb { 3 } else { 1 };
    let data = (0..width * height * channels)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    Picture::new(width, height, format, data).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_size_converts_in_every_mode(
        width in 1u32..=5000,
        height in 1u32..=50,
        transpose in any::<bool>(),
        grey in any::<bool>(),
        seed in any::<u8>(),
    ) {
        let (width, height) = if transpose { (height, width) } else { (width, height) };
        let format = if grey { PixelFormat::Grey } else { PixelFormat::Rgb };
        let source = picture(width, height, seed, format);
        let converter = Converter::new();
        for mode in GfxMode::ALL {
            let packet = converter.convert_picture(&source, &Settings::new(mode));
            let packet = packet.map_err(|e| TestCaseError::fail(format!("{width}x{height} {mode}: {e}")))?;
            let shown = packet.mode();
            let expected = shown.geometry().unwrap().payload_len();
            prop_assert_eq!(packet.image_data().map(<[u8]>::len), Some(expected), "{}x{} {}", width, height, mode);
        }
    }
}

#[test]
fn one_pixel_pictures_convert() {
    let converter = Converter::new();
    for format in [PixelFormat::Grey, PixelFormat::Rgb] {
        for mode in GfxMode::ALL {
            assert!(
                converter
                    .convert_picture(&picture(1, 1, 200, format), &Settings::new(mode))
                    .is_ok(),
                "{mode}"
            );
        }
    }
}
