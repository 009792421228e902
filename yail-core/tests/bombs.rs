//! Decompression bombs, measured by the allocator: files that declare sizes
//! far beyond the limits are refused before the pixel memory is reserved,
//! and a compressed stream that inflates past its declared size cannot make
//! the decoder allocate for the excess.
//!
//! This test binary counts every allocation (a wrapper around the system
//! allocator), so "before allocation" is checked, not assumed. The ignored
//! test `peak_memory_per_conversion` prints the figures docs/security.md
//! quotes: `cargo test -p yail-core --test bombs -- --ignored --nocapture`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use yail_core::{Converter, DecodeOptions, Error, GfxMode, Settings, decode};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters are only arithmetic on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same layout as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let grow = new_size - layout.size();
            let now = CURRENT.fetch_add(grow, Ordering::Relaxed) + grow;
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `work` and returns its result and the most memory the process
/// held above what it held before.
fn peak_during<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let result = work();
    (result, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// A bomb may cost this much (headers, decoder state, tables), never a
/// pixel buffer.
const SMALL: usize = 2 << 20;

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG of `width` x `height`, colour type `colour` at 8 bits, whose image
/// data is `raw` (filter bytes included) zlib-compressed.
fn png(width: u32, height: u32, colour: u8, raw: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, colour, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    let mut compressor = libdeflater::Compressor::new(libdeflater::CompressionLvl::best());
    let mut zlib = vec![0; compressor.zlib_compress_bound(raw.len())];
    let len = compressor.zlib_compress(raw, &mut zlib).expect("bound");
    chunk(&mut out, b"IDAT", &zlib[..len]);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn header_only_png(width: u32, height: u32) -> Vec<u8> {
    png(width, height, 2, &[0; 64])
}

fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    // SOI, SOF0 for three components, EOI: the header alone.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    jpeg.extend_from_slice(&height.to_be_bytes());
    jpeg.extend_from_slice(&width.to_be_bytes());
    jpeg.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    jpeg
}

fn gif_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&width.to_le_bytes());
    gif.extend_from_slice(&height.to_le_bytes());
    gif.extend_from_slice(&[0, 0, 0]);
    // One image descriptor as large as the screen, a tiny LZW stream.
    gif.push(0x2C);
    gif.extend_from_slice(&[0, 0, 0, 0]);
    gif.extend_from_slice(&width.to_le_bytes());
    gif.extend_from_slice(&height.to_le_bytes());
    gif.extend_from_slice(&[0, 2, 2, 0x4C, 0x01, 0, 0x3B]);
    gif
}

fn bmp_claiming(width: i32, height: i32) -> Vec<u8> {
    let mut bmp = b"BM".to_vec();
    bmp.extend_from_slice(&(54u32 + 16).to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&width.to_le_bytes());
    bmp.extend_from_slice(&height.to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    bmp.extend_from_slice(&[0; 16]);
    bmp
}

fn webp_claiming(width: u32, height: u32) -> Vec<u8> {
    // RIFF, an extended-format header with the canvas size, nothing else.
    let mut vp8x = vec![0u8; 10];
    vp8x[4..7].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
    vp8x[7..10].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
    let mut body = b"WEBPVP8X".to_vec();
    body.extend_from_slice(&(vp8x.len() as u32).to_le_bytes());
    body.extend_from_slice(&vp8x);
    let mut webp = b"RIFF".to_vec();
    webp.extend_from_slice(&(body.len() as u32).to_le_bytes());
    webp.extend_from_slice(&body);
    webp
}

fn assert_refused_small(name: &str, bytes: &[u8], options: &DecodeOptions) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (result, peak) = peak_during(|| decode(bytes, options));
    assert!(result.is_err(), "{name}: decoded: {result:?}");
    assert!(
        peak < SMALL,
        "{name}: {peak} bytes allocated before refusing ({result:?})"
    );
}

#[test]
fn declared_sizes_past_the_pixel_limit_are_refused_before_allocating() {
    let options = DecodeOptions::default();
    assert_refused_small(
        "PNG 30000x30000",
        &header_only_png(30_000, 30_000),
        &options,
    );
    assert_refused_small("PNG 2^31x1", &header_only_png(1 << 31, 1), &options);
    assert_refused_small("JPEG 65535x65535", &jpeg_claiming(65_535, 65_535), &options);
    assert_refused_small("GIF 65535x65535", &gif_claiming(65_535, 65_535), &options);
    assert_refused_small("BMP 60000x60000", &bmp_claiming(60_000, 60_000), &options);
    assert_refused_small("BMP 60000x-60000", &bmp_claiming(60_000, -60_000), &options);
    assert_refused_small("WebP 16M x 16M", &webp_claiming(1 << 24, 1 << 24), &options);
}

#[test]
fn sizes_within_the_dimensions_but_past_the_memory_limit_are_refused_before_allocating() {
    let options = DecodeOptions {
        max_alloc: 16 << 20,
        ..DecodeOptions::default()
    };
    // 48 MB of RGB, 16 MB of grey: both over a 16 MiB budget.
    assert_refused_small("PNG 4096x4096 RGB", &header_only_png(4096, 4096), &options);
    let grey = png(4096, 4097, 0, &[0; 64]);
    assert_refused_small("PNG 4096x4097 grey", &grey, &options);
    assert_refused_small("JPEG 8000x8000", &jpeg_claiming(8000, 8000), &options);
    assert_refused_small("BMP 4000x4000", &bmp_claiming(4000, 4000), &options);
}

#[test]
fn image_data_that_inflates_past_the_declared_size_costs_no_more_than_the_declared_size() {
    // 16x16 grey declares 16 * 17 = 272 bytes of image data; the stream
    // holds 64 MiB of zeros (about 64 KiB compressed).
    let bytes = png(16, 16, 0, &vec![0u8; 64 << 20]);
    assert!(bytes.len() < 256 << 10, "{} bytes", bytes.len());
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (result, peak) = peak_during(|| decode(&bytes, &DecodeOptions::default()));
    // Either decoder may show the first 16 rows or refuse the file; neither
    // may hold the excess.
    if let Ok(picture) = &result {
        assert_eq!((picture.width(), picture.height()), (16, 16));
    }
    assert!(peak < SMALL, "{peak} bytes allocated ({result:?})");
}

#[test]
fn a_legitimate_picture_within_the_limits_still_decodes() {
    // The counterpart of the above: the limits refuse bombs, not pictures.
    let bytes = png(1000, 1000, 0, &vec![0u8; 1001 * 1000]);
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (result, peak) = peak_during(|| decode(&bytes, &DecodeOptions::default()));
    let picture = result.expect("a plain 1000x1000 grey PNG");
    assert_eq!((picture.width(), picture.height()), (1000, 1000));
    assert!(peak >= 1_000_000, "{peak} bytes for a million pixels");
}

#[test]
fn refusals_name_the_limit() {
    let result = decode(&header_only_png(30_000, 30_000), &DecodeOptions::default());
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

/// Peak memory of one whole conversion (decode, fit, dither, encode) of
/// each sample photo in each mode, with fresh converter state.
#[test]
#[ignore = "prints figures; run with --ignored --nocapture"]
fn peak_memory_per_conversion() {
    let photos = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/photos");
    let mut names: Vec<_> = std::fs::read_dir(&photos)
        .expect("assets/photos")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    names.sort();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    println!("| photo | size | file | decoded | GR.8 | GR.9 | GR.15 | VBXE |");
    println!("|---|---|---|---|---|---|---|---|");
    for path in names {
        let bytes = std::fs::read(&path).expect("photo");
        let (picture, decoded) = peak_during(|| decode(&bytes, &DecodeOptions::default()));
        let picture = picture.expect("sample photo decodes");
        let mut row = format!(
            "| {} | {}x{} | {} KiB | {} KiB |",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            picture.width(),
            picture.height(),
            bytes.len() / 1024,
            decoded / 1024
        );
        drop(picture);
        for mode in [
            GfxMode::Gr8,
            GfxMode::Gr9,
            GfxMode::Gr15,
            GfxMode::VbxeLegacy,
        ] {
            let (packet, peak) =
                peak_during(|| Converter::new().convert(&bytes, &Settings::new(mode)));
            packet.expect("sample photo converts");
            row.push_str(&format!(" {} KiB |", peak / 1024));
        }
        println!("{row}");
    }
}
