//! Input no client should send: typed errors, bounded memory, no panics.

use bytes::BytesMut;
use proptest::prelude::*;
use yail_proto::{Command, CommandDecoder, CommandError, Packet, UnknownMode};

/// Runs the decoder to exhaustion over `input` in chunks, pausing after each.
fn drain(input: &[u8], chunk: usize) -> Vec<Result<Command, CommandError>> {
    let mut decoder = CommandDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        while let Some(item) = decoder.decode(&mut buf).transpose() {
            out.push(item);
        }
        assert!(
            buf.len() <= decoder.max_length() + chunk,
            "buffer held {} bytes",
            buf.len()
        );
    }
    while let Some(item) = decoder.decode_eof(&mut buf).transpose() {
        out.push(item);
    }
    assert!(buf.is_empty());
    out
}

proptest! {
    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..4096), chunk in 1..64usize) {
        let _ = drain(&input, chunk);
    }

    #[test]
    fn random_bytes_are_not_packets_that_panic(input in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Packet::parse(&input);
    }
}

#[test]
fn one_mebibyte_without_a_space() {
    let input = vec![b'a'; 1 << 20];
    let out = drain(&input, 4096);
    assert_eq!(out[0], Err(CommandError::TooLong { limit: 1024 }));
    // The rest of the runaway command is dropped, not parsed as commands.
    assert!(
        out.iter()
            .all(|r| matches!(r, Err(CommandError::TooLong { .. }))),
        "{:?}",
        &out[..out.len().min(4)]
    );
}

#[test]
fn one_mebibyte_inside_an_open_quote() {
    let mut input = b"search \"".to_vec();
    input.extend(std::iter::repeat_n(b'x', 1 << 20));
    let out = drain(&input, 1000);
    assert_eq!(
        out.first(),
        Some(&Err(CommandError::TooLong { limit: 1024 }))
    );
}

#[test]
fn nul_bytes() {
    let out = drain(b"\0\0\0gfx 2\0files\0\0", 3);
    assert_eq!(
        out,
        [
            Ok(Command::Gfx(yail_proto::GfxMode::Gr8)),
            Ok(Command::Files)
        ]
    );
    let out = drain(b"sea\0rch", 1);
    assert_eq!(
        out,
        [
            Ok(Command::Search(String::new())),
            Ok(Command::Unknown("rch".into()))
        ]
    );
}

#[test]
fn invalid_utf8() {
    let out = drain(b"gen \"caf\xe9\"next", 2);
    assert_eq!(out, [Err(CommandError::NotUtf8), Ok(Command::Next)]);
}

#[test]
fn numbers_out_of_range() {
    assert_eq!(
        drain(b"gfx 99999999999 next", 4),
        [
            Err(CommandError::BadMode("99999999999".into())),
            Ok(Command::Next)
        ]
    );
    assert_eq!(
        drain(b"gfx 99 files", 4),
        [
            Err(CommandError::UnknownMode(UnknownMode(99))),
            Ok(Command::Files)
        ]
    );
    assert_eq!(
        drain(b"gfx 256", 4),
        [Err(CommandError::BadMode("256".into()))]
    );
    let mut long_number = b"gfx ".to_vec();
    long_number.extend(std::iter::repeat_n(b'9', 5000));
    assert_eq!(
        drain(&long_number, 100)[0],
        Err(CommandError::TooLong { limit: 1024 })
    );
}
