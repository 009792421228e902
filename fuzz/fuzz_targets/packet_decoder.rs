//! The packet reader (what `yail fetch`, the soak tool and the tests use to
//! judge a server's replies) against arbitrary bytes, and packets built
//! from arbitrary parts.
//!
//! Checks: no panic, no allocation beyond what arrived; a packet read back
//! re-encodes to exactly the bytes it was read from; a packet the builders
//! accept reads back equal.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use yail_proto::{GfxMode, Packet};

#[derive(Arbitrary, Debug)]
enum Built {
    Image {
        mode: u8,
        palette: Vec<u8>,
        pixels: Vec<u8>,
    },
    Error {
        mode: u8,
        message: String,
    },
    Frame {
        mode: u8,
        payload: Vec<u8>,
    },
}

/// One of the modes, chosen by an arbitrary byte.
fn any_mode(byte: u8) -> GfxMode {
    GfxMode::ALL[usize::from(byte) % GfxMode::ALL.len()]
}

fuzz_target!(|data: &[u8]| {
    // First byte below 0x80: the rest is wire bytes (the corpus holds real
    // packets so); otherwise the rest describes a packet to build.
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    if kind < 0x80 {
        if let Ok((packet, used)) = Packet::parse(bytes) {
            assert!(used <= bytes.len());
            assert_eq!(packet.to_bytes(), &bytes[..used]);
            assert_eq!(packet.encoded_len(), used);
            assert_eq!(Packet::decode(&bytes[..used]).as_ref(), Ok(&packet));
        }
        return;
    }
    let Ok(built) = Built::arbitrary(&mut Unstructured::new(bytes)) else {
        return;
    };
    match built {
        Built::Image {
            mode,
            palette,
            pixels,
        } => {
            if let Ok(packet) = Packet::image(any_mode(mode), palette, pixels) {
                assert_eq!(Packet::decode(&packet.to_bytes()).as_ref(), Ok(&packet));
            }
        }
        Built::Error { mode, message } => {
            let packet = Packet::error(any_mode(mode), &message);
            assert_eq!(Packet::decode(&packet.to_bytes()).as_ref(), Ok(&packet));
        }
        Built::Frame { mode, payload } => {
            if let Ok(packet) = Packet::frame(any_mode(mode), payload) {
                assert_eq!(Packet::decode(&packet.to_bytes()).as_ref(), Ok(&packet));
            }
        }
    }
});
