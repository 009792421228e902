#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
// No unsafe code, except the two glibc calls of `malloc` when its feature
// is on: then denied everywhere but there.
#![cfg_attr(not(feature = "malloc-tuning"), forbid(unsafe_code))]
#![cfg_attr(feature = "malloc-tuning", deny(unsafe_code))]

mod colour;
mod converter;
mod decode;
mod dither;
mod error;
mod fit;
pub mod font;
mod grey_levels;
mod header;
#[cfg(feature = "malloc-tuning")]
pub mod malloc;
mod modes;
mod nearest;
mod palette;
mod picture;
mod quality;
mod quantizer;
mod render;
mod resize;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod test_support;

pub use colour::BlendSpace;
pub use converter::{Converter, Settings};
#[doc(hidden)]
pub use decode::png_unfilter_variants;
pub use decode::{DecodeOptions, Target, decode};
pub use dither::Dither;
pub use error::{Error, Result};
pub use fit::Fit;
pub use header::dimensions;
pub use modes::PaletteMethod;
pub use palette::{AtariPalette, PaletteModel, TvStandard};
pub use picture::{Picture, PixelFormat};
pub use quality::hvs_psnr;
pub use render::{render, render_at_aspect};

/// The protocol types this crate's API uses.
pub use yail_proto::{GfxMode, Packet};
