//! Our JPEG decoding for grey modes (zune-jpeg's luma plane alone) against
//! the `image` crate's full colour decode turned into Rec. 601 luma.
//!
//! Same size; grey pixels within the tolerance of docs/security.md
//! (`JPEG_LUMA_TOLERANCE`: the luma plane is the encoder's Y, the reference
//! is Y → RGB → rounded and clamped → Y again); exact when both give the
//! same format; or both refusing. We may refuse alone by a limit or
//! because the end-of-image marker is missing (a deliberate policy).
#![no_main]

use image::ImageFormat;
use libfuzzer_sys::fuzz_target;
use yail_core::{DecodeOptions, Error, Fit, PixelFormat, Target};

fuzz_target!(|bytes: &[u8]| {
    if image::guess_format(bytes).ok() != Some(ImageFormat::Jpeg) {
        return;
    }
    let options = DecodeOptions {
        // A frame larger than any accepted picture: no reduced-scale decode.
        target: Some(Target {
            width: u32::MAX,
            height: u32::MAX,
            fit: Fit::default(),
            grey: true,
        }),
        ..yail_fuzz::fuzz_limits()
    };
    let ours = yail_core::decode(bytes, &options);
    let reference = yail_fuzz::reference_decode(bytes, ImageFormat::Jpeg, &options);
    match (ours, reference) {
        (Ok(picture), Some((width, height, format, data))) => {
            assert_eq!((picture.width(), picture.height()), (width, height));
            match (picture.format(), format) {
                (PixelFormat::Grey, PixelFormat::Rgb) => {
                    let distance = yail_fuzz::luma_distance(&data, picture.data());
                    assert!(
                        distance <= yail_fuzz::JPEG_LUMA_TOLERANCE,
                        "luma off by {distance}"
                    );
                }
                _ => assert!(
                    picture.format() == format && picture.data() == data,
                    "different pixels"
                ),
            }
        }
        (Ok(_), None) => panic!("we decoded a file the image crate refuses"),
        (Err(e), Some(_)) => assert!(
            yail_fuzz::is_limit(&e) || e == Error::Malformed("the file ends too early".into()),
            "we refused a file the image crate decodes: {e}"
        ),
        (Err(_), None) => {}
    }
});
