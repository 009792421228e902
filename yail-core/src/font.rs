//! A small bitmap font, and frames with a message drawn in it.
//!
//! Some clients read nothing but 8800-byte frames in some loops (the
//! current client's video loop parses no error block), so a server that
//! must tell such a client something draws the words into a frame. The
//! glyphs are this project's own: five pixels wide and seven tall (plus a
//! row for descenders) in an 8x8 cell, for ASCII 32 to 126.

use yail_proto::{ANTIC_PAYLOAD_LEN, Geometry, GfxMode, Packet, PacketVersion};

use crate::modes::pack;

/// Glyphs for ASCII 32..=126 in order: eight rows of five columns, top row
/// first, `#` lit. Drawn for this project.
const GLYPHS: [&str; 95] = [
    ".....|.....|.....|.....|.....|.....|.....|.....", // space
    "..#..|..#..|..#..|..#..|..#..|.....|..#..|.....", // !
    ".#.#.|.#.#.|.#.#.|.....|.....|.....|.....|.....", // "
    ".#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.|.....", // #
    "..#..|.####|#.#..|.###.|..#.#|####.|..#..|.....", // $
    "##...|##..#|...#.|..#..|.#...|#..##|...##|.....", // %
    ".##..|#..#.|#.#..|.#...|#.#.#|#..#.|.##.#|.....", // &
    "..#..|..#..|.#...|.....|.....|.....|.....|.....", // '
    "...#.|..#..|.#...|.#...|.#...|..#..|...#.|.....", // (
    ".#...|..#..|...#.|...#.|...#.|..#..|.#...|.....", // )
    ".....|..#..|#.#.#|.###.|#.#.#|..#..|.....|.....", // *
    ".....|..#..|..#..|#####|..#..|..#..|.....|.....", // +
    ".....|.....|.....|.....|.....|..#..|..#..|.#...", // ,
    ".....|.....|.....|#####|.....|.....|.....|.....", // -
    ".....|.....|.....|.....|.....|.##..|.##..|.....", // .
    ".....|....#|...#.|..#..|.#...|#....|.....|.....", // /
    ".###.|#...#|#..##|#.#.#|##..#|#...#|.###.|.....", // 0
    "..#..|.##..|..#..|..#..|..#..|..#..|.###.|.....", // 1
    ".###.|#...#|....#|...#.|..#..|.#...|#####|.....", // 2
    "#####|...#.|..#..|...#.|....#|#...#|.###.|.....", // 3
    "...#.|..##.|.#.#.|#..#.|#####|...#.|...#.|.....", // 4
    "#####|#....|####.|....#|....#|#...#|.###.|.....", // 5
    "..##.|.#...|#....|####.|#...#|#...#|.###.|.....", // 6
    "#####|....#|...#.|..#..|.#...|.#...|.#...|.....", // 7
    ".###.|#...#|#...#|.###.|#...#|#...#|.###.|.....", // 8
    ".###.|#...#|#...#|.####|....#|...#.|.##..|.....", // 9
    ".....|.##..|.##..|.....|.##..|.##..|.....|.....", // :
    ".....|.##..|.##..|.....|.##..|.##..|..#..|.#...", // ;
    "...#.|..#..|.#...|#....|.#...|..#..|...#.|.....", // <
    ".....|.....|#####|.....|#####|.....|.....|.....", // =
    ".#...|..#..|...#.|....#|...#.|..#..|.#...|.....", // >
    ".###.|#...#|....#|...#.|..#..|.....|..#..|.....", // ?
    ".###.|#...#|....#|.##.#|#.#.#|#.#.#|.###.|.....", // @
    ".###.|#...#|#...#|#####|#...#|#...#|#...#|.....", // A
    "####.|#...#|#...#|####.|#...#|#...#|####.|.....", // B
    ".###.|#...#|#....|#....|#....|#...#|.###.|.....", // C
    "###..|#..#.|#...#|#...#|#...#|#..#.|###..|.....", // D
    "#####|#....|#....|####.|#....|#....|#####|.....", // E
    "#####|#....|#....|####.|#....|#....|#....|.....", // F
    ".###.|#...#|#....|#.###|#...#|#...#|.####|.....", // G
    "#...#|#...#|#...#|#####|#...#|#...#|#...#|.....", // H
    ".###.|..#..|..#..|..#..|..#..|..#..|.###.|.....", // I
    "..###|...#.|...#.|...#.|...#.|#..#.|.##..|.....", // J
    "#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#|.....", // K
    "#....|#....|#....|#....|#....|#....|#####|.....", // L
    "#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#|.....", // M
    "#...#|#...#|##..#|#.#.#|#..##|#...#|#...#|.....", // N
    ".###.|#...#|#...#|#...#|#...#|#...#|.###.|.....", // O
    "####.|#...#|#...#|####.|#....|#....|#....|.....", // P
    ".###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#|.....", // Q
    "####.|#...#|#...#|####.|#.#..|#..#.|#...#|.....", // R
    ".####|#....|#....|.###.|....#|....#|####.|.....", // S
    "#####|..#..|..#..|..#..|..#..|..#..|..#..|.....", // T
    "#...#|#...#|#...#|#...#|#...#|#...#|.###.|.....", // U
    "#...#|#...#|#...#|#...#|#...#|.#.#.|..#..|.....", // V
    "#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.|.....", // W
    "#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#|.....", // X
    "#...#|#...#|.#.#.|..#..|..#..|..#..|..#..|.....", // Y
    "#####|....#|...#.|..#..|.#...|#....|#####|.....", // Z
    ".###.|.#...|.#...|.#...|.#...|.#...|.###.|.....", // [
    ".....|#....|.#...|..#..|...#.|....#|.....|.....", // backslash
    ".###.|...#.|...#.|...#.|...#.|...#.|.###.|.....", // ]
    "..#..|.#.#.|#...#|.....|.....|.....|.....|.....", // ^
    ".....|.....|.....|.....|.....|.....|.....|#####", // _
    ".#...|..#..|...#.|.....|.....|.....|.....|.....", // `
    ".....|.....|.###.|....#|.####|#...#|.####|.....", // a
    "#....|#....|#.##.|##..#|#...#|#...#|####.|.....", // b
    ".....|.....|.###.|#....|#....|#...#|.###.|.....", // c
    "....#|....#|.##.#|#..##|#...#|#...#|.####|.....", // d
    ".....|.....|.###.|#...#|#####|#....|.###.|.....", // e
    "..##.|.#..#|.#...|###..|.#...|.#...|.#...|.....", // f
    ".....|.....|.####|#...#|#...#|.####|....#|.###.", // g
    "#....|#....|#.##.|##..#|#...#|#...#|#...#|.....", // h
    "..#..|.....|.##..|..#..|..#..|..#..|.###.|.....", // i
    "...#.|.....|..##.|...#.|...#.|...#.|#..#.|.##..", // j
    "#....|#....|#..#.|#.#..|##...|#.#..|#..#.|.....", // k
    ".##..|..#..|..#..|..#..|..#..|..#..|.###.|.....", // l
    ".....|.....|##.#.|#.#.#|#.#.#|#...#|#...#|.....", // m
    ".....|.....|#.##.|##..#|#...#|#...#|#...#|.....", // n
    ".....|.....|.###.|#...#|#...#|#...#|.###.|.....", // o
    ".....|.....|####.|#...#|#...#|####.|#....|#....", // p
    ".....|.....|.####|#...#|#...#|.####|....#|....#", // q
    ".....|.....|#.##.|##..#|#....|#....|#....|.....", // r
    ".....|.....|.####|#....|.###.|....#|####.|.....", // s
    ".#...|.#...|###..|.#...|.#...|.#..#|..##.|.....", // t
    ".....|.....|#...#|#...#|#...#|#..##|.##.#|.....", // u
    ".....|.....|#...#|#...#|#...#|.#.#.|..#..|.....", // v
    ".....|.....|#...#|#...#|#.#.#|#.#.#|.#.#.|.....", // w
    ".....|.....|#...#|.#.#.|..#..|.#.#.|#...#|.....", // x
    ".....|.....|#...#|#...#|#...#|.####|....#|.###.", // y
    ".....|.....|#####|...#.|..#..|.#...|#####|.....", // z
    "...#.|..#..|..#..|.#...|..#..|..#..|...#.|.....", // {
    "..#..|..#..|..#..|..#..|..#..|..#..|..#..|.....", // |
    ".#...|..#..|..#..|...#.|..#..|..#..|.#...|.....", // }
    ".....|.....|.#...|#.#.#|...#.|.....|.....|.....", // ~
];

/// Width and height of a character cell in pixels.
pub const CELL: usize = 8;

/// The 8x8 cell of `c`, one byte per row from the top, leftmost pixel in
/// bit 7. Characters outside ASCII 32..=126 are drawn as `?`.
pub fn glyph(c: char) -> [u8; CELL] {
    let index = match u32::from(c) {
        code @ 32..=126 => (code - 32) as usize,
        _ => usize::from(b'?' - 32),
    };
    let mut rows = [0u8; CELL];
    for (row, pattern) in rows.iter_mut().zip(GLYPHS[index].split('|')) {
        // Columns 1..=5 of the cell: one blank column on the left and two
        // on the right keep neighbouring characters apart.
        *row = pattern
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'#')
            .fold(0u8, |byte, (x, _)| byte | (0x40 >> x));
    }
    rows
}

/// Breaks `message` into lines of at most `columns` characters at spaces;
/// a word longer than a line is split. At most `max_lines` lines are kept,
/// the last one ending in `...` when text was left out.
fn wrap(message: &str, columns: usize, max_lines: usize) -> Vec<Vec<char>> {
    let mut lines: Vec<Vec<char>> = Vec::new();
    let mut line: Vec<char> = Vec::new();
    for word in message.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        if !line.is_empty() && line.len() + 1 + word.len() > columns {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        while line.len() + word.len() > columns {
            let room = columns - line.len();
            line.extend(word.drain(..room));
            lines.push(std::mem::take(&mut line));
        }
        line.extend(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            last.truncate(columns.saturating_sub(3));
            last.extend("...".chars());
        }
    }
    lines
}

/// The 8800-byte payload of a `mode` frame showing `message` in light
/// letters on black, word-wrapped and centred, or `None` for modes whose
/// packets are not a single 8800-byte frame (Graphics 10, VBXE, random).
///
/// The screen is always 220 rows; the wider a mode's pixels, the taller the
/// letters are drawn so that they keep their shape: Graphics 8 fits 40
/// characters on each of 27 lines, Graphics 15 20 on 13, and the 80-column
/// modes 10 on 6.
pub fn message_frame(mode: GfxMode, message: &str) -> Option<Vec<u8>> {
    let geometry = mode.geometry()?;
    if geometry.version != PacketVersion::V1_1 || geometry.payload_len() != ANTIC_PAYLOAD_LEN {
        return None;
    }
    let lit = match mode {
        // Graphics 15's registers make value 2 white; the 16-level modes
        // take their brightest (Graphics 9) or last hue (Graphics 11).
        GfxMode::Gr15 => 2,
        GfxMode::Gr8 => 1,
        _ => 15,
    };
    Some(draw(geometry, 0, lit, message))
}

/// The colour registers of a Graphics 10 message, in the order of pixel
/// values (P0 P1 P2 P3 PF0 PF1 PF2 PF3 BAK): value 0, the letters, is
/// white; value 8, the background and the border, is black. The registers
/// between are white too, so that no value shows anything but the two.
const GR10_MESSAGE_REGISTERS: [u8; 9] = [0x0E, 0x0E, 0x0E, 0x0E, 0x0E, 0x0E, 0x0E, 0x0E, 0x00];
/// The pixel value of a Graphics 10 message's background (BAK).
const GR10_BACKGROUND: u8 = 8;

/// A whole packet showing `message` as a picture of `mode`, exactly the
/// shape of that mode's pictures (what a client reading a picture of this
/// mode expects): a version 1.1 frame for Graphics 8, 9, 11 and 15, and for
/// Graphics 10 a version 1.4 packet of nine colour registers and the
/// 8800-byte image. `None` for VBXE modes and "random".
///
/// ```
/// use yail_core::{GfxMode, font::message_packet};
/// let packet = message_packet(GfxMode::Gr10, "server busy").expect("a picture");
/// assert_eq!(packet.palette().map(<[u8]>::len), Some(9));
/// assert_eq!(packet.image_data().map(<[u8]>::len), Some(8800));
/// assert_eq!(packet.error_message(), None);
/// ```
pub fn message_packet(mode: GfxMode, message: &str) -> Option<Packet> {
    if mode == GfxMode::Gr10 {
        let geometry = mode.geometry()?;
        let pixels = draw(geometry, GR10_BACKGROUND, 0, message);
        return Packet::image(mode, GR10_MESSAGE_REGISTERS.to_vec(), pixels).ok();
    }
    Packet::frame(mode, message_frame(mode, message)?).ok()
}

/// `message` drawn on a `geometry` screen: pixel value `lit` on
/// `background`, packed as the mode packs its pixels.
fn draw(geometry: Geometry, background: u8, lit: u8, message: &str) -> Vec<u8> {
    let width = usize::from(geometry.width);
    let height = usize::from(geometry.height);
    // A Graphics 8 pixel is square on screen; the others are 2 or 4 times
    // as wide, so each glyph row is repeated as many times.
    let stretch = (320 / width).max(1);
    let columns = width / CELL;
    let line_height = CELL * stretch;
    let max_lines = height / line_height;
    let lines = wrap(message, columns, max_lines);

    let mut pixels = vec![background; width * height];
    let top = (height - lines.len() * line_height) / 2;
    for (n, line) in lines.iter().enumerate() {
        let left = (width - line.len() * CELL) / 2;
        for (i, &c) in line.iter().enumerate() {
            for (gy, bits) in glyph(c).into_iter().enumerate() {
                for gx in 0..CELL {
                    if bits & (0x80 >> gx) == 0 {
                        continue;
                    }
                    let x = left + i * CELL + gx;
                    for s in 0..stretch {
                        let y = top + n * line_height + gy * stretch + s;
                        pixels[y * width + x] = lit;
                    }
                }
            }
        }
    }
    pack(&pixels, u32::from(geometry.bits_per_pixel))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pixel at (x, y) of an unpacked frame, for checks.
    fn pixel(frame: &[u8], mode: GfxMode, x: usize, y: usize) -> u8 {
        let bits = mode.geometry().map_or(1, |g| usize::from(g.bits_per_pixel));
        let per_byte = 8 / bits;
        let byte = frame[y * 40 + x / per_byte];
        let shift = 8 - bits * (x % per_byte + 1);
        (byte >> shift) & ((1 << bits) - 1) as u8
    }

    #[test]
    fn every_printable_character_has_a_distinct_glyph() {
        let glyphs: Vec<[u8; 8]> = (32u8..=126).map(|c| glyph(char::from(c))).collect();
        for (i, a) in glyphs.iter().enumerate() {
            for (j, b) in glyphs.iter().enumerate().skip(i + 1) {
                assert_ne!(
                    a,
                    b,
                    "{:?} and {:?}",
                    char::from(i as u8 + 32),
                    char::from(j as u8 + 32)
                );
            }
        }
        assert_eq!(glyph(' '), [0; 8]);
        // Every non-space glyph lights something, inside columns 1..=5.
        for c in 33u8..=126 {
            let g = glyph(char::from(c));
            assert!(g.iter().any(|&r| r != 0), "{}", char::from(c));
            assert!(g.iter().all(|&r| r & 0b1000_0011 == 0), "{}", char::from(c));
        }
    }

    #[test]
    fn every_pattern_is_eight_rows_of_five_columns() {
        for (i, pattern) in GLYPHS.iter().enumerate() {
            let rows: Vec<&str> = pattern.split('|').collect();
            assert_eq!(rows.len(), 8, "glyph {i}");
            for row in rows {
                assert_eq!(row.len(), 5, "glyph {i}");
                assert!(row.bytes().all(|b| b == b'#' || b == b'.'), "glyph {i}");
            }
        }
    }

    #[test]
    fn characters_outside_ascii_show_a_question_mark() {
        assert_eq!(glyph('é'), glyph('?'));
        assert_eq!(glyph('\n'), glyph('?'));
    }

    #[test]
    fn wrapping_breaks_at_spaces_splits_long_words_and_marks_cut_text() {
        let text = |lines: Vec<Vec<char>>| -> Vec<String> {
            lines.into_iter().map(|l| l.into_iter().collect()).collect()
        };
        assert_eq!(
            text(wrap("camera unreachable", 10, 6)),
            ["camera", "unreachabl", "e"]
        );
        assert_eq!(text(wrap("no camera here", 10, 6)), ["no camera", "here"]);
        assert_eq!(text(wrap("a b c d e f", 3, 2)), ["a b", "..."]);
        assert!(wrap("   ", 10, 6).is_empty());
    }

    #[test]
    fn graphics_8_frame_draws_the_glyphs_centred() {
        let frame = message_frame(GfxMode::Gr8, "A").expect("a frame");
        assert_eq!(frame.len(), ANTIC_PAYLOAD_LEN);
        // One line of one character: cell at x 156, y 106.
        let (left, top) = ((320 - 8) / 2, (220 - 8) / 2);
        let a = glyph('A');
        for y in 0..220 {
            for x in 0..320 {
                let inside = (left..left + 8).contains(&x) && (top..top + 8).contains(&y);
                let expected = inside && a[y - top] & (0x80 >> (x - left)) != 0;
                assert_eq!(
                    pixel(&frame, GfxMode::Gr8, x, y) == 1,
                    expected,
                    "({x}, {y})"
                );
            }
        }
    }

    #[test]
    fn wide_pixel_modes_stretch_glyphs_vertically() {
        for (mode, stretch, lit) in [
            (GfxMode::Gr9, 4, 15),
            (GfxMode::Gr15, 2, 2),
            (GfxMode::Gr11, 4, 15),
        ] {
            let frame = message_frame(mode, "I").expect("a frame");
            assert_eq!(frame.len(), ANTIC_PAYLOAD_LEN);
            let width = usize::from(mode.geometry().map_or(0, |g| g.width));
            let left = (width - 8) / 2;
            let top = (220 - 8 * stretch) / 2;
            let i = glyph('I');
            for (gy, row) in i.iter().enumerate() {
                for s in 0..stretch {
                    for gx in 0..8 {
                        let expected = if row & (0x80 >> gx) != 0 { lit } else { 0 };
                        let y = top + gy * stretch + s;
                        assert_eq!(pixel(&frame, mode, left + gx, y), expected, "{mode:?}");
                    }
                }
            }
            let lit_pixels = (0..220)
                .flat_map(|y| (0..width).map(move |x| (x, y)))
                .filter(|&(x, y)| pixel(&frame, mode, x, y) != 0)
                .count();
            let glyph_pixels: u32 = i.iter().map(|r| r.count_ones()).sum();
            assert_eq!(lit_pixels, glyph_pixels as usize * stretch, "{mode:?}");
        }
    }

    #[test]
    fn modes_that_are_not_one_8800_byte_frame_get_none() {
        for mode in [
            GfxMode::Gr10,
            GfxMode::Vbxe,
            GfxMode::VbxeLegacy,
            GfxMode::VbxeHiRes,
            GfxMode::Random,
        ] {
            assert!(message_frame(mode, "x").is_none(), "{mode:?}");
        }
    }

    #[test]
    fn message_packets_have_the_shape_of_the_modes_pictures() {
        for mode in [GfxMode::Gr8, GfxMode::Gr9, GfxMode::Gr11, GfxMode::Gr15] {
            let packet = message_packet(mode, "server busy").expect("a frame");
            assert_eq!(packet.version(), PacketVersion::V1_1, "{mode:?}");
            assert_eq!(packet.mode(), mode);
            assert_eq!(packet.to_bytes().len(), 7 + ANTIC_PAYLOAD_LEN, "{mode:?}");
            assert_eq!(
                packet.image_data(),
                message_frame(mode, "server busy").as_deref()
            );
        }
        let gr10 = message_packet(GfxMode::Gr10, "I").expect("a picture");
        assert_eq!(gr10.version(), PacketVersion::V1_4);
        // Header, count, a 9-byte palette block and an 8800-byte image block.
        assert_eq!(gr10.to_bytes().len(), 5 + (5 + 9) + (5 + ANTIC_PAYLOAD_LEN));
        assert_eq!(gr10.palette(), Some(&GR10_MESSAGE_REGISTERS[..]));
        let image = gr10.image_data().expect("an image");
        // The same letters as Graphics 9 draws, in value 0 on value 8.
        let gr9 = message_frame(GfxMode::Gr9, "I").expect("a frame");
        for (x, y) in (0..220).flat_map(|y| (0..80).map(move |x| (x, y))) {
            let expected = if pixel(&gr9, GfxMode::Gr9, x, y) == 15 {
                0
            } else {
                8
            };
            assert_eq!(pixel(image, GfxMode::Gr10, x, y), expected, "({x}, {y})");
        }
        for mode in [
            GfxMode::Vbxe,
            GfxMode::VbxeLegacy,
            GfxMode::VbxeHiRes,
            GfxMode::Random,
        ] {
            assert!(message_packet(mode, "x").is_none(), "{mode:?}");
        }
    }

    #[test]
    fn long_messages_fit_the_screen() {
        let long = "word ".repeat(500);
        for mode in [GfxMode::Gr8, GfxMode::Gr9, GfxMode::Gr11, GfxMode::Gr15] {
            assert_eq!(
                message_frame(mode, &long).map(|f| f.len()),
                Some(ANTIC_PAYLOAD_LEN)
            );
        }
    }
}
