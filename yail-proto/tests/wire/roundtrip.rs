//! Property tests: everything encoded decodes to itself.

use proptest::prelude::*;
use yail_proto::{Block, Command, DecodeError, ErrorDelivery, GfxMode, HttpMethod, Packet};

fn block() -> impl Strategy<Value = Block> {
    let data = || proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        data().prop_map(Block::DisplayList),
        data().prop_map(Block::Xdl),
        data().prop_map(Block::Palette),
        data().prop_map(Block::Image),
        ".{0,40}".prop_map(Block::Error),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        (mode(), proptest::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(mode, payload)| Packet::frame(mode, payload).unwrap()),
        (mode(), proptest::collection::vec(block(), 0..6))
            .prop_map(|(mode, blocks)| Packet::blocks(mode, blocks).unwrap()),
    ]
}

fn mode() -> impl Strategy<Value = GfxMode> {
    proptest::sample::select(GfxMode::ALL.to_vec())
}

/// Text a command can carry: printable, no double quotes, no control bytes.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,.!?'()&:/éü-]{0,30}"
}

/// One argument word: no whitespace, does not start with a quote.
fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._:/-]{1,20}"
}

pub fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        mode().prop_map(Command::Gfx),
        text().prop_map(Command::Search),
        (proptest::option::of(word()), text())
            .prop_map(|(model, prompt)| Command::Gen { model, prompt }),
        text().prop_map(Command::GenGemini),
        proptest::collection::vec(word(), 0..3).prop_map(Command::ShowUrl),
        Just(Command::Files),
        Just(Command::Video),
        Just(Command::Next),
        Just(Command::Quit),
        Just(Command::OpenAiConfig {
            param: None,
            value: None
        }),
        (word(), proptest::option::of(text())).prop_map(|(p, value)| Command::OpenAiConfig {
            param: Some(p),
            value
        }),
        proptest::sample::select(ErrorDelivery::ALL.to_vec()).prop_map(Command::Errors),
        proptest::sample::select(HttpMethod::ALL.to_vec()).prop_map(Command::Http),
        "zz[a-z]{0,6}( [a-z0-9]{1,6}){0,3}".prop_map(Command::Unknown),
    ]
}

proptest! {
    #[test]
    fn packets_round_trip(p in packet()) {
        let bytes = p.to_bytes();
        prop_assert_eq!(bytes.len(), p.encoded_len());
        prop_assert_eq!(Packet::decode(&bytes), Ok(p.clone()));
        // Every proper prefix is an incomplete packet, never something else.
        for cut in 0..bytes.len() {
            let is_incomplete = matches!(Packet::parse(&bytes[..cut]), Err(DecodeError::Incomplete { .. }));
            prop_assert!(is_incomplete, "prefix of {} bytes", cut);
        }
    }

    #[test]
    fn image_packets_round_trip(m in mode().prop_filter("concrete", |m| m.geometry().is_some()), seed in any::<u8>()) {
        let g = m.geometry().unwrap();
        let palette = match g.palette {
            yail_proto::PaletteLayout::None => Vec::new(),
            yail_proto::PaletteLayout::ColorRegisters => vec![seed; 9],
            yail_proto::PaletteLayout::Rgb { max_entries } => vec![seed; usize::from(max_entries) * 3],
        };
        let pixels = vec![if g.bits_per_pixel == 8 { seed } else { seed & 0x77 }; g.payload_len()];
        let p = Packet::image(m, palette.clone(), pixels.clone()).unwrap();
        let back = Packet::decode(&p.to_bytes()).unwrap();
        prop_assert_eq!(back.mode(), m);
        prop_assert_eq!(back.image_data(), Some(&pixels[..]));
        prop_assert_eq!(back.palette().unwrap_or(&[]), &palette[..]);
        prop_assert_eq!(back.version(), g.version);
    }

    #[test]
    fn commands_round_trip_through_display(c in command()) {
        let text = c.to_string();
        prop_assert_eq!(Command::parse(&text), Ok(c), "text {:?}", text);
    }
}
