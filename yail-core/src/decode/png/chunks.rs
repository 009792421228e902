//! The chunk layer of a PNG file: the header fields the fast path needs,
//! the chunk sequence, and the image data joined from its IDAT chunks.

/// The fields of IHDR this path needs, if it can handle the picture.
pub(super) struct Header {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) channels: usize,
}

impl Header {
    pub(super) fn parse((kind, data): ([u8; 4], &[u8])) -> Option<Header> {
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
pub(super) struct Chunks<'a>(pub(super) &'a [u8]);

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
pub(super) fn image_data<'a>(chunks: Chunks<'a>, joined: &'a mut Vec<u8>) -> Option<&'a [u8]> {
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
