//! Still WebP pictures, lossy and lossless, decoded with libwebp.
//!
//! The `image` crate's pure-Rust WebP decoder takes longer on a large lossy
//! WebP than Pillow's whole pipeline (which decodes with libwebp); libwebp
//! is several times faster. Its C code is built by the `webp` crate's
//! binding with the ordinary C compiler, as libdeflate's is.
//!
//! Of an animated WebP only the first frame is shown. The binding's
//! animation decoder would decode every frame, so the first frame's
//! bitstream is cut out of its container here, wrapped as a still WebP,
//! decoded by libwebp and placed on the (transparent, so black) canvas.
//! Files with EXIF data are left to the `image` crate, which applies
//! their orientation. The tests `webp_matches_the_image_crate` and
//! `animated_webp_first_frame_matches_the_image_crate` hold this path to
//! the `image` crate's output: equal for lossless files, within a few
//! levels for lossy ones (libwebp upsamples chroma with a smoother filter).

use super::options::DecodeOptions;
use super::pixels::composite;
use crate::error::Result;
use crate::picture::{Picture, PixelFormat};

/// Bit of the VP8X flags byte saying the file carries EXIF metadata.
const EXIF_FLAG: u8 = 0x08;

/// Whether `bytes` is a WebP in the extended format with EXIF metadata
/// (whose orientation the `image` crate applies).
fn has_exif(bytes: &[u8]) -> bool {
    bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|f| f & EXIF_FLAG != 0)
}

/// Decodes a still WebP with libwebp; `None` when the `image` crate should
/// (animation, EXIF, or a file libwebp refuses, whose error the `image`
/// crate then names).
pub(crate) fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Picture>> {
    let Some(features) = webp::BitstreamFeatures::new(bytes) else {
        return Ok(None);
    };
    if has_exif(bytes) {
        return Ok(None);
    }
    let (width, height) = (features.width(), features.height());
    options.check_size(width, height)?;
    if features.has_animation() {
        return first_frame(bytes, width, height, options);
    }
    let channels: u64 = if features.has_alpha() { 4 } else { 3 };
    options.check_alloc(u64::from(width) * u64::from(height) * channels)?;
    let Some(image) = webp::Decoder::new(bytes).decode() else {
        return Ok(None);
    };
    let data = if image.is_alpha() {
        composite(&image, 3)
    } else {
        image.to_vec()
    };
    Ok(Some(Picture::new(width, height, PixelFormat::Rgb, data)?))
}

/// The first frame of an animated WebP on its canvas, composited on
/// black; `None` (the `image` crate decides) when the container cannot be
/// followed or libwebp refuses the frame.
fn first_frame(
    bytes: &[u8],
    width: u32,
    height: u32,
    options: &DecodeOptions,
) -> Result<Option<Picture>> {
    // The canvas, and libwebp's RGBA frame at most as large.
    options.check_alloc(u64::from(width) * u64::from(height) * 7)?;
    let Some(frame) = first_frame_chunk(bytes) else {
        return Ok(None);
    };
    let fits = |offset: u32, size: u32, canvas: u32| {
        offset.checked_add(size).is_some_and(|end| end <= canvas)
    };
    if !fits(frame.x, frame.width, width) || !fits(frame.y, frame.height, height) {
        return Ok(None);
    }
    let still = still_webp(&frame);
    let Some(image) = webp::Decoder::new(&still).decode() else {
        return Ok(None);
    };
    if (image.width(), image.height()) != (frame.width, frame.height) {
        return Ok(None);
    }
    let pixels = if image.is_alpha() {
        composite(&image, 3)
    } else {
        image.to_vec()
    };
    let (canvas_row, frame_row) = (width as usize * 3, frame.width as usize * 3);
    let mut canvas = vec![0u8; canvas_row * height as usize];
    for (row, from) in pixels.chunks_exact(frame_row).enumerate() {
        let start = (frame.y as usize + row) * canvas_row + frame.x as usize * 3;
        canvas[start..start + frame_row].copy_from_slice(from);
    }
    Ok(Some(Picture::new(width, height, PixelFormat::Rgb, canvas)?))
}

/// One frame of an animated WebP: where it goes on the canvas, its size,
/// and the chunks that make its picture (an optional `ALPH`, then `VP8 `
/// or `VP8L`).
#[derive(Debug, PartialEq, Eq)]
struct Frame<'a> {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    chunks: &'a [u8],
}

/// The chunks of a RIFF body: (four-character code, payload), each
/// payload within `body` (a truncated last chunk ends the iteration).
fn chunks(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = body;
    std::iter::from_fn(move || {
        let (code, size) = (rest.get(0..4)?, rest.get(4..8)?);
        let size = usize::try_from(u32::from_le_bytes(size.try_into().ok()?)).ok()?;
        let payload = rest.get(8..8usize.checked_add(size)?)?;
        // Payloads are padded to an even length.
        rest = rest.get(8 + size + (size & 1)..).unwrap_or_default();
        Some((code, payload))
    })
}

/// A little-endian 24-bit field.
fn u24(bytes: &[u8]) -> u32 {
    u32::from(bytes[0]) | u32::from(bytes[1]) << 8 | u32::from(bytes[2]) << 16
}

/// The first `ANMF` chunk of an animated WebP, or `None`.
fn first_frame_chunk(bytes: &[u8]) -> Option<Frame<'_>> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WEBP" {
        return None;
    }
    let (_, payload) = chunks(bytes.get(12..)?).find(|(code, _)| *code == b"ANMF")?;
    // X and Y offsets (in units of two pixels), width and height minus
    // one, duration, flags; then the frame's own chunks.
    let header = payload.get(0..16)?;
    Some(Frame {
        x: 2 * u24(&header[0..3]),
        y: 2 * u24(&header[3..6]),
        width: u24(&header[6..9]) + 1,
        height: u24(&header[9..12]) + 1,
        chunks: &payload[16..],
    })
}

/// A still WebP file holding `frame`'s picture: an extended header (so an
/// `ALPH` chunk is allowed) followed by the frame's chunks.
fn still_webp(frame: &Frame<'_>) -> Vec<u8> {
    const ALPHA_FLAG: u8 = 0x10;
    // libwebp reads the flag to choose RGB or RGBA output; a lossless
    // frame carries its alpha inside, so it is flagged too (an opaque one
    // then composites to itself).
    let has_alpha = chunks(frame.chunks).any(|(code, _)| code == b"ALPH" || code == b"VP8L");
    let mut header = [0u8; 10];
    header[0] = if has_alpha { ALPHA_FLAG } else { 0 };
    header[4..7].copy_from_slice(&(frame.width - 1).to_le_bytes()[..3]);
    header[7..10].copy_from_slice(&(frame.height - 1).to_le_bytes()[..3]);
    let body = 4 + 8 + header.len() + frame.chunks.len();
    let mut file = Vec::with_capacity(8 + body);
    file.extend_from_slice(b"RIFF");
    file.extend_from_slice(&u32::try_from(body).unwrap_or(u32::MAX).to_le_bytes());
    file.extend_from_slice(b"WEBPVP8X");
    file.extend_from_slice(&(header.len() as u32).to_le_bytes());
    file.extend_from_slice(&header);
    file.extend_from_slice(frame.chunks);
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exif_flag_is_read_from_the_extended_header() {
        let mut file = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0".to_vec();
        file.extend_from_slice(&[EXIF_FLAG, 0, 0, 0]);
        assert!(has_exif(&file));
        file[20] = 0x10; // alpha only
        assert!(!has_exif(&file));
        assert!(!has_exif(b"RIFF\0\0\0\0WEBPVP8 "));
    }

    /// A RIFF chunk with its even-length padding.
    fn chunk(code: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = code.to_vec();
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    #[test]
    fn the_first_frame_is_found_past_other_chunks() {
        let mut anmf = vec![3, 0, 0, 1, 0, 0, 9, 0, 0, 4, 0, 0, 100, 0, 0, 0];
        anmf.extend(chunk(b"VP8L", b"abc"));
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &[0x02, 0, 0, 0, 39, 0, 0, 29, 0, 0]));
        body.extend(chunk(b"ANIM", &[0; 6]));
        body.extend(chunk(b"ANMF", &anmf));
        body.extend(chunk(b"ANMF", &[0xEE; 20]));
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend(body);
        let frame = first_frame_chunk(&file).expect("frame found");
        assert_eq!((frame.x, frame.y, frame.width, frame.height), (6, 2, 10, 5));
        assert_eq!(frame.chunks, &chunk(b"VP8L", b"abc")[..]);
        // The still file wraps exactly those chunks, sized to the frame.
        let still = still_webp(&frame);
        assert_eq!(&still[12..16], b"VP8X");
        assert_eq!(still[20], 0x10, "lossless: alpha flag set");
        assert_eq!((u24(&still[24..27]), u24(&still[27..30])), (9, 4));
        assert!(still.ends_with(frame.chunks));
        assert_eq!(
            u32::from_le_bytes(still[4..8].try_into().unwrap()) as usize,
            still.len() - 8
        );
        // A cut container has no frame; nothing panics.
        for cut in 0..file.len() {
            let _ = first_frame_chunk(&file[..cut]);
        }
        assert_eq!(first_frame_chunk(&file[..40]), None);
    }

    #[test]
    fn animated_files_are_decoded_here_not_left_to_the_image_crate() {
        for path in [
            "/tests/data/webp/animated_offset_lossless.webp",
            "/../bench/pictures/animated_320x200.webp",
        ] {
            let bytes = std::fs::read(format!("{}{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            let picture = decode(&bytes, &DecodeOptions::default()).unwrap();
            assert!(picture.is_some(), "{path}");
        }
    }

    #[test]
    fn garbage_is_left_to_the_image_crate() {
        let options = DecodeOptions::default();
        assert_eq!(decode(b"RIFF\0\0\0\0WEBPVP8 junk", &options), Ok(None));
    }
}
