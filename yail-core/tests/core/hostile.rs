//! Files that are not pictures, or lie about their size, give typed errors
//! quickly and without large allocations.

use yail_core::{Converter, DecodeOptions, Error, GfxMode, Settings, decode};

/// A PNG chunk: length, type, data and the CRC-32 of type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    out
}

/// A PNG header claiming `width` x `height` RGB, with a little pixel data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    // A stored (uncompressed) zlib block of zeros: valid, but far too short.
    let mut idat = vec![0x78, 0x01, 0x01, 0x00, 0x04, 0xFF, 0xFB];
    idat.extend_from_slice(&[0; 1024]);
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn empty_input_is_empty() {
    assert!(matches!(
        decode(&[], &DecodeOptions::default()),
        Err(Error::Empty)
    ));
}

#[test]
fn text_is_not_a_picture() {
    let result = decode(b"<html>not a picture</html>", &DecodeOptions::default());
    assert!(matches!(result, Err(Error::UnknownFormat)), "{result:?}");
}

#[test]
fn decompression_bomb_is_refused_before_allocating() {
    let bomb = png_claiming(30_000, 30_000);
    let result = decode(&bomb, &DecodeOptions::default());
    assert!(
        matches!(
            result,
            Err(Error::TooLarge {
                width: 30_000,
                height: 30_000,
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn allocation_limit_is_enforced_below_the_dimension_limit() {
    let big = png_claiming(12_000, 12_000); // 432 MB of RGB, within 16384 x 16384
    let options = DecodeOptions {
        max_alloc: 64 << 20,
        ..DecodeOptions::default()
    };
    let result = decode(&big, &options);
    assert!(
        matches!(
            result,
            Err(Error::MemoryLimit { .. } | Error::TooLarge { .. })
        ),
        "{result:?}"
    );
}

#[test]
fn truncated_files_are_malformed() {
    for name in ["camera.png", "rocket.jpg"] {
        let whole = super::photo(name);
        for cut in [8, 100, whole.len() / 2] {
            let result = Converter::new().convert(&whole[..cut], &Settings::new(GfxMode::Gr8));
            assert!(result.is_err(), "{name} cut at {cut} converted");
        }
    }
}

#[test]
fn jpeg_header_with_absurd_size_is_refused() {
    // SOI, SOF0 claiming 60000 x 60000 x 3, EOI.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    jpeg.extend_from_slice(&60_000u16.to_be_bytes());
    jpeg.extend_from_slice(&60_000u16.to_be_bytes());
    jpeg.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    let result = decode(&jpeg, &DecodeOptions::default());
    assert!(result.is_err(), "{result:?}");
}

proptest::proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
        let _ = Converter::new().convert(&bytes, &Settings::new(GfxMode::Gr8));
    }

    #[test]
    fn corrupted_photos_never_panic(flips in proptest::collection::vec((0usize..20_000, proptest::prelude::any::<u8>()), 1..20)) {
        let mut bytes = super::photo("rocket.jpg");
        for (at, value) in flips {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        let _ = Converter::new().convert(&bytes, &Settings::new(GfxMode::Gr8));
    }
}
