//! A picture's size from its header, before any pixel is decoded.

use std::io::Cursor;

use image::ImageReader;

use crate::error::{Error, Result};

/// The width and height a picture file states, read from its header alone:
/// no pixel memory is reserved, so a server can budget a decode before
/// starting it. The size is as stored (an EXIF rotation may swap the two;
/// the pixel count is the same).
///
/// ```
/// // A 1x1 grey PNG.
/// let png = [
///     0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
///     0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x3A, 0x7E, 0x9B, 0x55,
/// ];
/// assert_eq!(yail_core::dimensions(&png).unwrap(), (1, 1));
/// ```
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32)> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let format = image::guess_format(bytes).map_err(|_| Error::UnknownFormat)?;
    ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| Error::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{DecodeOptions, decode};

    #[test]
    fn header_size_matches_the_decoded_size() {
        for bytes in [
            &include_bytes!("../../assets/photos/chelsea.png")[..],
            &include_bytes!("../../assets/photos/rocket.jpg")[..],
        ] {
            let picture = decode(bytes, &DecodeOptions::default()).unwrap();
            let (width, height) = dimensions(bytes).unwrap();
            assert_eq!(
                u64::from(width) * u64::from(height),
                u64::from(picture.width()) * u64::from(picture.height())
            );
        }
    }

    #[test]
    fn not_a_picture_is_an_error() {
        assert!(matches!(dimensions(b""), Err(Error::Empty)));
        assert!(matches!(
            dimensions(b"hello, world"),
            Err(Error::UnknownFormat)
        ));
        let png = include_bytes!("../../assets/photos/chelsea.png");
        assert!(dimensions(&png[..20]).is_err(), "a cut header");
    }
}
