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
/// # let png = [
/// #     0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
/// #     0x44, 0x52, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0x00, 0x00,
/// #     0x00, 0xB8, 0x1F, 0x39, 0xC6, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78,
/// #     0x9C, 0x63, 0x60, 0x80, 0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0xB7, 0x58, 0x73, 0x95,
/// #     0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
/// # ];
/// // `png` holds a 3x2 grey PNG file.
/// let (width, height) = yail_core::dimensions(&png)?;
/// assert_eq!((width, height), (3, 2));
/// assert!(yail_core::dimensions(b"not a picture").is_err());
/// # Ok::<(), yail_core::Error>(())
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
