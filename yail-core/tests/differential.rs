//! Our decoders against the `image` crate's, on the same bytes.
//!
//! `yail_core::decode` reads the common PNGs through a path of its own
//! (libdeflate, SIMD unfiltering) and grey-mode JPEGs through zune-jpeg's
//! luma plane alone. Here every kind of PNG (each colour type and bit
//! depth, palettes with and without transparency, interlaced, odd sizes,
//! any filter byte on any row, image data split over several chunks, files
//! cut at every chunk) and JPEGs of the sample photos go to both, and the
//! results must agree: the same pixels (for the JPEG luma path, within
//! [`JPEG_LUMA_TOLERANCE`] on pixels the colour decode did not clip), or
//! both refusing. We may refuse alone only by a size or memory limit, or
//! (JPEG) for a missing end-of-image marker, which is deliberate.
//!
//! The reference decode, the comparison helpers and the PNG writer are
//! `yail_core::test_support` (the `test-support` feature), which the fuzz
//! targets `diff_png` and `diff_jpeg` (fuzz/) use to apply the same rules
//! to mutated files; docs/security.md has their figures.

use image::{DynamicImage, ImageFormat};
use proptest::prelude::*;
use yail_core::test_support::{
    JPEG_LUMA_TOLERANCE, RawPng, depths, is_limit, luma_distance, pixels_of, recompressed_png,
    reference_decode,
};
use yail_core::{DecodeOptions, Error, Fit, PixelFormat, Target, decode, png_unfilter_variants};

/// Fails unless `ours` and `expected` agree by the rules above (exact),
/// and every unfiltering variant this processor has (portable, SSE2,
/// AVX2) gives what row-by-row unfiltering gives.
fn check_png(bytes: &[u8]) -> Result<(), TestCaseError> {
    let options = DecodeOptions::default();
    let variants = png_unfilter_variants(bytes, &options);
    if let Some(((_, reference), others)) = variants.split_first() {
        for (name, pixels) in others {
            prop_assert!(pixels == reference, "{} unfilters differently", name);
        }
    }
    let ours = decode(bytes, &options);
    let expected = reference_decode(bytes, ImageFormat::Png, &options);
    match (ours, expected) {
        (Ok(picture), Some(expected)) => {
            let got = pixels_of(&picture);
            prop_assert_eq!((got.0, got.1, got.2), (expected.0, expected.1, expected.2));
            prop_assert!(got.3 == expected.3, "different pixels");
        }
        (Ok(picture), None) => {
            let repaired = recompressed_png(bytes)
                .and_then(|b| reference_decode(&b, ImageFormat::Png, &options));
            prop_assert!(
                repaired == Some(pixels_of(&picture)),
                "decoded a file the image crate refuses"
            );
        }
        (Err(e), Some(_)) => prop_assert!(is_limit(&e), "refused a good file: {}", e),
        (Err(_), None) => {}
    }
    Ok(())
}

/// Any PNG; half of them of the kinds the fast path takes (8-bit, not
/// interlaced, no palette or key), so it is not starved.
fn any_png() -> impl Strategy<Value = RawPng> {
    let kind = prop_oneof![
        (
            prop::sample::select(vec![0u8, 2, 4, 6]),
            Just(8u8),
            Just(false),
            Just(false)
        ),
        prop::sample::select(vec![0u8, 2, 3, 4, 6])
            .prop_flat_map(|c| (Just(c), prop::sample::select(depths(c))))
            .prop_flat_map(|(c, d)| (Just(c), Just(d), any::<bool>(), any::<bool>())),
    ];
    (
        kind,
        1u32..70,
        1u32..40,
        1usize..4,
        prop::option::of(0u8..5),
        prop::collection::vec(any::<u8>(), 1..3000),
        1usize..=256,
    )
        .prop_map(
            |(
                (colour, depth, interlaced, keyed),
                width,
                height,
                idat_parts,
                filter,
                data,
                entries,
            )| {
                // Palettes may be shorter than the depth allows: indices
                // past the end are the decoders' problem to agree on.
                let entries = entries.min(1 << depth.min(8));
                let palette =
                    (colour == 3).then(|| data.iter().copied().cycle().take(entries * 3).collect());
                let transparency = match (keyed, colour) {
                    (true, 3) => Some(
                        data.iter()
                            .rev()
                            .copied()
                            .cycle()
                            .take(entries.div_ceil(2))
                            .collect(),
                    ),
                    (true, 0) => Some(vec![0, data[0] & ((1u16 << depth.min(8)) - 1) as u8]),
                    (true, 2) => Some(vec![
                        0,
                        data[0],
                        0,
                        data[data.len() / 2],
                        0,
                        data[data.len() - 1],
                    ]),
                    _ => None,
                };
                RawPng {
                    width,
                    height,
                    colour,
                    depth,
                    interlaced,
                    palette,
                    transparency,
                    idat_parts,
                    filter,
                    data,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_kind_of_png_decodes_as_the_image_crate_decodes_it(png in any_png()) {
        let (file, _) = png.file();
        check_png(&file)?;
    }

    #[test]
    fn pngs_cut_at_every_chunk_agree_or_are_both_refused(png in any_png()) {
        let (file, starts) = png.file();
        for &start in &starts {
            // At the chunk's start, inside its header, in its data, before its CRC.
            for cut in [start, start + 6, start + 9, start + (file.len() - start) / 2, file.len() - 1] {
                if cut < file.len() {
                    check_png(&file[..cut])?;
                }
            }
        }
    }

    #[test]
    fn damaged_pngs_agree_or_are_both_refused(
        png in any_png(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let (mut file, starts) = png.file();
        // Damage past the signature, then mend the CRCs so the damage is
        // judged by both decoders rather than caught by a checksum.
        for (at, value) in flips {
            let at = 8 + at.index(file.len() - 8);
            file[at] = value;
        }
        for &start in &starts {
            mend_crc(&mut file, start);
        }
        check_png(&file)?;
    }
}

/// Rewrites the CRC of the chunk at `start`, if the chunk is whole.
fn mend_crc(file: &mut [u8], start: usize) {
    let Some(len) = file.get(start..start + 4) else {
        return;
    };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let end = start + 8 + len;
    if end + 4 <= file.len() {
        let crc = crc32fast::hash(&file[start + 4..end]);
        file[end..end + 4].copy_from_slice(&crc.to_be_bytes());
    }
}

// -- JPEG ------------------------------------------------------------------

fn photo(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/photos")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The grey decode (luma path) against the colour reference.
fn check_jpeg_luma(bytes: &[u8]) -> Result<(), TestCaseError> {
    let options = DecodeOptions {
        // Larger than any accepted picture: no reduced-scale decode.
        target: Some(Target {
            width: u32::MAX,
            height: u32::MAX,
            fit: Fit::default(),
            grey: true,
        }),
        ..DecodeOptions::default()
    };
    let ours = decode(bytes, &options);
    let expected = reference_decode(bytes, ImageFormat::Jpeg, &options);
    match (ours, expected) {
        (Ok(picture), Some((width, height, format, data))) => {
            prop_assert_eq!((picture.width(), picture.height()), (width, height));
            match (picture.format(), format) {
                (PixelFormat::Grey, PixelFormat::Rgb) => {
                    let worst = luma_distance(&data, picture.data());
                    prop_assert!(worst <= JPEG_LUMA_TOLERANCE, "luma off by {}", worst);
                }
                _ => {
                    prop_assert_eq!(picture.format(), format);
                    prop_assert!(picture.data() == data.as_slice(), "different pixels");
                }
            }
        }
        (Ok(_), None) => prop_assert!(false, "decoded a file the image crate refuses"),
        (Err(e), Some(_)) => prop_assert!(
            is_limit(&e) || e == Error::Malformed("the file ends too early".into()),
            "refused a file the image crate decodes: {}",
            e
        ),
        (Err(_), None) => {}
    }
    Ok(())
}

/// A sample photo cut to a small odd-sized piece and encoded as a JPEG.
fn small_jpeg(name: &str, x: u32, y: u32, w: u32, h: u32, quality: u8, grey: bool) -> Vec<u8> {
    let picture = image::load_from_memory(&photo(name)).expect("sample photo");
    let piece = picture.crop_imm(x, y, w, h);
    let piece = if grey {
        DynamicImage::ImageLuma8(piece.to_luma8())
    } else {
        DynamicImage::ImageRgb8(piece.to_rgb8())
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&piece)
        .expect("encode a JPEG");
    out
}

#[test]
fn the_sample_jpeg_decodes_to_the_same_luma() {
    check_jpeg_luma(&photo("rocket.jpg")).unwrap();
}

#[test]
fn jpeg_fixtures_decode_to_the_same_luma() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats");
    for name in [
        "baseline.jpg",
        "progressive.jpg",
        "cmyk.jpg",
        "exif_rotated.jpg",
        "exif_rotated_big.jpg",
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("fixture");
        check_jpeg_luma(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn jpegs_of_any_size_and_quality_decode_to_the_same_luma(
        name in prop::sample::select(vec!["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"]),
        x in 0u32..200,
        y in 0u32..200,
        w in 1u32..80,
        h in 1u32..60,
        quality in 10u8..=100,
        grey in any::<bool>(),
    ) {
        check_jpeg_luma(&small_jpeg(name, x, y, w, h, quality, grey))?;
    }

    #[test]
    fn cut_or_damaged_jpegs_agree_or_are_both_refused(
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut bytes = small_jpeg("chelsea.png", 40, 30, 67, 45, 80, false);
        for (at, value) in flips {
            let at = 2 + at.index(bytes.len() - 2);
            bytes[at] = value;
        }
        let keep = 2 + cut.index(bytes.len() - 1);
        check_jpeg_luma(&bytes[..keep])?;
    }
}

/// Found by `diff_jpeg` after 337 runs: a damaged copy of
/// `exif_rotated_big.jpg` (a few bits changed) whose luma-only decode lies
/// up to 122 grey levels from the colour decode's luma on unclipped pixels:
/// zune-jpeg conceals the damage differently when it skips the colour
/// planes. The luma path now decodes in zune-jpeg's strict mode and leaves
/// damaged files to the colour decode. The second file is another damaged
/// copy the fork-mode run found.
#[test]
fn damaged_jpeg_found_by_fuzzing_decodes_to_the_same_luma() {
    for name in ["diff_jpeg_luma_mismatch.jpg", "diff_jpeg_second.jpg"] {
        let bytes = std::fs::read(fuzz_file(name)).expect("regression file");
        check_jpeg_luma(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Found by `diff_jpeg` after the strict-mode fix: a damaged baseline JPEG
/// whose tables and scan come twice, which zune-jpeg's strict mode accepts
/// and draws up to 198 levels apart in luma and in colour; the luma path
/// now leaves a sequential file with more than one scan to the colour
/// decode.
#[test]
fn baseline_jpeg_with_a_second_scan_decodes_to_the_same_luma() {
    let bytes =
        std::fs::read(fuzz_file("diff_jpeg_luma_strict_mode.jpg")).expect("regression file");
    check_jpeg_luma(&bytes).unwrap();
}

/// Found by `diff_png`: one bit of the image data flipped, so that the
/// stream uses the codeword its one-symbol distance code leaves unused.
/// libdeflate reads it as that symbol (the data then matches its Adler-32);
/// the `png` crate refuses it ("invalid distance code"). We show the
/// picture the same rows give in a valid stream, the documented exception.
#[test]
fn png_stream_using_an_unused_distance_codeword_shows_the_checksummed_rows() {
    let bytes =
        std::fs::read(fuzz_file("diff_png_unused_distance_codeword.png")).expect("regression file");
    let options = DecodeOptions::default();
    assert!(
        reference_decode(&bytes, ImageFormat::Png, &options).is_none(),
        "the png crate refuses it"
    );
    let ours = decode(&bytes, &options).expect("libdeflate reads it");
    let repaired = recompressed_png(&bytes).expect("libdeflate reads it, checksum and all");
    assert_eq!(
        reference_decode(&repaired, ImageFormat::Png, &options),
        Some(pixels_of(&ours))
    );
    check_png(&bytes).unwrap();
}

#[test]
fn every_unfilter_variant_of_this_processor_is_checked() {
    // Eight Paeth rows of RGB: what the AVX2 and SSE2 groups take.
    let png = RawPng {
        width: 9,
        height: 9,
        colour: 2,
        depth: 8,
        interlaced: false,
        palette: None,
        transparency: None,
        idat_parts: 1,
        filter: Some(4),
        data: (0..9 * 9 * 3).map(|i| (i * 37 % 251) as u8).collect(),
    };
    let (bytes, _) = png.file();
    let names: Vec<_> = png_unfilter_variants(&bytes, &DecodeOptions::default())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let mut expected = vec!["row-by-row", "portable"];
    #[cfg(target_arch = "x86_64")]
    {
        expected.push("sse2");
        if std::arch::is_x86_feature_detected!("avx2") {
            expected.push("avx2");
        }
    }
    assert_eq!(names, expected);
    check_png(&bytes).unwrap();
}

/// The `png` crate 0.18 panics on a palette of 50 bytes (not whole RGB
/// triples); `decode` refuses such a palette before any decoder sees it.
#[test]
fn png_with_a_palette_of_partial_colours_is_refused_not_a_panic() {
    let bytes = std::fs::read(fuzz_file("png_crate_panics_on_short_palette.png")).unwrap();
    match decode(&bytes, &DecodeOptions::default()) {
        Err(Error::Malformed(message)) => assert!(message.contains("palette"), "{message}"),
        other => panic!("expected a malformed-palette error, got {other:?}"),
    }
}

fn fuzz_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(name)
}
