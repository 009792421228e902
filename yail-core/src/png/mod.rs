//! A fast path for the PNGs most pictures are: 8 bits per channel, not
//! interlaced, grey, grey with alpha, RGB or RGBA, without a transparency
//! key or EXIF block.
//!
//! Inflating the compressed data is most of a PNG's decoding time, and
//! libdeflate inflates a whole stream into a buffer of known size about
//! twice as fast as the `png` crate's streaming inflater on photos
//! (chelsea.png: 0.88 against 1.70 ms; docs/performance.md). Filters are
//! undone in place, rows moving down to their final position as they go.
//!
//! Anything else, and any file this path cannot read, is left to the
//! `image` crate (the caller gets `None`), which is also the reference this
//! path is tested against: for every file both accept, the pixels are
//! identical. Only the size checks answer with an error here, before any
//! pixel memory is reserved.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod sse2;

use crate::decode::{DecodeBuffers, DecodeOptions, composite};
use crate::error::Result;
use crate::picture::{Picture, PixelFormat};

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// [`decode_into`] with a new buffer.
#[cfg(test)]
pub(crate) fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<Option<Picture>> {
    decode_into(bytes, options, &mut DecodeBuffers::default())
}

/// Decodes `bytes` if they are a PNG of the common kind; `None` otherwise.
///
/// The pixels are inflated into `buffers.pixels`' memory, which the
/// picture then owns (for grey and RGB files) and the caller may hand back
/// for the next picture; otherwise `buffers` keeps it. A buffer that is
/// long enough is not cleared first: inflating writes every byte of it.
/// Image data split over several chunks is joined in `buffers.compressed`.
pub(crate) fn decode_into(
    bytes: &[u8],
    options: &DecodeOptions,
    buffers: &mut DecodeBuffers,
) -> Result<Option<Picture>> {
    let Some(rest) = bytes.strip_prefix(&SIGNATURE) else {
        return Ok(None);
    };
    let mut chunks = Chunks(rest);
    let Some(header) = chunks.next().and_then(Header::parse) else {
        return Ok(None);
    };
    options.check_size(header.width, header.height)?;
    let (width, height, channels) = (
        header.width as usize,
        header.height as usize,
        header.channels,
    );
    let stride = width * channels;
    let raw_len = (stride as u64 + 1) * height as u64;
    options.check_alloc(raw_len)?;
    let DecodeBuffers { pixels, compressed } = buffers;
    let Some(data) = image_data(chunks, compressed) else {
        return Ok(None);
    };
    let Some(stream) = deflate_stream(data) else {
        return Ok(None);
    };
    let raw_len = raw_len as usize;
    let mut raw = std::mem::take(pixels);
    if raw.capacity() < raw_len {
        // Growing would copy the old contents, which nobody needs.
        raw = vec![0u8; raw_len];
    } else if raw.len() < raw_len {
        raw.resize(raw_len, 0);
    }
    let mut inflater = libdeflater::Decompressor::new();
    let inflated = matches!(
        inflater.deflate_decompress(stream, &mut raw[..raw_len]),
        Ok(n) if n == raw_len
    );
    if !inflated || !unfilter(&mut raw[..raw_len], stride, height, channels) {
        *pixels = raw;
        return Ok(None);
    }
    raw.truncate(stride * height);
    let (format, pixels) = match channels {
        1 => (PixelFormat::Gray, raw),
        3 => (PixelFormat::Rgb, raw),
        _ => {
            let format = if channels == 2 {
                PixelFormat::Gray
            } else {
                PixelFormat::Rgb
            };
            let composited = composite(&raw, channels - 1);
            *pixels = raw;
            (format, composited)
        }
    };
    Ok(Picture::new(header.width, header.height, format, pixels).ok())
}

/// The deflate stream inside zlib-wrapped `data`, if the two-byte zlib
/// header is valid and asks for no preset dictionary.
///
/// The Adler-32 checksum at the end is not checked (it cost about 1 % of
/// a conversion). The `image` crate's decoder does not check it either,
/// so both paths accept the same files, and damaged data rarely inflates
/// to exactly the expected number of bytes: such a file is still left to
/// the general decoder.
fn deflate_stream(data: &[u8]) -> Option<&[u8]> {
    let [method, flags, ..] = *data else {
        return None;
    };
    let valid = method & 0x0F == 8
        && method >> 4 <= 7
        && flags & 0x20 == 0
        && (u16::from(method) << 8 | u16::from(flags)) % 31 == 0;
    valid.then(|| &data[2..])
}

/// The fields of IHDR this path needs, if it can handle the picture.
struct Header {
    width: u32,
    height: u32,
    channels: usize,
}

impl Header {
    fn parse((kind, data): ([u8; 4], &[u8])) -> Option<Header> {
        if &kind != b"IHDR" || data.len() != 13 {
            return None;
        }
        let word =
            |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let [depth, colour, compression, filtering, interlace] =
            [data[8], data[9], data[10], data[11], data[12]];
        let channels = match colour {
            0 => 1,
            2 => 3,
            4 => 2,
            6 => 4,
            _ => return None, // palette or invalid
        };
        (depth == 8 && compression == 0 && filtering == 0 && interlace == 0).then_some(Header {
            width: word(0),
            height: word(4),
            channels,
        })
    }
}

/// The chunks of a PNG after its signature, as (type, data); ends at the
/// first chunk that does not fit in the file.
struct Chunks<'a>(&'a [u8]);

impl<'a> Iterator for Chunks<'a> {
    type Item = ([u8; 4], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let length = u32::from_be_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let kind: [u8; 4] = self.0.get(4..8)?.try_into().ok()?;
        let data = self.0.get(8..8usize.checked_add(length)?)?;
        // Skip the CRC too; a damaged CRC with intact data still decodes.
        self.0 = self.0.get(12 + length..)?;
        Some((kind, data))
    }
}

/// The concatenated IDAT data, or `None` if the file has a chunk that
/// changes how pixels look (transparency key, EXIF orientation, an unknown
/// critical chunk) or no proper end.
fn image_data<'a>(chunks: Chunks<'a>, joined: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for (kind, data) in chunks {
        match &kind {
            b"IDAT" => parts.push(data),
            b"IEND" => {
                return match parts.as_slice() {
                    [] => None,
                    [one] => Some(one),
                    _ => {
                        joined.clear();
                        for part in &parts {
                            joined.extend_from_slice(part);
                        }
                        Some(joined)
                    }
                };
            }
            b"tRNS" | b"eXIf" | b"PLTE" => return None,
            // Ancillary chunks (lower-case first letter) do not change pixels.
            _ if kind[0].is_ascii_lowercase() => {}
            _ => return None,
        }
    }
    None
}

/// Undoes the row filters of `raw` (rows of a filter byte and `stride`
/// bytes) in place, moving row `y` to `y * stride` so the pixels end up
/// packed at the front. `false` if a row names an unknown filter.
fn unfilter(raw: &mut [u8], stride: usize, height: usize, bpp: usize) -> bool {
    let filter_of = |raw: &[u8], y: usize| raw[y * (stride + 1)];
    let mut y = 0;
    while y < height {
        let filter = filter_of(raw, y);
        // Rows in a row with the same predicting filter (Paeth or Average)
        // go through together, eight (Paeth only), four or two at a time;
        // the first row has none above.
        let run = if y > 0 && matches!(filter, 3 | 4) {
            (y..height.min(y + 8))
                .take_while(|&r| filter_of(raw, r) == filter)
                .count()
        } else {
            1
        };
        // Eight and four rows go to the vector code where it serves them,
        // else through portable pairs.
        let rows = match run {
            8 if filter == 4 => 8,
            4..=8 => 4,
            2 | 3 => 2,
            _ => 1,
        };
        for r in y..y + rows {
            let from = r * (stride + 1) + 1;
            raw.copy_within(from..from + stride, r * stride);
        }
        let (done, rest) = raw.split_at_mut(y * stride);
        let above = (y > 0).then(|| &done[(y - 1) * stride..]);
        let mut group = rest[..rows * stride].chunks_exact_mut(stride);
        let mut group = || group.next().unwrap_or_default();
        let paeth = filter == 4;
        let known = match (rows, above) {
            (8, Some(above)) => {
                let [r0, r1, r2, r3, r4, r5, r6, r7] = std::array::from_fn(|_| group());
                let eight = [
                    &mut *r0, &mut *r1, &mut *r2, &mut *r3, &mut *r4, &mut *r5, &mut *r6, &mut *r7,
                ];
                if !vector_eight(bpp, above, eight) {
                    four_rows(bpp, paeth, above, [r0, r1, r2, &mut *r3]);
                    four_rows(bpp, paeth, r3, [r4, r5, r6, r7]);
                }
                true
            }
            (4, Some(above)) => {
                four_rows(bpp, paeth, above, std::array::from_fn(|_| group()));
                true
            }
            (2, Some(above)) => {
                let [row, below] = std::array::from_fn(|_| group());
                if !vector_rows::<1, 2>(bpp, paeth, above, [&mut *row, &mut *below]) {
                    portable_pair(bpp, paeth, above, row, below);
                }
                true
            }
            (_, above) => match bpp {
                1 => unfilter_row::<1>(filter, group(), above),
                2 => unfilter_row::<2>(filter, group(), above),
                3 => unfilter_row::<3>(filter, group(), above),
                _ => unfilter_row::<4>(filter, group(), above),
            },
        };
        if !known {
            return false;
        }
        y += rows;
    }
    true
}

/// Four rows under `above` with the same filter, Paeth (`paeth`) or
/// Average: in vectors where the processor has them, else as two pairs.
fn four_rows(bpp: usize, paeth: bool, above: &[u8], rows: [&mut [u8]; 4]) {
    let [r0, r1, r2, r3] = rows;
    if !vector_rows::<2, 4>(bpp, paeth, above, [&mut *r0, &mut *r1, &mut *r2, &mut *r3]) {
        portable_pair(bpp, paeth, above, r0, r1);
        portable_pair(bpp, paeth, r1, r2, r3);
    }
}

/// [`avx2::unfilter_eight`] (eight Paeth rows) where there is such a
/// thing; `false` (nothing done) elsewhere.
fn vector_eight(bpp: usize, above: &[u8], rows: [&mut [u8]; 8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    return avx2::unfilter_eight(bpp, above, rows);
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// [`sse2::unfilter_rows`] where there is such a thing; `false` (nothing
/// done) elsewhere.
fn vector_rows<const V: usize, const ROWS: usize>(
    bpp: usize,
    paeth: bool,
    above: &[u8],
    rows: [&mut [u8]; ROWS],
) -> bool {
    #[cfg(target_arch = "x86_64")]
    return sse2::unfilter_rows::<V, ROWS>(bpp, paeth, above, rows);
    #[cfg(not(target_arch = "x86_64"))]
    return false;
}

/// [`unfilter_pair`] for `bpp` bytes per pixel.
fn portable_pair(bpp: usize, paeth: bool, above: &[u8], row: &mut [u8], below: &mut [u8]) {
    match bpp {
        1 => unfilter_pair::<1>(paeth, above, row, below),
        2 => unfilter_pair::<2>(paeth, above, row, below),
        3 => unfilter_pair::<3>(paeth, above, row, below),
        _ => unfilter_pair::<4>(paeth, above, row, below),
    }
}

/// Two consecutive rows with the same filter, Paeth or (`paeth` false)
/// Average (`row` under `above`, `below` under `row`), undone together.
///
/// Each pixel of such a row waits for the one to its left (about ten
/// dependent steps for Paeth, three for Average), which leaves the
/// processor mostly idle. The lower row only needs the upper row's pixels
/// up to its own position, so it runs one pixel behind in the same loop:
/// each step predicts the upper row's pixel `k` in lanes 0..4 and the lower
/// row's pixel `k - 1` in lanes 4..8 of eight 16-bit lanes, which the
/// compiler turns into vector instructions. What the lower row needs from
/// the upper one is the previous step's result, already in a register.
///
/// Measured (decode, minimum of 1500): astronaut.png (RGB, 392 Paeth rows
/// of 512) 1.05 to 0.86 ms, chelsea.png 1.40 to 1.31 ms, camera.png (grey)
/// 1.00 to 0.88 ms; pairing Average rows as well, coffee.png (287 of 400)
/// 2.20 to 2.10 ms, camera.png 0.88 to 0.85 ms. Pairing rows in scalar
/// code made RGB 5 % slower: the three channels of a pixel were already
/// independent chains, and six chains of scalar instructions were more
/// than the processor could issue.
///
/// On x86-64, RGB and RGBA rows go through [`sse2`] instead, in pairs or
/// fours, which moves bytes into lanes with fewer instructions. This loop
/// serves grey images (where it is as fast), other processors, and is the
/// reference that one is tested against.
fn unfilter_pair<const BPP: usize>(paeth: bool, above: &[u8], row: &mut [u8], below: &mut [u8]) {
    if paeth {
        pair_with::<BPP>(above, row, below, paeth_lanes);
    } else {
        pair_with::<BPP>(above, row, below, |a, b, _| {
            std::array::from_fn(|i| (a[i] + b[i]) >> 1)
        });
    }
}

/// The Paeth predictor lane by lane, in the same branch-free form as
/// [`paeth`], from left `a`, above `b` and upper-left `c`.
#[inline(always)]
fn paeth_lanes(a: &[i16; 8], b: &[i16; 8], c: &[i16; 8]) -> [i16; 8] {
    let t: [i16; 8] = std::array::from_fn(|i| 3 * c[i] - (a[i] + b[i]));
    let low: [i16; 8] = std::array::from_fn(|i| a[i].min(b[i]));
    let high: [i16; 8] = std::array::from_fn(|i| a[i].max(b[i]));
    let otherwise: [i16; 8] = std::array::from_fn(|i| if high[i] <= t[i] { low[i] } else { c[i] });
    std::array::from_fn(|i| {
        if t[i] <= low[i] {
            high[i]
        } else {
            otherwise[i]
        }
    })
}

/// [`unfilter_pair`] with the predictor `predict(left, above, upper_left)`.
#[inline(always)]
fn pair_with<const BPP: usize>(
    above: &[u8],
    row: &mut [u8],
    below: &mut [u8],
    predict: impl Fn(&[i16; 8], &[i16; 8], &[i16; 8]) -> [i16; 8],
) {
    const { assert!(BPP <= 4) };
    let pixels = row.len() / BPP;
    if pixels == 0 {
        return;
    }
    let mut a = [0i16; 8];
    let mut c = [0i16; 8];
    // Left, above and upper-left neighbours per lane; `x` is the filtered
    // byte.
    let step = |a: &[i16; 8], b: &[i16; 8], c: &[i16; 8], x: &[i16; 8]| -> [i16; 8] {
        let predicted = predict(a, b, c);
        std::array::from_fn(|i| (x[i] + predicted[i]) & 0xFF)
    };
    // The upper row's first pixel alone (the lower row's lanes compute
    // zeros, which are its left and upper-left neighbours at its start).
    let (b, x) = gather::<BPP>(Some((&above[..BPP], &row[..BPP])), None, &a);
    let out = step(&a, &b, &c, &x);
    put(&mut row[..BPP], &out[..4]);
    (a, c) = (out, b);
    for k in 1..pixels {
        let at = k * BPP..(k + 1) * BPP;
        let (b, x) = gather::<BPP>(
            Some((&above[at.clone()], &row[at.clone()])),
            Some(&below[at.start - BPP..at.start]),
            &a,
        );
        let out = step(&a, &b, &c, &x);
        put(&mut row[at.clone()], &out[..4]);
        put(&mut below[at.start - BPP..at.start], &out[4..]);
        (a, c) = (out, b);
    }
    // The lower row's last pixel alone.
    let last = (pixels - 1) * BPP..pixels * BPP;
    let (b, x) = gather::<BPP>(None, Some(&below[last.clone()]), &a);
    let out = step(&a, &b, &c, &x);
    put(&mut below[last], &out[4..]);
}

/// Writes a pixel's lanes (bytes kept in 16 bits) back as bytes.
#[inline(always)]
fn put(pixel: &mut [u8], lanes: &[i16]) {
    for (p, &v) in pixel.iter_mut().zip(lanes) {
        *p = v as u8;
    }
}

/// The lanes of one [`pair_with`] step: above-neighbours `b` and filtered
/// bytes `x`, lanes 0..4 from the upper row (`up` over `px`), lanes 4..8
/// from the lower row's `low`, whose above-neighbour is the upper row's
/// previous pixel, `a`'s lanes 0..4. Lanes without a pixel stay zero.
#[inline(always)]
fn gather<const BPP: usize>(
    upper: Option<(&[u8], &[u8])>,
    lower: Option<&[u8]>,
    a: &[i16; 8],
) -> ([i16; 8], [i16; 8]) {
    let (mut b, mut x) = ([0i16; 8], [0i16; 8]);
    if let Some((up, px)) = upper {
        for i in 0..BPP {
            b[i] = i16::from(up[i]);
            x[i] = i16::from(px[i]);
        }
    }
    if let Some(low) = lower {
        for i in 0..BPP {
            b[4 + i] = a[i];
            x[4 + i] = i16::from(low[i]);
        }
    }
    (b, x)
}

/// One row's filter undone; `above` is the previous row, already undone
/// (`None` on the first row, where it counts as zeros).
#[inline(always)]
fn unfilter_row<const BPP: usize>(filter: u8, row: &mut [u8], above: Option<&[u8]>) -> bool {
    match (filter, above) {
        (0, _) | (2, None) => {}
        (1, _) | (4, None) => {
            let mut left = [0u8; BPP];
            for px in row.chunks_exact_mut(BPP) {
                for c in 0..BPP {
                    left[c] = px[c].wrapping_add(left[c]);
                    px[c] = left[c];
                }
            }
        }
        (2, Some(above)) => {
            for (x, b) in row.iter_mut().zip(above) {
                *x = x.wrapping_add(*b);
            }
        }
        (3, above) => {
            let mut left = [0u8; BPP];
            let zeros = [0u8; BPP];
            let above_pixels = above.map(|a| a.chunks_exact(BPP));
            let mut above_pixels = above_pixels.into_iter().flatten();
            for px in row.chunks_exact_mut(BPP) {
                let up = above_pixels.next().unwrap_or(&zeros);
                for c in 0..BPP {
                    let mean = (u16::from(left[c]) + u16::from(up[c])) / 2;
                    left[c] = px[c].wrapping_add(mean as u8);
                    px[c] = left[c];
                }
            }
        }
        (4, Some(above)) => {
            // Left and upper-left stay in registers, already widened: going
            // through memory would chain every byte to the store before it.
            let mut left = [0i16; BPP];
            let mut upper_left = [0i16; BPP];
            for (px, up) in row.chunks_exact_mut(BPP).zip(above.chunks_exact(BPP)) {
                for c in 0..BPP {
                    let b = i16::from(up[c]);
                    px[c] = px[c].wrapping_add(paeth(left[c], b, upper_left[c]));
                    left[c] = i16::from(px[c]);
                    upper_left[c] = b;
                }
            }
        }
        _ => return false,
    }
    true
}

/// The Paeth predictor: whichever of left `a`, above `b` and upper-left `c`
/// is closest to `a + b - c`, ties in that order.
///
/// Written in the branch-free form of stb_image (public domain): with
/// `t = 3 * upper_left - (left + above)`, the answer is the larger of left
/// and above if `t` is at most the smaller, else the smaller if the larger
/// is at most `t`, else upper-left. On photos the choice is close to random,
/// so branches would mispredict; this compiles to conditional moves and has
/// a short dependency chain through `left`, which each pixel waits for.
#[inline(always)]
fn paeth(a: i16, b: i16, c: i16) -> u8 {
    let threshold = 3 * c - (a + b);
    let (low, high) = (a.min(b), a.max(b));
    let otherwise = if high <= threshold { low } else { c };
    (if threshold <= low { high } else { otherwise }) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn paeth_matches_the_specification() {
        // The specification's form, with p = a + b - c.
        fn spec(a: u8, b: u8, c: u8) -> u8 {
            let p = i32::from(a) + i32::from(b) - i32::from(c);
            let (pa, pb, pc) = (
                (p - i32::from(a)).abs(),
                (p - i32::from(b)).abs(),
                (p - i32::from(c)).abs(),
            );
            if pa <= pb && pa <= pc {
                a
            } else if pb <= pc {
                b
            } else {
                c
            }
        }
        for a in (0..=255u8).step_by(5) {
            for b in (0..=255u8).step_by(3) {
                for c in 0..=255u8 {
                    assert_eq!(
                        paeth(i16::from(a), i16::from(b), i16::from(c)),
                        spec(a, b, c),
                        "{a} {b} {c}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn grouped_rows_match_row_by_row(
            bpp in 1usize..=4,
            width in 1usize..30,
            runs in proptest::collection::vec(
                (proptest::sample::select(vec![0u8, 1, 2, 3, 4]), 1usize..11),
                1..6,
            ),
            seed in proptest::prelude::any::<u64>(),
        ) {
            // Runs of one filter, so that groups of two, four and eight rows, and
            // the rows left over after them, all come up.
            let filters: Vec<u8> = runs.iter().flat_map(|&(f, n)| std::iter::repeat_n(f, n)).collect();
            let (stride, height) = (width * bpp, filters.len());
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut raw: Vec<u8> = Vec::with_capacity(height * (stride + 1));
            for &f in &filters {
                raw.push(f);
                raw.extend((0..stride).map(|_| rng.u8(..)));
            }
            // Row by row, never paired.
            let mut plain = vec![0u8; stride * height];
            for (y, &f) in filters.iter().enumerate() {
                let from = y * (stride + 1) + 1;
                let (done, rest) = plain.split_at_mut(y * stride);
                rest[..stride].copy_from_slice(&raw[from..from + stride]);
                let above = (y > 0).then(|| &done[(y - 1) * stride..]);
                let row = &mut rest[..stride];
                match bpp {
                    1 => unfilter_row::<1>(f, row, above),
                    2 => unfilter_row::<2>(f, row, above),
                    3 => unfilter_row::<3>(f, row, above),
                    _ => unfilter_row::<4>(f, row, above),
                };
            }
            proptest::prop_assert!(unfilter(&mut raw, stride, height, bpp));
            proptest::prop_assert_eq!(&raw[..stride * height], &plain[..]);
        }
    }

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
        use crate::decode::decode_with_image;
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
                let reference =
                    decode_with_image(&bytes, image::ImageFormat::Png, &options).unwrap();
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

        #[test]
        fn a_wrong_adler_checksum_decodes_as_the_image_crate_decodes_it() {
            let data: Vec<u8> = (0..3 * 16 * 4).map(|i| (i * 7) as u8).collect();
            let mut bytes = encode(
                16,
                4,
                image::ExtendedColorType::Rgb8,
                FilterType::Paeth,
                &data,
            );
            // The checksum is the last four bytes of the (single) IDAT's data.
            let at = bytes.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
            let length = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let end = at + 8 + length;
            bytes[end - 1] ^= 0x55;
            let crc = crc32fast::hash(&bytes[at + 4..end]);
            bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
            let options = DecodeOptions::default();
            let fast = decode(&bytes, &options).unwrap();
            let reference = decode_with_image(&bytes, image::ImageFormat::Png, &options).ok();
            assert_eq!(fast, reference);
            assert!(fast.is_some_and(|p| p.data() == &data[..]));
        }

        #[test]
        fn zlib_headers_are_checked() {
            // Deflate with a 32 KiB window, any level: accepted.
            for header in [[0x78, 0x01], [0x78, 0x5E], [0x78, 0x9C], [0x78, 0xDA]] {
                assert_eq!(deflate_stream(&[header[0], header[1], 7]), Some(&[7u8][..]));
            }
            // A broken header check, a preset dictionary, another method,
            // a window over 32 KiB, too short.
            for bad in [
                &[0x78, 0x9D][..],
                &[0x78, 0xBB],
                &[0x79, 0x9C],
                &[0x88, 0x98],
                &[0x78],
            ] {
                assert_eq!(deflate_stream(bad), None, "{bad:?}");
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
}
