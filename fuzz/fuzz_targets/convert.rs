//! Decode and convert arbitrary picture bytes, every mode, under limits.
//!
//! The first byte picks the mode; the rest is the file. Checks: no panic,
//! no allocation past the limits (libFuzzer's -malloc_limit_mb catches
//! one), and every packet produced reads back as a valid packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yail_core::{Converter, Settings};
use yail_proto::{GfxMode, Packet};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let mode = GfxMode::ALL[usize::from(pick) % GfxMode::ALL.len()];
    let converter = Converter::with_decode_options(yail_fuzz::fuzz_limits());
    if let Ok(packet) = converter.convert(file, &Settings::new(mode)) {
        assert_eq!(Packet::decode(&packet.to_bytes()).as_ref(), Ok(&packet));
    }
});
