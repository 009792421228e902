//! What the decoder may use and what the caller needs, and the memory it
//! may reuse from one picture to the next.

use crate::error::{Error, Result};
use crate::fit::Fit;

/// What the decoder may use, and what the caller needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest allocation the decoder may make, in bytes.
    pub max_alloc: u64,
    /// The size the picture will be shrunk to, if known. Lets large JPEGs
    /// decode at a reduced scale (still at least twice the size needed).
    pub target: Option<Target>,
}

/// The frame a picture is going to be fitted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// How the picture will be fitted.
    pub fit: Fit,
    /// Whether only the grey (Rec. 601 luma) of the picture is needed: a
    /// colour JPEG's luma plane is then decoded without its colour planes.
    pub grey: bool,
}

impl Default for DecodeOptions {
    /// 16384x16384 pixels at most, 512 MiB of decoder memory at most.
    fn default() -> Self {
        DecodeOptions {
            max_width: 16_384,
            max_height: 16_384,
            max_alloc: 512 << 20,
            target: None,
        }
    }
}

impl DecodeOptions {
    /// These options with a target frame for reduced-scale JPEG decoding
    /// (colour needed).
    pub fn with_target(mut self, width: u32, height: u32, fit: Fit) -> DecodeOptions {
        self.target = Some(Target {
            width,
            height,
            fit,
            grey: false,
        });
        self
    }

    pub(crate) fn check_size(&self, width: u32, height: u32) -> Result<()> {
        if width > self.max_width || height > self.max_height {
            return Err(Error::TooLarge {
                width,
                height,
                max_width: self.max_width,
                max_height: self.max_height,
            });
        }
        if width == 0 || height == 0 {
            return Err(Error::NoPixels);
        }
        Ok(())
    }

    /// Refuses a decode that would allocate more than `max_alloc` bytes.
    pub(crate) fn check_alloc(&self, bytes: u64) -> Result<()> {
        if bytes > self.max_alloc {
            return Err(Error::MemoryLimit {
                limit: self.max_alloc,
            });
        }
        Ok(())
    }

    pub(super) fn limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}

/// Memory a decoder may reuse from one picture to the next (see
/// [`super::png::decode_into`]).
#[derive(Debug, Default)]
pub(crate) struct DecodeBuffers {
    /// For the pixels.
    pub pixels: Vec<u8>,
    /// For compressed data that has to be joined first.
    pub compressed: Vec<u8>,
}
