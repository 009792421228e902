//! Every format the decoder promises, from small fixtures written by
//! `tools/make_format_fixtures.py`: the same 32x24 picture, left half red,
//! right half blue.

use yail_core::{DecodeOptions, Fit, PixelFormat, Target, decode};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_red_then_blue(name: &str, options: &DecodeOptions) {
    let picture = decode(&fixture(name), options).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!((picture.width(), picture.height()), (32, 24), "{name}");
    assert_eq!(picture.format(), PixelFormat::Rgb, "{name}");
    let at = |x: usize, y: usize| {
        let i = (y * 32 + x) * 3;
        [
            picture.data()[i],
            picture.data()[i + 1],
            picture.data()[i + 2],
        ]
    };
    let (left, right) = (at(4, 12), at(27, 12));
    assert!(
        left[0] > 200 && left[2] < 60,
        "{name}: left is {left:?}, expected red"
    );
    assert!(
        right[2] > 200 && right[0] < 60,
        "{name}: right is {right:?}, expected blue"
    );
}

#[test]
fn every_promised_format_decodes() {
    for name in [
        "baseline.jpg",
        "progressive.jpg",
        "cmyk.jpg",
        "palette.png",
        "picture.gif",
        "picture.webp",
        "picture.bmp",
        "picture.tiff",
    ] {
        assert_red_then_blue(name, &DecodeOptions::default());
    }
}

#[test]
fn exif_orientation_is_applied() {
    // Stored rotated, tagged "rotate 90 clockwise to display".
    assert_red_then_blue("exif_rotated.jpg", &DecodeOptions::default());
}

#[test]
fn jpegs_decode_the_same_with_a_target_size() {
    // With a target the JPEG path may differ (DCT scaling for big files);
    // small ones must come out the same.
    let options = DecodeOptions::default().with_target(16, 12, Fit::Letterbox);
    for name in [
        "baseline.jpg",
        "progressive.jpg",
        "cmyk.jpg",
        "exif_rotated.jpg",
    ] {
        assert_red_then_blue(name, &options);
    }
}

#[test]
fn large_rotated_jpeg_is_scaled_and_oriented() {
    let options = DecodeOptions::default().with_target(320, 220, Fit::Letterbox);
    let picture = decode(&fixture("exif_rotated_big.jpg"), &options).unwrap();
    // Decoded at a reduced DCT scale, still at least twice the target, and
    // in display orientation (landscape, red on the left).
    assert!(
        picture.width() < 1280 && picture.width() >= 640,
        "{}x{}",
        picture.width(),
        picture.height()
    );
    assert_eq!(picture.width() * 3, picture.height() * 4);
    let w = picture.width() as usize;
    let y = picture.height() as usize / 2;
    let px = |x: usize| &picture.data()[(y * w + x) * 3..(y * w + x) * 3 + 3];
    assert!(
        px(w / 8)[0] > 200 && px(w / 8)[2] < 60,
        "left {:?}",
        px(w / 8)
    );
    assert!(
        px(w * 7 / 8)[2] > 200 && px(w * 7 / 8)[0] < 60,
        "right {:?}",
        px(w * 7 / 8)
    );
}

#[test]
fn grey_target_decodes_jpeg_luma_only_in_display_orientation() {
    let grey = DecodeOptions {
        target: Some(Target {
            width: 16,
            height: 12,
            fit: Fit::Letterbox,
            grey: true,
        }),
        ..DecodeOptions::default()
    };
    for name in ["baseline.jpg", "progressive.jpg", "exif_rotated.jpg"] {
        let luma = decode(&fixture(name), &grey).unwrap();
        let colour = decode(&fixture(name), &DecodeOptions::default()).unwrap();
        assert_eq!(luma.format(), PixelFormat::Grey, "{name}");
        assert_eq!(
            (luma.width(), luma.height()),
            (colour.width(), colour.height()),
            "{name}"
        );
        // JPEG's Y plane is the Rec. 601 luma of the colours it encodes;
        // only rounding differs, except at the red/blue edge, where the
        // upsampled colour planes overshoot and the RGB decode clips.
        let width = luma.width() as usize;
        let worst = luma
            .data()
            .iter()
            .zip(colour.to_grey().data())
            .enumerate()
            .filter(|(i, _)| !(14..18).contains(&(i % width)))
            .map(|(_, (a, b))| a.abs_diff(*b))
            .max();
        assert!(worst <= Some(2), "{name}: luma differs by {worst:?}");
    }
    // CMYK has no luma plane: the general path decodes it in colour.
    assert_eq!(
        decode(&fixture("cmyk.jpg"), &grey).unwrap().format(),
        PixelFormat::Rgb
    );
}

#[test]
fn tiny_target_decodes_a_progressive_jpeg_at_an_eighth() {
    // 32x24 into 2x2 grey: the eighth-scale picture (4x3) is enough, and
    // for a progressive file it comes from the DC scans alone (the unit tests in
    // jpeg.rs check that those give the same pixels as the whole file).
    let options = DecodeOptions {
        target: Some(Target {
            width: 2,
            height: 2,
            fit: Fit::Letterbox,
            grey: true,
        }),
        ..DecodeOptions::default()
    };
    let small = decode(&fixture("progressive.jpg"), &options).unwrap();
    assert_eq!((small.width(), small.height()), (4, 3));
    for y in 0..3 {
        let px = |x: usize| &small.data()[(y * 4 + x) * 3..(y * 4 + x) * 3 + 3];
        assert!(px(0)[0] > 200 && px(0)[2] < 60, "left {:?}", px(0));
        assert!(px(3)[2] > 200 && px(3)[0] < 60, "right {:?}", px(3));
    }
}
