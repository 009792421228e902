#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "client")]
pub mod client;
mod command;
mod decoder;
mod mode;
mod packet;

pub use command::{Command, CommandError, ErrorDelivery, HttpMethod};
pub use decoder::{CommandDecoder, DEFAULT_MAX_COMMAND_LEN};
pub use mode::{
    ANTIC_PAYLOAD_LEN, Geometry, GfxMode, PacketVersion, PaletteLayout, ParseModeError,
    UnknownMode, VBXE_PAYLOAD_LEN,
};
pub use packet::{
    Block, DecodeError, FRAME_BLOCK_TYPE, MAX_ERROR_TEXT, Packet, PacketError, V1_1_MAGIC,
    V1_4_MAGIC,
};

/// The TCP port YAIL clients connect to unless told otherwise.
pub const DEFAULT_PORT: u16 = 5556;
