//! Packets: what a server sends for every request (an image or an error).
//!
//! (Over 500 lines with its tests: the encoder and decoder of both
//! layouts share their block rules, and their golden-byte tests sit
//! beside them.)
//!
//! Two layouts exist. Version 1.1 carries one frame for the 8800-byte
//! ANTIC/GTIA modes:
//!
//! ```text
//! 01 01 00 <gfx>  03 <len:u16 LE>  <len bytes>
//! ```
//!
//! Version 1.4 carries a list of typed blocks (palette, image, error, ...):
//!
//! ```text
//! 01 04 00 <gfx>  <count:u8>  { <type:u8> <len:u32 LE> <len bytes> } x count
//! ```

use bytes::BufMut;

use crate::mode::{GfxMode, PacketVersion, PaletteLayout, UnknownMode};

/// Header bytes of a version 1.1 packet (before the `gfx` byte).
pub const V1_1_MAGIC: [u8; 3] = [0x01, 0x01, 0x00];
/// Header bytes of a version 1.4 packet (before the `gfx` byte).
pub const V1_4_MAGIC: [u8; 3] = [0x01, 0x04, 0x00];
/// The block type byte of a version 1.1 frame ("memory block").
pub const FRAME_BLOCK_TYPE: u8 = 0x03;

/// The longest error text [`Packet::error`] sends, in bytes.
///
/// The Atari clients read the message into a 256-byte buffer and write a
/// terminating zero after it, so a longer message would overrun that buffer.
pub const MAX_ERROR_TEXT: usize = 255;

/// One block of a version 1.4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// An ANTIC display list (type `0x04`). The clients do not accept it yet.
    DisplayList(Vec<u8>),
    /// A VBXE extended display list (type `0x05`). The clients do not accept it yet.
    Xdl(Vec<u8>),
    /// Palette data (type `0x06`): nine Atari colour bytes for Graphics 10,
    /// RGB triplets for VBXE.
    Palette(Vec<u8>),
    /// Pixel data (type `0x07`).
    Image(Vec<u8>),
    /// A message for the user (type `0xFF`), UTF-8.
    Error(String),
}

impl Block {
    /// Type byte of a display-list block.
    pub const DISPLAY_LIST: u8 = 0x04;
    /// Type byte of an XDL block.
    pub const XDL: u8 = 0x05;
    /// Type byte of a palette block.
    pub const PALETTE: u8 = 0x06;
    /// Type byte of an image block.
    pub const IMAGE: u8 = 0x07;
    /// Type byte of an error block.
    pub const ERROR: u8 = 0xFF;

    /// The type byte written before the block's length.
    pub fn type_byte(&self) -> u8 {
        match self {
            Block::DisplayList(_) => Block::DISPLAY_LIST,
            Block::Xdl(_) => Block::XDL,
            Block::Palette(_) => Block::PALETTE,
            Block::Image(_) => Block::IMAGE,
            Block::Error(_) => Block::ERROR,
        }
    }

    /// The block's bytes as sent.
    pub fn data(&self) -> &[u8] {
        match self {
            Block::DisplayList(d) | Block::Xdl(d) | Block::Palette(d) | Block::Image(d) => d,
            Block::Error(text) => text.as_bytes(),
        }
    }
}

/// A complete packet: a header naming the graphics mode, then a frame
/// (version 1.1) or a block list (version 1.4).
///
/// Constructors check what the wire format can express (a 16-bit frame
/// length, at most 255 blocks), so [`Packet::encode`] cannot fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    mode: GfxMode,
    body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    Frame(Vec<u8>),
    Blocks(Vec<Block>),
}

/// Why a packet could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// A version 1.1 frame longer than its 16-bit length field allows.
    #[error("a version 1.1 frame holds at most 65535 bytes, got {0}")]
    FrameTooLarge(usize),
    /// More blocks than the 8-bit count allows.
    #[error("a packet holds at most 255 blocks, got {0}")]
    TooManyBlocks(usize),
    /// A block longer than its 32-bit length field allows.
    #[error("a block holds at most 4294967295 bytes, got {0}")]
    BlockTooLarge(usize),
    /// [`GfxMode::Random`] is not an encoding; pick a concrete mode first.
    #[error("\"random\" is not a concrete graphics mode")]
    NotConcrete,
    /// The pixel data does not have the mode's payload size.
    #[error("{mode} needs {expected} bytes of pixel data, got {actual}")]
    PayloadSize {
        /// The mode being encoded.
        mode: GfxMode,
        /// The mode's payload size.
        expected: usize,
        /// What was supplied.
        actual: usize,
    },
    /// The palette does not fit the mode.
    #[error("{mode} cannot use a palette of {len} bytes")]
    PaletteSize {
        /// The mode being encoded.
        mode: GfxMode,
        /// Length of the supplied palette in bytes.
        len: usize,
    },
    /// A pixel refers to a palette entry the packet does not define.
    #[error("pixel value {index} refers past the {entries}-entry palette")]
    PixelOutsidePalette {
        /// The offending pixel value.
        index: u8,
        /// Number of palette entries sent.
        entries: usize,
    },
}

/// Why bytes could not be read as a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are a correct beginning; at least `needed` more are required.
    #[error("incomplete packet: at least {needed} more bytes needed")]
    Incomplete {
        /// Lower bound on the number of missing bytes.
        needed: usize,
    },
    /// The first three header bytes are neither `01 01 00` nor `01 04 00`.
    #[error("unknown packet version bytes {0:02x?}")]
    UnknownVersion([u8; 3]),
    /// A version 1.1 frame whose block type byte is not `0x03`.
    #[error("version 1.1 frame has block type {0:#04x}, expected 0x03")]
    BadFrameType(u8),
    /// A block type this crate does not know.
    #[error("unknown block type {0:#04x}")]
    UnknownBlockType(u8),
    /// An error block whose text is not UTF-8.
    #[error("error block text is not valid UTF-8")]
    ErrorTextNotUtf8,
    /// [`Packet::decode`] was given more bytes than one packet.
    #[error("{0} bytes follow the packet")]
    TrailingBytes(usize),
    /// The header names a graphics mode no client uses.
    #[error("the packet header names {0}")]
    UnknownMode(#[from] UnknownMode),
}

impl Packet {
    /// A version 1.1 packet holding one frame.
    pub fn frame(mode: GfxMode, payload: Vec<u8>) -> Result<Packet, PacketError> {
        if payload.len() > usize::from(u16::MAX) {
            return Err(PacketError::FrameTooLarge(payload.len()));
        }
        Ok(Packet {
            mode,
            body: Body::Frame(payload),
        })
    }

    /// A version 1.4 packet holding `blocks` in order.
    pub fn blocks(mode: GfxMode, blocks: Vec<Block>) -> Result<Packet, PacketError> {
        if blocks.len() > usize::from(u8::MAX) {
            return Err(PacketError::TooManyBlocks(blocks.len()));
        }
        if let Some(big) = blocks
            .iter()
            .find(|b| u32::try_from(b.data().len()).is_err())
        {
            return Err(PacketError::BlockTooLarge(big.data().len()));
        }
        Ok(Packet {
            mode,
            body: Body::Blocks(blocks),
        })
    }

    /// An error packet: version 1.4 with a single error block.
    ///
    /// Both client generations print the text when a request is answered
    /// by their general packet reader; the current client's video loop
    /// reads only 8800-byte frames and must never get one. The message is
    /// cut at [`MAX_ERROR_TEXT`] bytes (on a character boundary).
    pub fn error(mode: GfxMode, message: &str) -> Packet {
        let mut end = message.len().min(MAX_ERROR_TEXT);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        Packet {
            mode,
            body: Body::Blocks(vec![Block::Error(message[..end].to_owned())]),
        }
    }

    /// The packet a client expects for an image in `mode`.
    ///
    /// `palette` is required for Graphics 10 (nine colour bytes) and VBXE
    /// (RGB triplets, entry 0 black) and must be empty otherwise. The pixel
    /// data must have the mode's exact payload size, and in VBXE modes every
    /// pixel must refer to a palette entry that is sent.
    pub fn image(mode: GfxMode, palette: Vec<u8>, pixels: Vec<u8>) -> Result<Packet, PacketError> {
        let geometry = mode.geometry().ok_or(PacketError::NotConcrete)?;
        if pixels.len() != geometry.payload_len() {
            return Err(PacketError::PayloadSize {
                mode,
                expected: geometry.payload_len(),
                actual: pixels.len(),
            });
        }
        let palette_ok = match geometry.palette {
            PaletteLayout::None => palette.is_empty(),
            PaletteLayout::ColorRegisters => palette.len() == 9,
            PaletteLayout::Rgb { max_entries } => {
                !palette.is_empty()
                    && palette.len().is_multiple_of(3)
                    && palette.len() <= usize::from(max_entries) * 3
            }
        };
        if !palette_ok {
            return Err(PacketError::PaletteSize {
                mode,
                len: palette.len(),
            });
        }
        if let PaletteLayout::Rgb { .. } = geometry.palette {
            check_indices(&pixels, geometry.bits_per_pixel, palette.len() / 3)?;
        }
        match geometry.version {
            PacketVersion::V1_1 => Packet::frame(mode, pixels),
            PacketVersion::V1_4 => {
                Packet::blocks(mode, vec![Block::Palette(palette), Block::Image(pixels)])
            }
        }
    }

    /// The header's graphics mode: the mode the payload is encoded in (for
    /// an error packet, the mode the session had chosen).
    pub fn mode(&self) -> GfxMode {
        self.mode
    }

    /// The packet layout.
    pub fn version(&self) -> PacketVersion {
        match self.body {
            Body::Frame(_) => PacketVersion::V1_1,
            Body::Blocks(_) => PacketVersion::V1_4,
        }
    }

    /// The blocks of a version 1.4 packet (empty for version 1.1).
    pub fn block_list(&self) -> &[Block] {
        match &self.body {
            Body::Frame(_) => &[],
            Body::Blocks(blocks) => blocks,
        }
    }

    /// The pixel data: the frame of a version 1.1 packet, or the first image block.
    pub fn image_data(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Frame(payload) => Some(payload),
            Body::Blocks(blocks) => blocks.iter().find_map(|b| match b {
                Block::Image(data) => Some(data.as_slice()),
                _ => None,
            }),
        }
    }

    /// The first palette block, if any.
    pub fn palette(&self) -> Option<&[u8]> {
        self.block_list().iter().find_map(|b| match b {
            Block::Palette(data) => Some(data.as_slice()),
            _ => None,
        })
    }

    /// The text of the first error block, if any.
    pub fn error_message(&self) -> Option<&str> {
        self.block_list().iter().find_map(|b| match b {
            Block::Error(text) => Some(text.as_str()),
            _ => None,
        })
    }

    /// Number of bytes [`Packet::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        4 + match &self.body {
            Body::Frame(payload) => 3 + payload.len(),
            Body::Blocks(blocks) => 1 + blocks.iter().map(|b| 5 + b.data().len()).sum::<usize>(),
        }
    }

    /// Appends the packet's wire bytes to `dst`.
    pub fn encode<B: BufMut>(&self, dst: &mut B) {
        match &self.body {
            Body::Frame(payload) => {
                dst.put_slice(&V1_1_MAGIC);
                dst.put_u8(self.mode.wire());
                dst.put_u8(FRAME_BLOCK_TYPE);
                // Checked in `Packet::frame`.
                dst.put_u16_le(payload.len() as u16);
                dst.put_slice(payload);
            }
            Body::Blocks(blocks) => {
                dst.put_slice(&V1_4_MAGIC);
                dst.put_u8(self.mode.wire());
                // Both checked in `Packet::blocks`.
                dst.put_u8(blocks.len() as u8);
                for block in blocks {
                    dst.put_u8(block.type_byte());
                    dst.put_u32_le(block.data().len() as u32);
                    dst.put_slice(block.data());
                }
            }
        }
    }

    /// The packet's wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// Reads one packet from the start of `src`, returning it and the number
    /// of bytes it took. [`DecodeError::Incomplete`] means `src` is a correct
    /// beginning of a packet; read more and try again.
    ///
    /// Nothing is allocated before the bytes it would hold have arrived, so a
    /// hostile length field cannot make the reader reserve memory.
    pub fn parse(src: &[u8]) -> Result<(Packet, usize), DecodeError> {
        let mut reader = Reader { src, pos: 0 };
        let magic: [u8; 3] = reader.array()?;
        let gfx = reader.u8()?;
        if magic != V1_1_MAGIC && magic != V1_4_MAGIC {
            return Err(DecodeError::UnknownVersion(magic));
        }
        let mode = GfxMode::from_wire(gfx)?;
        let packet = match magic {
            V1_1_MAGIC => {
                let kind = reader.u8()?;
                if kind != FRAME_BLOCK_TYPE {
                    return Err(DecodeError::BadFrameType(kind));
                }
                let len = u16::from_le_bytes(reader.array()?);
                let payload = reader.bytes(usize::from(len))?.to_vec();
                Packet {
                    mode,
                    body: Body::Frame(payload),
                }
            }
            V1_4_MAGIC => {
                let count = reader.u8()?;
                let mut blocks = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    let kind = reader.u8()?;
                    if !matches!(
                        kind,
                        Block::DISPLAY_LIST
                            | Block::XDL
                            | Block::PALETTE
                            | Block::IMAGE
                            | Block::ERROR
                    ) {
                        return Err(DecodeError::UnknownBlockType(kind));
                    }
                    let len = u32::from_le_bytes(reader.array()?);
                    let len = usize::try_from(len).unwrap_or(usize::MAX);
                    let data = reader.bytes(len)?.to_vec();
                    blocks.push(match kind {
                        Block::DISPLAY_LIST => Block::DisplayList(data),
                        Block::XDL => Block::Xdl(data),
                        Block::PALETTE => Block::Palette(data),
                        Block::IMAGE => Block::Image(data),
                        _ => Block::Error(
                            String::from_utf8(data).map_err(|_| DecodeError::ErrorTextNotUtf8)?,
                        ),
                    });
                }
                Packet {
                    mode,
                    body: Body::Blocks(blocks),
                }
            }
            other => return Err(DecodeError::UnknownVersion(other)),
        };
        Ok((packet, reader.pos))
    }

    /// Reads exactly one packet from `src`; extra bytes are an error.
    pub fn decode(src: &[u8]) -> Result<Packet, DecodeError> {
        let (packet, used) = Packet::parse(src)?;
        match src.len() - used {
            0 => Ok(packet),
            extra => Err(DecodeError::TrailingBytes(extra)),
        }
    }
}

fn check_indices(pixels: &[u8], bits_per_pixel: u8, entries: usize) -> Result<(), PacketError> {
    // Every byte holds one (8 bpp) or two (4 bpp) indices; the largest one
    // must name an entry that is in the palette block.
    let highest = match bits_per_pixel {
        8 => pixels.iter().copied().max().unwrap_or(0),
        _ => pixels
            .iter()
            .map(|&b| (b >> 4).max(b & 0x0F))
            .max()
            .unwrap_or(0),
    };
    if usize::from(highest) >= entries {
        return Err(PacketError::PixelOutsidePalette {
            index: highest,
            entries,
        });
    }
    Ok(())
}

/// A cursor that reports how many bytes are missing instead of failing.
struct Reader<'a> {
    src: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.src.len() - self.pos;
        if available < len {
            return Err(DecodeError::Incomplete {
                needed: len - available,
            });
        }
        let out = &self.src[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.bytes(1)?[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_v1_1_frame() {
        let mut payload = vec![0u8; 8800];
        payload[0] = 0x80;
        payload[8799] = 0x01;
        let packet = Packet::image(GfxMode::Gr8, Vec::new(), payload).unwrap();
        let bytes = packet.to_bytes();
        assert_eq!(
            &bytes[..8],
            &[0x01, 0x01, 0x00, 0x02, 0x03, 0x60, 0x22, 0x80]
        );
        assert_eq!(bytes.len(), 4 + 3 + 8800);
        assert_eq!(bytes[bytes.len() - 1], 0x01);
        assert_eq!(packet.encoded_len(), bytes.len());
        assert_eq!(Packet::decode(&bytes), Ok(packet));
    }

    #[test]
    fn golden_error_packet() {
        let packet = Packet::error(GfxMode::Gr9, "No images");
        let expected = [
            0x01, 0x04, 0x00, 0x04, 0x01, 0xFF, 0x09, 0x00, 0x00, 0x00, b'N', b'o', b' ', b'i',
            b'm', b'a', b'g', b'e', b's',
        ];
        assert_eq!(packet.to_bytes(), expected);
        assert_eq!(packet.error_message(), Some("No images"));
    }

    #[test]
    fn error_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(200); // 400 bytes
        let packet = Packet::error(GfxMode::Gr8, &long);
        let text = packet.error_message().unwrap();
        assert!(text.len() <= MAX_ERROR_TEXT);
        assert_eq!(text.len(), 254);
    }

    #[test]
    fn image_rejects_pixels_past_the_palette() {
        let palette = vec![0u8; 3 * 4];
        let mut pixels = vec![3u8; 76_800];
        assert!(Packet::image(GfxMode::Vbxe, palette.clone(), pixels.clone()).is_ok());
        pixels[100] = 4;
        assert_eq!(
            Packet::image(GfxMode::Vbxe, palette, pixels),
            Err(PacketError::PixelOutsidePalette {
                index: 4,
                entries: 4
            })
        );
        let mut hires = vec![0x21u8; 76_800];
        hires[5] = 0x1F;
        assert!(matches!(
            Packet::image(GfxMode::VbxeHiRes, vec![0; 45], hires),
            Err(PacketError::PixelOutsidePalette { index: 15, .. })
        ));
    }

    #[test]
    fn image_checks_sizes() {
        assert!(matches!(
            Packet::image(GfxMode::Gr9, Vec::new(), vec![0; 8799]),
            Err(PacketError::PayloadSize {
                expected: 8800,
                actual: 8799,
                ..
            })
        ));
        assert!(matches!(
            Packet::image(GfxMode::Gr10, vec![0; 8], vec![0; 8800]),
            Err(PacketError::PaletteSize { len: 8, .. })
        ));
        assert!(matches!(
            Packet::image(GfxMode::Gr8, vec![0; 3], vec![0; 8800]),
            Err(PacketError::PaletteSize { .. })
        ));
        assert!(matches!(
            Packet::image(GfxMode::VbxeHiRes, vec![0; 51], vec![0; 76_800]),
            Err(PacketError::PaletteSize { .. })
        ));
        assert_eq!(
            Packet::image(GfxMode::Random, Vec::new(), Vec::new()),
            Err(PacketError::NotConcrete)
        );
        assert_eq!(
            Packet::frame(GfxMode::Gr8, vec![0; 65_536]),
            Err(PacketError::FrameTooLarge(65_536))
        );
        assert_eq!(
            Packet::blocks(GfxMode::Gr8, vec![Block::Image(Vec::new()); 256]),
            Err(PacketError::TooManyBlocks(256))
        );
    }

    #[test]
    fn parse_reports_missing_bytes_and_hostile_lengths() {
        let bytes = Packet::error(GfxMode::Gr8, "abc").to_bytes();
        for cut in 0..bytes.len() {
            assert!(
                matches!(
                    Packet::parse(&bytes[..cut]),
                    Err(DecodeError::Incomplete { .. })
                ),
                "cut at {cut}"
            );
        }
        // A block that claims 4 GiB: no allocation, just "incomplete".
        let hostile = [
            0x01, 0x04, 0x00, 0x11, 0x01, 0x07, 0xFF, 0xFF, 0xFF, 0xFF, 0x00,
        ];
        assert_eq!(
            Packet::parse(&hostile),
            Err(DecodeError::Incomplete {
                needed: 0xFFFF_FFFF - 1
            })
        );
        assert_eq!(
            Packet::parse(b"OK: ACK!\r\n"),
            Err(DecodeError::UnknownVersion(*b"OK:"))
        );
        assert_eq!(
            Packet::parse(&[1, 1, 0, 2, 7, 0, 0]),
            Err(DecodeError::BadFrameType(7))
        );
        assert_eq!(
            Packet::parse(&[1, 4, 0, 99, 0]),
            Err(DecodeError::UnknownMode(UnknownMode(99)))
        );
        assert_eq!(
            Packet::parse(&[1, 4, 0, 2, 1, 9, 0, 0, 0, 0]),
            Err(DecodeError::UnknownBlockType(9))
        );
        assert_eq!(
            Packet::parse(&[1, 4, 0, 2, 1, 0xFF, 1, 0, 0, 0, 0xC3]),
            Err(DecodeError::ErrorTextNotUtf8)
        );
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        assert_eq!(
            Packet::decode(&two),
            Err(DecodeError::TrailingBytes(bytes.len()))
        );
        assert_eq!(Packet::parse(&two).map(|(_, n)| n), Ok(bytes.len()));
    }
}
