#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod color;
mod converter;
mod decode;
mod dither;
mod error;
mod fit;
pub mod font;
mod jpeg;
mod modes;
mod nearest;
mod palette;
mod picture;
mod png;
mod quality;
mod render;
mod resize;

pub use color::{BlendSpace, linear_to_srgb, luma601, srgb_to_linear};
pub use converter::{Converter, Settings};
pub use decode::{DecodeOptions, Target, decode};
pub use dither::Dither;
pub use error::{Error, Result};
pub use fit::Fit;
pub use modes::{PaletteMethod, Screen, pack};
pub use palette::{AtariPalette, PaletteModel, TvStandard};
pub use picture::{Picture, PixelFormat};
pub use quality::hvs_psnr;
pub use render::render;

/// The protocol types this crate's API uses.
pub use yail_proto::{GfxMode, Packet};
