//! The command decoder against arbitrary bytes in arbitrary chunks. The
//! corpus (fuzz/src/bin/seed.rs) starts from what real clients of both
//! generations write (legacy: `gfx 17` with no space, `gen <model> "..."`;
//! current: `gfx 17 `, `gen "..."`, `gfx 9 next`; `nc` users' lines ending
//! in `\r\n`), so the fuzzer mutates from there.
//!
//! Checks: no panic; between commands the buffer never holds more than the
//! limit; after end of stream nothing is left over; and without pauses the
//! commands and errors found do not depend on where TCP cut the stream
//! (the tokio-util codec rule; the decoder's own proptest
//! `bytes_in_pieces_decode_as_bytes_at_once` checks the same).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use yail_proto::{Command, CommandDecoder, CommandError};

/// Segment lengths (1..=16) and pauses from a seed byte: a small xorshift,
/// so the corpus files stay plain client streams with two control bytes.
fn cuts(seed: u8, count: usize) -> Vec<(usize, bool)> {
    let mut state = u32::from(seed) | 0x100;
    (0..count.max(1))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            ((state % 16 + 1) as usize, state & 0x30 == 0)
        })
        .collect()
}

type Outcome = Result<Command, CommandError>;

/// Feeds `stream` in segments; `pauses` lets the caller's idle flush run.
fn run(max_len: usize, stream: &[u8], cuts: &[(usize, bool)], pauses: bool) -> Vec<Outcome> {
    let mut decoder = CommandDecoder::with_max_length(max_len);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = stream;
    let mut cuts = cuts.iter().cycle();
    while !rest.is_empty() {
        let (len, pause) = cuts.next().copied().unwrap_or((0, false));
        let len = len.clamp(1, rest.len());
        buf.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(command)) => out.push(Ok(command)),
                Ok(None) => break,
                Err(e) => out.push(Err(e)),
            }
        }
        assert!(
            buf.len() <= max_len.max(1),
            "{} bytes buffered, limit {max_len}",
            buf.len()
        );
        if pauses && pause {
            while let Some(result) = decoder.decode_idle(&mut buf).transpose() {
                out.push(result);
            }
        }
    }
    while let Some(result) = decoder.decode_eof(&mut buf).transpose() {
        out.push(result);
    }
    assert!(
        buf.is_empty(),
        "{} bytes left after end of stream",
        buf.len()
    );
    out
}

fuzz_target!(|data: &[u8]| {
    // Byte 0: the length limit (small ones reach the over-long paths; 0 is
    // the server's default). Byte 1: how the stream is cut. The rest: what
    // the client wrote.
    let [limit, seed, stream @ ..] = data else {
        return;
    };
    let max_len = match *limit {
        0 => yail_proto::DEFAULT_MAX_COMMAND_LEN,
        n => usize::from(n),
    };
    let cuts = cuts(*seed, stream.len());
    run(max_len, stream, &cuts, true);
    let cut = run(max_len, stream, &cuts, false);
    let whole = run(max_len, stream, &[(stream.len(), false)], false);
    assert_eq!(cut, whole, "the same stream cut differently");
});
