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
//! The fuzz targets `diff_png` and `diff_jpeg` (fuzz/) apply the same
//! rules to mutated files; docs/security.md has their figures.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use proptest::prelude::*;
use yail_core::{
    DecodeOptions, Error, Fit, Picture, PixelFormat, Target, decode, png_unfilter_variants,
};

/// How far (grey levels) the luma-only JPEG decode may lie from the Rec. 601
/// luma of the colour decode where that decode did not clip: the luma plane
/// is the file's Y; the reference goes Y → RGB, each channel rounded → Y.
const JPEG_LUMA_TOLERANCE: u8 = 2;

type Pixels = (u32, u32, PixelFormat, Vec<u8>);

fn pixels_of(picture: &Picture) -> Pixels {
    (
        picture.width(),
        picture.height(),
        picture.format(),
        picture.data().to_vec(),
    )
}

/// The `image` crate's decode with what `decode` promises on top: EXIF
/// orientation applied, 8 bits per channel, transparency on black.
fn reference(bytes: &[u8], format: ImageFormat, options: &DecodeOptions) -> Option<Pixels> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(options.max_width);
    limits.max_image_height = Some(options.max_height);
    limits.max_alloc = Some(options.max_alloc);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let (format, data) = match &image {
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) => {
            (PixelFormat::Grey, image.to_luma8().into_raw())
        }
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            (PixelFormat::Grey, on_black(&image.to_luma_alpha8(), 1))
        }
        other if other.color().has_alpha() => (PixelFormat::Rgb, on_black(&image.to_rgba8(), 3)),
        other => (PixelFormat::Rgb, other.to_rgb8().into_raw()),
    };
    Some((width, height, format, data))
}

/// Colour channels with a trailing alpha byte, composited on black.
fn on_black(pixels: &[u8], colours: usize) -> Vec<u8> {
    pixels
        .chunks_exact(colours + 1)
        .flat_map(|px| {
            let alpha = u32::from(px[colours]);
            px[..colours]
                .iter()
                .map(move |&v| ((u32::from(v) * alpha + 127) / 255) as u8)
        })
        .collect()
}

fn is_limit(error: &Error) -> bool {
    matches!(
        error,
        Error::TooLarge { .. } | Error::MemoryLimit { .. } | Error::NoPixels
    )
}

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
    let expected = reference(bytes, ImageFormat::Png, &options);
    match (ours, expected) {
        (Ok(picture), Some(expected)) => {
            let got = pixels_of(&picture);
            prop_assert_eq!((got.0, got.1, got.2), (expected.0, expected.1, expected.2));
            prop_assert!(got.3 == expected.3, "different pixels");
        }
        (Ok(picture), None) => {
            let repaired =
                recompressed_png(bytes).and_then(|b| reference(&b, ImageFormat::Png, &options));
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

/// `bytes` with its image data re-compressed into one valid zlib stream of
/// what libdeflate reads from it (checksum checked), or `None` if libdeflate
/// cannot read it or the file is not of the kind the PNG fast path takes
/// (8 bits, not interlaced, grey, grey + alpha, RGB or RGBA).
///
/// The one file our decode may show while the `png` crate refuses it: a
/// zlib stream that uses a codeword its distance code leaves unused, which
/// libdeflate reads as the code's one symbol and the `png` crate (like zlib)
/// refuses as an invalid distance code. The Adler-32 then vouches that what
/// libdeflate read is what was written; our pixels must be what the `png`
/// crate decodes from the same rows in a valid stream (docs/security.md). The fuzz crate has the same function.
fn recompressed_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut chunks = Vec::new();
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().ok()?) as usize;
        let end = (at + 8).checked_add(len)?;
        if end + 4 > bytes.len() {
            break;
        }
        chunks.push((&bytes[at + 4..at + 8], &bytes[at + 8..end]));
        at = end + 4;
    }
    let (kind, ihdr) = *chunks.first()?;
    if kind != b"IHDR" || ihdr.len() != 13 || ihdr[8] != 8 || ihdr[12] != 0 {
        return None;
    }
    let channels = match ihdr[9] {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return None,
    };
    let word = |at: usize| {
        u32::from_be_bytes([ihdr[at], ihdr[at + 1], ihdr[at + 2], ihdr[at + 3]]) as usize
    };
    let raw_len = (word(0) * channels + 1).checked_mul(word(4))?;
    if raw_len > 64 << 20 {
        return None;
    }
    let zlib: Vec<u8> = chunks
        .iter()
        .filter(|(kind, _)| *kind == b"IDAT")
        .flat_map(|(_, data)| data.iter().copied())
        .collect();
    let mut raw = vec![0u8; raw_len];
    let read = libdeflater::Decompressor::new().zlib_decompress(&zlib, &mut raw);
    if read.ok() != Some(raw_len) {
        return None;
    }
    let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::fastest());
    let mut valid = vec![0; compressor.zlib_compress_bound(raw.len())];
    let len = compressor.zlib_compress(&raw, &mut valid).ok()?;
    valid.truncate(len);
    let mut out = bytes[..8].to_vec();
    let mut idat_written = false;
    for (kind, data) in chunks {
        let data = match kind {
            b"IDAT" if idat_written => continue,
            b"IDAT" => {
                idat_written = true;
                &valid[..]
            }
            _ => data,
        };
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    Some(out)
}

/// A PNG written by hand: every colour type, depth, palette, transparency
/// key, interlacing and filter byte (the encoders at hand write only some).
#[derive(Debug, Clone)]
struct RawPng {
    width: u32,
    height: u32,
    /// 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA.
    colour: u8,
    depth: u8,
    interlaced: bool,
    palette: Option<Vec<u8>>,
    transparency: Option<Vec<u8>>,
    idat_parts: usize,
    /// The filter of every row, or `None`: each row's filter byte comes
    /// from the data (runs of one filter reach the grouped SIMD rows).
    filter: Option<u8>,
    data: Vec<u8>,
}

/// The Adam7 passes as (x start, y start, x step, y step).
const ADAM7: [(u32, u32, u32, u32); 7] = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
];

impl RawPng {
    fn bits_per_pixel(&self) -> u32 {
        let samples = match self.colour {
            2 => 3,
            4 => 2,
            6 => 4,
            _ => 1,
        };
        samples * u32::from(self.depth)
    }

    fn passes(&self) -> Vec<(u32, u32)> {
        if !self.interlaced {
            return vec![(self.width, self.height)];
        }
        ADAM7
            .iter()
            .map(|&(x0, y0, dx, dy)| {
                (
                    self.width.saturating_sub(x0).div_ceil(dx),
                    self.height.saturating_sub(y0).div_ceil(dy),
                )
            })
            .filter(|&(w, h)| w > 0 && h > 0)
            .collect()
    }

    /// Rows of a filter byte and sample bytes taken from `data`, cycling:
    /// any bytes are valid filtered data.
    fn filtered(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut bytes = self
            .data
            .iter()
            .copied()
            .chain(std::iter::once(0x5A))
            .cycle();
        for (w, h) in self.passes() {
            let row = (u64::from(w) * u64::from(self.bits_per_pixel())).div_ceil(8) as usize;
            for _ in 0..h {
                let filter = bytes.next().unwrap_or(0) % 5;
                out.push(self.filter.unwrap_or(filter));
                out.extend(bytes.by_ref().take(row));
            }
        }
        out
    }

    /// The file, and where each chunk starts in it.
    fn file(&self) -> (Vec<u8>, Vec<usize>) {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut starts = Vec::new();
        let mut header = self.width.to_be_bytes().to_vec();
        header.extend_from_slice(&self.height.to_be_bytes());
        header.extend_from_slice(&[self.depth, self.colour, 0, 0, u8::from(self.interlaced)]);
        chunk(&mut out, &mut starts, b"IHDR", &header);
        if let Some(palette) = &self.palette {
            chunk(&mut out, &mut starts, b"PLTE", palette);
        }
        if let Some(key) = &self.transparency {
            chunk(&mut out, &mut starts, b"tRNS", key);
        }
        let filtered = self.filtered();
        let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::fastest());
        let mut zlib = vec![0; compressor.zlib_compress_bound(filtered.len())];
        let len = compressor
            .zlib_compress(&filtered, &mut zlib)
            .expect("the bound is enough");
        zlib.truncate(len);
        let part = zlib.len().div_ceil(self.idat_parts.max(1)).max(1);
        for piece in zlib.chunks(part) {
            chunk(&mut out, &mut starts, b"IDAT", piece);
        }
        chunk(&mut out, &mut starts, b"IEND", &[]);
        (out, starts)
    }
}

fn chunk(out: &mut Vec<u8>, starts: &mut Vec<usize>, kind: &[u8; 4], data: &[u8]) {
    starts.push(out.len());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn depths(colour: u8) -> Vec<u8> {
    match colour {
        0 => vec![1, 2, 4, 8, 16],
        3 => vec![1, 2, 4, 8],
        _ => vec![8, 16],
    }
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
    let expected = reference(bytes, ImageFormat::Jpeg, &options);
    match (ours, expected) {
        (Ok(picture), Some((width, height, format, data))) => {
            prop_assert_eq!((picture.width(), picture.height()), (width, height));
            match (picture.format(), format) {
                (PixelFormat::Grey, PixelFormat::Rgb) => {
                    let worst = data
                        .chunks_exact(3)
                        .zip(picture.data())
                        .filter(|(px, _)| px.iter().all(|&c| c != 0 && c != 255))
                        .map(|(px, &g)| luma601(px[0], px[1], px[2]).abs_diff(g))
                        .max()
                        .unwrap_or(0);
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
        reference(&bytes, ImageFormat::Png, &options).is_none(),
        "the png crate refuses it"
    );
    let ours = decode(&bytes, &options).expect("libdeflate reads it");
    let repaired = recompressed_png(&bytes).expect("libdeflate reads it, checksum and all");
    assert_eq!(
        reference(&repaired, ImageFormat::Png, &options),
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

/// BT.601 luma in the fixed point the luma-only JPEG path is held to: the
/// reference the colour decode's pixels are reduced with.
fn luma601(r: u8, g: u8, b: u8) -> u8 {
    ((19_595 * u32::from(r) + 38_470 * u32::from(g) + 7_471 * u32::from(b) + 32_768) >> 16) as u8
}
