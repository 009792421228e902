//! The fast path checked against the `image` crate, which decodes every
//! file it takes.

use super::*;
use crate::error::Error;

#[test]
fn unknown_filters_and_odd_files_are_left_to_the_general_decoder() {
    let mut raw = vec![5u8, 1, 2, 3];
    assert!(!unfilter(&mut raw, 3, 1, 3));
    let options = DecodeOptions::default();
    assert_eq!(decode(b"not a png", &options), Ok(None));
    assert_eq!(decode(&SIGNATURE, &options), Ok(None));
}

mod against_the_image_crate {
    use super::*;
    use crate::decode::general::decode_with_image;
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use proptest::prelude::*;

    fn encode(
        width: u32,
        height: u32,
        colour: image::ExtendedColorType,
        filter: FilterType,
        data: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        PngEncoder::new_with_quality(&mut out, CompressionType::Default, filter)
            .write_image(data, width, height, colour)
            .unwrap();
        out
    }

    proptest! {
        #[test]
        fn fast_path_gives_the_same_pixels(
            (width, height, channels, data) in (1u32..40, 1u32..12, prop::sample::select(vec![1usize, 2, 3, 4]))
                .prop_flat_map(|(w, h, c)| (Just(w), Just(h), Just(c), prop::collection::vec(any::<u8>(), (w * h) as usize * c))),
            filter in prop::sample::select(vec![
                FilterType::NoFilter, FilterType::Sub, FilterType::Up,
                FilterType::Avg, FilterType::Paeth, FilterType::Adaptive,
            ]),
            smooth in any::<bool>(),
        ) {
            // Smooth data makes the adaptive filter pick every filter type.
            let data: Vec<u8> = if smooth {
                data.iter().enumerate().map(|(i, &v)| (i / channels) as u8 / 4 + v % 8).collect()
            } else {
                data
            };
            let colour = match channels {
                1 => image::ExtendedColorType::L8,
                2 => image::ExtendedColorType::La8,
                3 => image::ExtendedColorType::Rgb8,
                _ => image::ExtendedColorType::Rgba8,
            };
            let bytes = encode(width, height, colour, filter, &data);
            let options = DecodeOptions::default();
            let fast = decode(&bytes, &options).unwrap().expect("the fast path takes this file");
            let reference = decode_with_image(&bytes, image::ImageFormat::Png, &options).unwrap();
            prop_assert_eq!(fast, reference);
        }
    }

    #[test]
    fn photos_decode_the_same() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/photos");
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "png"))
            .collect();
        paths.sort();
        let options = DecodeOptions::default();
        let mut taken = 0;
        for path in &paths {
            let bytes = std::fs::read(path).unwrap();
            let reference = decode_with_image(&bytes, image::ImageFormat::Png, &options).unwrap();
            if let Some(fast) = decode(&bytes, &options).unwrap() {
                assert_eq!(fast, reference, "{}", path.display());
                taken += 1;
            }
        }
        assert!(taken >= 5, "only {taken} photos took the fast path");
        // Buffers handed from picture to picture, as the converter does,
        // in both orders (longer and shorter than needed; data in one
        // chunk and in up to 97), change nothing.
        let mut buffers = DecodeBuffers::default();
        for path in paths.iter().chain(paths.iter().rev()) {
            let bytes = std::fs::read(path).unwrap();
            let fresh = decode(&bytes, &options).unwrap();
            let reused = decode_into(&bytes, &options, &mut buffers).unwrap();
            assert_eq!(reused, fresh, "{}", path.display());
            if let Some(picture) = reused {
                let data = picture.into_data();
                if data.capacity() > buffers.pixels.capacity() {
                    buffers.pixels = data;
                }
            }
        }
    }

    /// `bytes` with a chunk of `kind` inserted right after IHDR (the
    /// CRC is not checked by either decoder path here).
    fn with_chunk(bytes: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let after_ihdr = SIGNATURE.len() + 8 + 13 + 4;
        let mut out = bytes[..after_ihdr].to_vec();
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&bytes[after_ihdr..]);
        out
    }

    #[test]
    fn chunks_that_change_pixels_are_left_to_the_image_crate() {
        let plain = encode(
            2,
            1,
            image::ExtendedColorType::Rgb8,
            FilterType::Sub,
            &[1, 2, 3, 4, 5, 6],
        );
        let options = DecodeOptions::default();
        // Text does not change pixels: still the fast path.
        let text = with_chunk(&plain, b"tEXt", b"Comment\0hello");
        assert!(decode(&text, &options).unwrap().is_some());
        // A transparency key and EXIF do.
        let keyed = with_chunk(&plain, b"tRNS", &[0, 1, 0, 2, 0, 3]);
        assert_eq!(decode(&keyed, &options), Ok(None));
        let exif = with_chunk(&plain, b"eXIf", b"MM\0*");
        assert_eq!(decode(&exif, &options), Ok(None));
        // An unknown critical chunk (upper-case first letter) too.
        let critical = with_chunk(&plain, b"QQQQ", b"");
        assert_eq!(decode(&critical, &options), Ok(None));
        // Cut before IEND: not followed to the end.
        assert_eq!(decode(&plain[..plain.len() - 12], &options), Ok(None));
    }

    /// The IDAT data of `bytes` (one chunk), changed by `change`, CRC mended.
    fn with_idat_changed(bytes: &[u8], change: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        let at = bytes.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
        let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let end = at + 8 + length;
        change(&mut bytes[at + 8..end]);
        let crc = crc32fast::hash(&bytes[at + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    #[test]
    fn a_wrong_adler_checksum_is_left_to_the_png_crate() {
        let data: Vec<u8> = (0..3 * 16 * 4).map(|i| (i * 7) as u8).collect();
        let good = encode(
            16,
            4,
            image::ExtendedColorType::Rgb8,
            FilterType::Paeth,
            &data,
        );
        // The checksum is the last four bytes of the IDAT data.
        let bytes = with_idat_changed(&good, |idat| idat[idat.len() - 1] ^= 0x55);
        let options = DecodeOptions::default();
        assert!(decode(&good, &options).unwrap().is_some());
        assert_eq!(decode(&bytes, &options), Ok(None));
        // The `png` crate does not check it: the picture is still shown.
        let reference = decode_with_image(&bytes, image::ImageFormat::Png, &options);
        assert!(reference.is_ok_and(|p| p.data() == &data[..]));
    }

    /// Found by the `diff_png` fuzz target: one bit of the image data
    /// flipped, so the stream uses the codeword its one-symbol distance code
    /// leaves unused. libdeflate gives that codeword to the one symbol, so
    /// it reads the rows that were written (the Adler-32 agrees) and this
    /// path shows them; the `png` crate, like zlib, refuses the stream. The
    /// one documented difference (docs/security.md); the differential tests
    /// check that the pixels are those of the same rows in a valid stream.
    #[test]
    fn libdeflate_reads_a_stream_using_an_unused_distance_codeword() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz/diff_png_unused_distance_codeword.png");
        let bytes = std::fs::read(path).expect("regression file");
        let options = DecodeOptions::default();
        assert!(decode(&bytes, &options).unwrap().is_some());
        assert!(decode_with_image(&bytes, image::ImageFormat::Png, &options).is_err());
    }

    #[test]
    fn zlib_headers_are_checked() {
        let data: Vec<u8> = (0..3 * 5 * 3).map(|i| (i * 11) as u8).collect();
        let good = encode(5, 3, image::ExtendedColorType::Rgb8, FilterType::Sub, &data);
        let options = DecodeOptions::default();
        // Deflate with a 32 KiB window, any level: taken.
        for header in [[0x78, 0x01], [0x78, 0x5E], [0x78, 0x9C], [0x78, 0xDA]] {
            let bytes = with_idat_changed(&good, |idat| idat[..2].copy_from_slice(&header));
            assert!(decode(&bytes, &options).unwrap().is_some(), "{header:x?}");
        }
        // A broken header check, a preset dictionary, another method, a
        // window over 32 KiB: left to the general decoder.
        for bad in [[0x78, 0x9D], [0x78, 0xBB], [0x79, 0x9C], [0x88, 0x98]] {
            let bytes = with_idat_changed(&good, |idat| idat[..2].copy_from_slice(&bad));
            assert_eq!(decode(&bytes, &options), Ok(None), "{bad:x?}");
        }
    }

    #[test]
    fn bombs_are_refused_before_allocating() {
        // A 30000x30000 grey PNG header: refused by size, not by memory.
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&30_000u32.to_be_bytes());
        ihdr.extend_from_slice(&30_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut bytes = SIGNATURE.to_vec();
        bytes.extend_from_slice(&13u32.to_be_bytes());
        bytes.extend_from_slice(b"IHDR");
        bytes.extend_from_slice(&ihdr);
        bytes.extend_from_slice(&[0; 4]);
        let options = DecodeOptions {
            max_width: 40_000,
            max_height: 40_000,
            ..DecodeOptions::default()
        };
        assert_eq!(
            decode(&bytes, &options),
            Err(Error::MemoryLimit {
                limit: options.max_alloc
            })
        );
        assert!(matches!(
            decode(&bytes, &DecodeOptions::default()),
            Err(Error::TooLarge { .. })
        ));
    }
}
