//! The one error type of the pipeline.

use yail_proto::PacketError;

/// Why a picture could not be decoded, converted or rendered.
///
/// The messages are written for people: a server can pass them on to the
/// Atari user in an error packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input has no bytes.
    #[error("the file is empty")]
    Empty,
    /// The bytes are not in a picture format this crate reads.
    #[error("not a picture in a supported format (JPEG, PNG, GIF, WebP, BMP, TIFF)")]
    UnknownFormat,
    /// The picture's dimensions exceed the decoder limits.
    #[error("picture is {width}x{height}, over the {max_width}x{max_height} limit")]
    TooLarge {
        /// Width stated by the file.
        width: u32,
        /// Height stated by the file.
        height: u32,
        /// Largest accepted width.
        max_width: u32,
        /// Largest accepted height.
        max_height: u32,
    },
    /// Decoding would take more memory than allowed.
    #[error("decoding the picture would need more than {limit} bytes of memory")]
    MemoryLimit {
        /// The allocation limit in bytes.
        limit: u64,
    },
    /// The file is damaged or cut short.
    #[error("damaged or truncated picture: {0}")]
    Malformed(String),
    /// The file uses a feature of its format that is not supported.
    #[error("unsupported picture: {0}")]
    Unsupported(String),
    /// A picture with zero width or height.
    #[error("the picture has no pixels")]
    NoPixels,
    /// A pixel buffer whose length does not match its dimensions.
    #[error(
        "a {width}x{height} picture with {channels} channels needs {expected} bytes, got {actual}"
    )]
    BufferSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Channels per pixel.
        channels: usize,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The converter produced a packet the protocol cannot carry (a bug).
    #[error(transparent)]
    Packet(#[from] PacketError),
    /// A packet that cannot be shown as a picture.
    #[error("cannot render packet: {0}")]
    Render(String),
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
