//! The JPEG paths that do less work than a full decode: reduced DCT scale
//! for large pictures, the luma plane alone for grey modes, and, for large
//! progressive files, the DC scans alone (grey modes) or the scans without
//! their AC refinements (colour modes).

use std::io::Cursor;

use image::metadata::Orientation;

use super::options::{DecodeOptions, Target};
use super::pixels::orient;
use crate::error::{Error, Result};
use crate::fit::Fit;
use crate::picture::{Picture, PixelFormat};

/// A reduced-scale JPEG decode keeps at least this many decoded pixels per
/// output pixel along each axis, so the final resize still filters properly.
const DCT_MARGIN: f64 = 2.0;

/// The margin for decoding a progressive JPEG from its DC scans alone
/// (1/8 scale). Lower than [`DCT_MARGIN`]: skipping the AC scans saves
/// three quarters of the decoding (docs/performance.md), worth a little
/// softness from resizing 8x8 block means by 1.5x or more in grey modes.
const DC_ONLY_MARGIN: f64 = 1.5;

/// Whether a JPEG's end-of-image marker is present near its end (it cannot
/// occur inside entropy-coded data, where `FF` is always followed by `00`
/// or a restart marker).
pub(crate) fn has_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Decodes a JPEG at a reduced DCT scale when the target needs at most half
/// its size. Returns `None` when that does not apply (small picture, CMYK,
/// 16-bit), so the general path handles it.
pub(crate) fn decode_scaled(
    bytes: &[u8],
    target: Target,
    options: &DecodeOptions,
) -> Result<Option<Picture>> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    if decoder.read_info().is_err() {
        // Let the general decoder produce the error message.
        return Ok(None);
    }
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    options.check_size(width, height)?;
    let format = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => PixelFormat::Grey,
        jpeg_decoder::PixelFormat::RGB24 => PixelFormat::Rgb,
        _ => return Ok(None),
    };
    let orientation = decoder
        .exif_data()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    // The target is in display orientation; the decoder works in file orientation.
    let (tw, th) = match orientation {
        Orientation::Rotate90
        | Orientation::Rotate270
        | Orientation::Rotate90FlipH
        | Orientation::Rotate270FlipH => (target.height, target.width),
        _ => (target.width, target.height),
    };
    let (fw, fh) = (f64::from(width), f64::from(height));
    let (sx, sy) = {
        let (x, y) = (f64::from(tw) / fw, f64::from(th) / fh);
        match target.fit {
            Fit::Letterbox => (x.min(y), x.min(y)),
            Fit::Crop => (x.max(y), x.max(y)),
            Fit::Stretch => (x, y),
        }
    };
    let (mut need_w, mut need_h) = ((fw * sx * DCT_MARGIN).ceil(), (fh * sy * DCT_MARGIN).ceil());
    if need_w * 2.0 > fw || need_h * 2.0 > fh {
        // Not even half scale would do: decode normally.
        return Ok(None);
    }
    // A progressive file stores all DC coefficients first; at 1/8 scale
    // nothing else is used, so the AC scans (most of the file) can be
    // dropped unread. The pixels are the same as from the whole file.
    // Only for the grey modes: their coarse pixels lose at most 0.15 dB
    // this way, where VBXE would lose 2.7 dB (docs/performance.md).
    let dc_only_fits =
        target.grey && sx * DC_ONLY_MARGIN * 8.0 <= 1.0 && sy * DC_ONLY_MARGIN * 8.0 <= 1.0;
    // A colour mode at a quarter scale or less reads a progressive file
    // without its AC refinement scans: each AC coefficient then lacks its
    // last bit or two, which a 4x4-pixel-per-block picture barely shows
    // (VBXE 0.2 dB lower on a 4000x3000 photo), for half the decoding
    // time (the refinement scans are most of the entropy decoding).
    let coarse_ac_fits = !target.grey && need_w * 4.0 <= fw && need_h * 4.0 <= fh;
    let kept_bytes;
    if info.coding_process == jpeg_decoder::CodingProcess::DctProgressive
        && (dc_only_fits || coarse_ac_fits)
    {
        let kept = if dc_only_fits {
            dc_scans_only(bytes)
        } else {
            without_ac_refinements(bytes)
        };
        if let Some(kept) = kept {
            kept_bytes = kept;
            decoder = jpeg_decoder::Decoder::new(Cursor::new(&kept_bytes[..]));
            if decoder.read_info().is_err() {
                return Ok(None);
            }
            if dc_only_fits {
                (need_w, need_h) = ((fw / 8.0).ceil(), (fh / 8.0).ceil());
            }
        }
    }
    let request = |v: u32| u16::try_from(v.max(1)).unwrap_or(u16::MAX);
    let (sw, sh) = decoder
        .scale(request(need_w as u32), request(need_h as u32))
        .map_err(|e| Error::Malformed(e.to_string()))?;
    let channels = format.channels() as u64;
    options.check_alloc(u64::from(sw) * u64::from(sh) * channels)?;
    decoder.set_max_decoding_buffer_size(usize::try_from(options.max_alloc).unwrap_or(usize::MAX));
    let pixels = decoder.decode().map_err(|e| match e {
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Malformed("the file ends too early".into())
        }
        other => Error::Malformed(other.to_string()),
    })?;
    let picture = Picture::new(u32::from(sw), u32::from(sh), format, pixels)
        .map_err(|e| Error::Malformed(e.to_string()))?;
    Ok(Some(orient(picture, orientation)))
}

/// The JPEG with its AC scans left out (every scan whose spectral
/// selection starts above 0), or `None` if its segments cannot be followed
/// to the end-of-image marker; the caller then decodes the whole file.
fn dc_scans_only(bytes: &[u8]) -> Option<Vec<u8>> {
    scans_kept(bytes, |scan| scan.spectral_start == 0)
}

/// The JPEG with its AC refinement scans left out (spectral selection
/// above 0 and a successive-approximation high bit above 0): every
/// coefficient is still there, its least significant bits missing. `None`
/// as for [`dc_scans_only`].
fn without_ac_refinements(bytes: &[u8]) -> Option<Vec<u8>> {
    scans_kept(bytes, |scan| scan.spectral_start == 0 || scan.refines == 0)
}

/// What decides whether a progressive scan is kept.
#[derive(Debug, Clone, Copy)]
struct ScanKind {
    /// The first coefficient (zig-zag order) the scan carries; 0 for DC.
    spectral_start: u8,
    /// The bit position the scan refines (`Ah`); 0 for a first pass.
    refines: u8,
}

/// The JPEG with the scans `keep` refuses left out, every other segment
/// copied, or `None` if its segments cannot be followed to the
/// end-of-image marker.
fn scans_kept(bytes: &[u8], keep: impl Fn(ScanKind) -> bool) -> Option<Vec<u8>> {
    const START: [u8; 2] = [0xFF, 0xD8];
    const END: [u8; 2] = [0xFF, 0xD9];
    const SCAN: u8 = 0xDA;
    if !bytes.starts_with(&START) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4);
    out.extend_from_slice(&START);
    let mut at = START.len();
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        // Any number of fill bytes may precede a marker.
        while *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        let marker = bytes[at + 1];
        if marker == END[1] {
            break;
        }
        if matches!(marker, 0x00 | 0x01 | 0xD0..=0xD8) {
            // Stand-alone markers have no length; outside a scan they
            // mean an odd file.
            return None;
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let header_end = at.checked_add(2 + length)?;
        let header = bytes.get(at..header_end)?;
        let mut end = header_end;
        if marker == SCAN {
            end = scan_end(bytes, header_end);
            // Marker, length, component count, two bytes per component,
            // then Ss, Se and Ah/Al.
            let components = usize::from(*header.get(4)?);
            let kind = ScanKind {
                spectral_start: *header.get(5 + 2 * components)?,
                refines: *header.get(7 + 2 * components)? >> 4,
            };
            if !keep(kind) {
                at = end;
                continue;
            }
        }
        out.extend_from_slice(&bytes[at..end]);
        at = end;
    }
    out.extend_from_slice(&END);
    Some(out)
}

/// Whether the luma-only decode may be trusted with this file's scans: a
/// progressive file (it has AC scans) or a sequential one with its single
/// scan. zune-jpeg draws a sequential file whose components come again in
/// a second scan differently in luma and in colour (fuzz finding 5 in
/// `docs/security.md`), and a file whose segments cannot be followed is
/// damaged; the colour decode, which every other mode sees, handles both.
fn scans_suit_luma(bytes: &[u8]) -> bool {
    let scans = std::cell::Cell::new(0u32);
    let ac_scans = std::cell::Cell::new(0u32);
    // Keeping no scan: only the headers are copied.
    let followed = scans_kept(bytes, |scan| {
        scans.set(scans.get() + 1);
        if scan.spectral_start > 0 {
            ac_scans.set(ac_scans.get() + 1);
        }
        false
    });
    followed.is_some() && (scans.get() == 1 || ac_scans.get() > 0)
}

/// Where the entropy-coded data from `from` ends: at the first marker that
/// is neither a stuffed zero (`FF 00`) nor a restart marker.
fn scan_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(offset) = bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
    {
        at += offset;
        match bytes.get(at + 1) {
            Some(0x00 | 0xD0..=0xD7) => at += 2,
            Some(_) => return at,
            None => break,
        }
    }
    bytes.len()
}

/// Decodes only the luma plane of a JPEG, for callers that need grey: the
/// colour planes are entropy-decoded (they are interleaved with it) but not
/// transformed or converted, about a fifth less work for a photo and half
/// for a large one. JPEG's Y is the Rec. 601 luma
/// of the colours, so this is the grey the pipeline would compute. `None`
/// for what this path does not handle (CMYK, damaged files): the general
/// path decodes those and words their errors.
pub(crate) fn decode_luma(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Picture>> {
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::DecoderOptions;

    if !scans_suit_luma(bytes) {
        return Ok(None);
    }
    // Strict: zune-jpeg hides damage (a bad Huffman code, a stray marker)
    // by ending the picture early and painting the rest, and it does so
    // differently when it skips the colour planes, so a damaged file would
    // look different in grey and colour modes (fuzz finding, test
    // `differential::damaged_jpeg_found_by_fuzzing_decodes_to_the_same_luma`).
    // Strict, it reports the damage instead, and the general path decodes
    // the file in colour as every other mode does.
    let settings = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(options.max_width as usize)
        .set_max_height(options.max_height as usize)
        .jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), settings);
    if decoder.decode_headers().is_err() {
        return Ok(None);
    }
    let (Some((width, height)), Some(colour)) = (decoder.dimensions(), decoder.input_colorspace())
    else {
        return Ok(None);
    };
    if !matches!(colour, ColorSpace::YCbCr | ColorSpace::Luma) {
        return Ok(None);
    }
    let (width, height) = (width as u32, height as u32);
    options.check_size(width, height)?;
    options.check_alloc(u64::from(width) * u64::from(height))?;
    let orientation = decoder
        .exif()
        .and_then(|exif| Orientation::from_exif_chunk(exif))
        .unwrap_or(Orientation::NoTransforms);
    let Ok(pixels) = decoder.decode() else {
        return Ok(None);
    };
    Ok(Picture::new(width, height, PixelFormat::Grey, pixels)
        .ok()
        .map(|picture| orient(picture, orientation)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/formats/");
        std::fs::read(format!("{path}{name}")).unwrap()
    }

    fn decode_eighth(bytes: &[u8]) -> Vec<u8> {
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
        decoder.read_info().unwrap();
        decoder.scale(1, 1).unwrap();
        decoder.decode().unwrap()
    }

    #[test]
    fn dc_scans_give_the_same_eighth_scale_picture() {
        let whole = fixture("progressive.jpg");
        let dc = dc_scans_only(&whole).expect("segments followed");
        // A 32x24 file is mostly tables; in a photo the AC scans dominate.
        assert!(
            dc.len() < whole.len(),
            "{} of {} bytes",
            dc.len(),
            whole.len()
        );
        assert_eq!(decode_eighth(&dc), decode_eighth(&whole));
    }

    #[test]
    fn the_luma_path_takes_whole_files_and_leaves_a_repeated_scan() {
        let options = DecodeOptions::default();
        for name in ["baseline.jpg", "progressive.jpg", "exif_rotated_big.jpg"] {
            let decoded = decode_luma(&fixture(name), &options).unwrap();
            assert!(decoded.is_some(), "{name}");
        }
        let twice = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/fuzz/diff_jpeg_luma_strict_mode.jpg"
        ))
        .unwrap();
        assert!(!scans_suit_luma(&twice));
        assert!(decode_luma(&twice, &options).unwrap().is_none());
    }

    #[test]
    fn baseline_files_keep_their_one_scan() {
        let whole = fixture("baseline.jpg");
        assert_eq!(dc_scans_only(&whole).map(|dc| dc.len()), Some(whole.len()));
        assert_eq!(
            without_ac_refinements(&whole).map(|kept| kept.len()),
            Some(whole.len())
        );
    }

    #[test]
    fn without_ac_refinements_a_quarter_scale_picture_stays_close() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../bench/pictures/progressive_1024.jpg"
        );
        let whole = std::fs::read(path).unwrap();
        let kept = without_ac_refinements(&whole).expect("segments followed");
        // The refinement scans are a large part of a progressive photo.
        assert!(
            kept.len() * 4 < whole.len() * 3,
            "{} of {} bytes",
            kept.len(),
            whole.len()
        );
        let quarter = |bytes: &[u8]| {
            let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
            decoder.read_info().unwrap();
            decoder.scale(256, 171).unwrap();
            decoder.decode().unwrap()
        };
        let (a, b) = (quarter(&kept), quarter(&whole));
        assert_eq!(a.len(), b.len());
        // Only the low bits of AC coefficients are missing.
        let mean = a
            .iter()
            .zip(&b)
            .map(|(x, y)| f64::from(x.abs_diff(*y)))
            .sum::<f64>()
            / a.len() as f64;
        assert!(mean < 1.0 && a != b, "mean difference {mean:.3}");
    }

    proptest! {
        #[test]
        fn damaged_files_never_panic(cut in 0usize..4000, flips in prop::collection::vec((0usize..4000, any::<u8>()), 0..4)) {
            let mut bytes = fixture("progressive.jpg");
            for (at, value) in flips {
                let n = bytes.len();
                bytes[at % n] = value;
            }
            bytes.truncate(cut.min(bytes.len()));
            let _ = dc_scans_only(&bytes);
        }
    }
}
