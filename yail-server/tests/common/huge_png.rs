//! A PNG far larger decoded than on disk, for the tests of the decode
//! memory budget: written row by row, so the test never holds it decoded.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

/// Width of [`huge_png`]'s picture.
pub const WIDTH: u32 = 16_384;
/// Height of [`huge_png`]'s picture: 134 megapixels in all, 537 MB of
/// RGBA to hold decoded.
pub const HEIGHT: u32 = 8_191;

/// A `WIDTH`x`HEIGHT` 8-bit RGBA PNG whose every row holds the pixels
/// `pixel(x)` gives, compressed at `level` (`best` gives about 520 KB for
/// one colour, `fast` is quicker to write).
pub fn huge_png(pixel: impl Fn(u32) -> [u8; 4], level: Compression) -> Vec<u8> {
    let mut row = Vec::with_capacity(1 + 4 * WIDTH as usize);
    row.push(0); // no filter
    for x in 0..WIDTH {
        row.extend_from_slice(&pixel(x));
    }
    let mut deflate = ZlibEncoder::new(Vec::new(), level);
    for _ in 0..HEIGHT {
        deflate.write_all(&row).expect("writing to memory");
    }
    let data = deflate.finish().expect("writing to memory");
    let mut png = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
    let mut chunk = |kind: &[u8; 4], body: &[u8]| {
        let len = u32::try_from(body.len()).expect("a chunk under 4 GB");
        png.extend_from_slice(&len.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(body);
        png.extend_from_slice(kind);
        png.extend_from_slice(body);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut header = Vec::new();
    header.extend_from_slice(&WIDTH.to_be_bytes());
    header.extend_from_slice(&HEIGHT.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA
    chunk(b"IHDR", &header);
    chunk(b"IDAT", &data);
    chunk(b"IEND", &[]);
    png
}
