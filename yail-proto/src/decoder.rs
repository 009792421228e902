//! Finding commands in a byte stream that has no delimiters.
//!
//! Atari clients write each command without a line end, and TCP may merge
//! writes (`gfx 17files`) or split one (`sea` + `rch "ca` + `ts"`). A command
//! is complete when one of these is true:
//!
//! - it is a word that takes no arguments (`next`, `quit`, `files`, `video`,
//!   `camera`) and the whole word has arrived (such a word is complete even
//!   when more letters follow it: `nextquit` is `next` then `quit`);
//! - it is `gfx` and a byte other than a digit follows the number;
//! - a line end (`\n`, `\r`) or a NUL byte follows it;
//! - its first double-quoted argument has been closed;
//! - it is an HTTP request line (`GET `, `POST `, ...) and its line end has
//!   arrived;
//! - the caller says the sender has paused ([`CommandDecoder::decode_idle`]) or
//!   closed ([`CommandDecoder::decode_eof`]). Only then can bare words such as
//!   `showurl http://host/a.jpg` be known to be finished.
//!
//! Like a `tokio_util` codec, the decoder gives the same commands and errors
//! for a stream however TCP cut it, as long as the caller reports no pause:
//! these rules look at whole commands only, and a command over the length
//! limit is dropped up to the next line end whether the rest of it arrived
//! with it or later.

use bytes::{Buf, BytesMut};

use crate::command::{Command, CommandError, HttpMethod, KEYWORDS, Verb};

/// The default maximum length of one command in bytes.
pub const DEFAULT_MAX_COMMAND_LEN: usize = 1024;

/// A streaming command decoder: bytes in, commands out.
///
/// The shape follows `tokio_util::codec::Decoder`: the caller appends bytes
/// to a [`BytesMut`] and calls [`decode`](CommandDecoder::decode) until it
/// returns `Ok(None)` ("need more bytes"). Errors concern one command only:
/// the decoder has dropped that command's bytes and can be called again.
///
/// ```
/// use bytes::BytesMut;
/// use yail_proto::{Command, CommandDecoder, GfxMode};
///
/// let mut decoder = CommandDecoder::new();
/// let mut buf = BytesMut::from(&b"gfx 17files"[..]);
/// assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Gfx(GfxMode::VbxeLegacy))));
/// assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Files)));
/// assert_eq!(decoder.decode(&mut buf), Ok(None));
///
/// // Bare words have no end marker: the caller decides the sender paused.
/// buf.extend_from_slice(b"showurl http://host/a.jpg");
/// assert_eq!(decoder.decode(&mut buf), Ok(None));
/// assert_eq!(
///     decoder.decode_idle(&mut buf),
///     Ok(Some(Command::ShowUrl(vec!["http://host/a.jpg".into()])))
/// );
/// ```
#[derive(Debug, Clone)]
pub struct CommandDecoder {
    max_len: usize,
    /// After an over-long command: drop input up to the next line end.
    discarding: bool,
}

/// How far the buffer holds a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extent {
    /// The command is `buf[..end]`.
    Complete(usize),
    /// The command may go on; `open_quote` says whether a quoted argument is open.
    Partial { open_quote: bool },
}

/// How the caller knows the sender's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flush {
    /// More bytes may come at any moment.
    No,
    /// The sender paused: finish a command unless a quote is still open.
    Idle,
    /// The stream ended: finish whatever is there.
    Eof,
}

impl Default for CommandDecoder {
    fn default() -> Self {
        CommandDecoder::new()
    }
}

impl CommandDecoder {
    /// A decoder with the default maximum command length (1 KiB).
    pub fn new() -> CommandDecoder {
        CommandDecoder::with_max_length(DEFAULT_MAX_COMMAND_LEN)
    }

    /// A decoder that rejects commands longer than `max_len` bytes.
    pub fn with_max_length(max_len: usize) -> CommandDecoder {
        CommandDecoder {
            max_len: max_len.max(1),
            discarding: false,
        }
    }

    /// The maximum command length in bytes.
    pub fn max_length(&self) -> usize {
        self.max_len
    }

    /// Takes the next complete command from the front of `buf`, or returns
    /// `Ok(None)` when more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Command>, CommandError> {
        self.decode_with(buf, Flush::No)
    }

    /// Like [`decode`](Self::decode), for when the sender has paused: a
    /// command of bare words is taken as finished. A command with an
    /// unclosed quote still waits for its closing quote.
    pub fn decode_idle(&mut self, buf: &mut BytesMut) -> Result<Option<Command>, CommandError> {
        self.decode_with(buf, Flush::Idle)
    }

    /// Like [`decode`](Self::decode), for when the stream has ended: whatever
    /// is buffered is the last command.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Command>, CommandError> {
        self.decode_with(buf, Flush::Eof)
    }

    fn decode_with(
        &mut self,
        buf: &mut BytesMut,
        flush: Flush,
    ) -> Result<Option<Command>, CommandError> {
        if self.discarding && !self.skip_line(buf, flush) {
            return Ok(None);
        }
        let skip = buf.iter().take_while(|&&b| is_separator(b)).count();
        buf.advance(skip);
        if buf.is_empty() {
            return Ok(None);
        }
        let end = match (frame(buf), flush) {
            (Extent::Complete(end), _) => end,
            (Extent::Partial { .. }, Flush::Eof) => buf.len(),
            (Extent::Partial { open_quote: false }, Flush::Idle) => buf.len(),
            (Extent::Partial { .. }, _) => {
                if buf.len() > self.max_len {
                    // No line end in a partial command: all of it goes.
                    self.skip_line(buf, flush);
                    return Err(CommandError::TooLong {
                        limit: self.max_len,
                    });
                }
                return Ok(None);
            }
        };
        if end > self.max_len {
            // As if it had arrived in pieces: it would have been found too
            // long before its end, and input dropped up to a line end.
            self.skip_line(buf, flush);
            return Err(CommandError::TooLong {
                limit: self.max_len,
            });
        }
        let text = buf.split_to(end);
        let text = std::str::from_utf8(&text).map_err(|_| CommandError::NotUtf8)?;
        Command::parse(text).map(Some)
    }

    /// Drops input up to and including the next line end; `true` if one
    /// was found. Without one, all of `buf` goes and the next calls go on
    /// dropping, unless the sender paused or closed, which ends the runaway
    /// command too.
    fn skip_line(&mut self, buf: &mut BytesMut, flush: Flush) -> bool {
        match buf.iter().position(|&b| is_line_end(b)) {
            Some(end) => {
                buf.advance(end + 1);
                self.discarding = false;
                true
            }
            None => {
                buf.clear();
                self.discarding = flush == Flush::No;
                false
            }
        }
    }
}

/// Bytes that end a command: a line end, or NUL (telnet sends CR NUL).
fn is_line_end(b: u8) -> bool {
    matches!(b, b'\n' | b'\r' | 0)
}

/// Bytes skipped between commands.
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t') || is_line_end(b)
}

/// Where the command at the start of `buf` ends (`buf` starts with a
/// non-separator byte).
fn frame(buf: &[u8]) -> Extent {
    let partial = Extent::Partial { open_quote: false };
    if HttpMethod::starting(buf).is_some() {
        // The request line, to its end: taking whatever part of it has
        // arrived would leave the rest to be read as commands, differently
        // for every way the line was cut.
        return match buf.iter().position(|&b| is_line_end(b)) {
            Some(end) => Extent::Complete(end),
            None => partial,
        };
    }
    let word_end = buf
        .iter()
        .position(|&b| b == b'"' || is_separator(b))
        .unwrap_or(buf.len());
    let word = buf[..word_end].to_ascii_lowercase();
    // Argument-less words are atomic: they end where the word ends, even
    // when the next write follows without a separator (`nextquit`).
    if let Some(keyword) = KEYWORDS.iter().find(|k| word.starts_with(k.as_bytes())) {
        return Extent::Complete(keyword.len());
    }
    if word_end == buf.len() {
        return partial;
    }
    let word = std::str::from_utf8(&word).unwrap_or("");
    match Verb::of(word) {
        Verb::Gfx => frame_gfx(buf, word_end),
        _ => frame_free_text(buf, word_end),
    }
}

/// `gfx` ends after its number: the legacy client's `gfx 17` is followed
/// directly by the next command (`gfx 17files`).
fn frame_gfx(buf: &[u8], word_end: usize) -> Extent {
    let partial = Extent::Partial { open_quote: false };
    let start = word_end
        + buf[word_end..]
            .iter()
            .take_while(|&&b| matches!(b, b' ' | b'\t'))
            .count();
    let Some(&first) = buf.get(start) else {
        return partial;
    };
    let end = if first.is_ascii_digit() {
        buf[start..].iter().position(|b| !b.is_ascii_digit())
    } else if is_line_end(first) {
        Some(0)
    } else {
        buf[start..].iter().position(|&b| is_separator(b))
    };
    match end {
        Some(len) => Extent::Complete(start + len),
        None => partial,
    }
}

/// Free text runs to a line end, or to the close of its first quoted argument.
fn frame_free_text(buf: &[u8], from: usize) -> Extent {
    let mut open_quote = false;
    for (i, &b) in buf.iter().enumerate().skip(from) {
        if is_line_end(b) {
            return Extent::Complete(i);
        }
        if b == b'"' {
            if open_quote {
                return Extent::Complete(i + 1);
            }
            open_quote = true;
        }
    }
    Extent::Partial { open_quote }
}

#[cfg(feature = "codec")]
mod codec {
    use super::*;

    /// With the `codec` feature, the decoder plugs into `tokio_util::codec`
    /// (`FramedRead`). Each item is one command or that command's error, so
    /// a bad command does not end the stream. `FramedRead` has no notion of
    /// a pause: bare-word commands complete at a line end or at end of stream.
    impl tokio_util::codec::Decoder for CommandDecoder {
        type Item = Result<Command, CommandError>;
        type Error = std::io::Error;

        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
            Ok(CommandDecoder::decode(self, src).transpose())
        }

        fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
            Ok(CommandDecoder::decode_eof(self, src).transpose())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GfxMode;

    /// Feeds `input` in chunks of `size`, then signals end of stream.
    fn decode_chunked(input: &[u8], size: usize) -> Vec<Result<Command, CommandError>> {
        let mut decoder = CommandDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in input.chunks(size.max(1)) {
            buf.extend_from_slice(chunk);
            while let Some(item) = decoder.decode(&mut buf).transpose() {
                out.push(item);
            }
        }
        while let Some(item) = decoder.decode_eof(&mut buf).transpose() {
            out.push(item);
        }
        out
    }

    #[test]
    fn merged_writes_split_correctly() {
        let cases: [(&[u8], Vec<Command>); 5] = [
            // What the `yail` tool writes first, then an Atari's writes.
            (
                b"errors packets\ngfx 2 files",
                vec![
                    Command::Errors(crate::ErrorDelivery::Packets),
                    Command::Gfx(GfxMode::Gr8),
                    Command::Files,
                ],
            ),
            (
                b"gfx 17files",
                vec![Command::Gfx(GfxMode::VbxeLegacy), Command::Files],
            ),
            (
                b"gfx 2 files",
                vec![Command::Gfx(GfxMode::Gr8), Command::Files],
            ),
            (
                b"gfx 8 next",
                vec![Command::Gfx(GfxMode::Gr11), Command::Next],
            ),
            (
                b"gfx 4 search \"cats\"nextquit",
                vec![
                    Command::Gfx(GfxMode::Gr9),
                    Command::Search("cats".into()),
                    Command::Next,
                    Command::Quit,
                ],
            ),
        ];
        for (input, expected) in cases {
            for size in 1..=input.len() {
                let got: Vec<_> = decode_chunked(input, size)
                    .into_iter()
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(
                    got,
                    expected,
                    "{:?} in chunks of {size}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    /// The legacy client (v1.5.1) writes `gen-gemini <saved model>
    /// "<prompt>"` in one write, without a line end; Gemini must get the
    /// prompt alone, however TCP cuts the bytes.
    #[test]
    fn legacy_gen_gemini_with_a_model_word_gives_only_the_prompt() {
        let input: &[u8] = b"gfx 4 gen-gemini dall-e-3 \"a castle on a hill\"next";
        let expected = vec![
            Command::Gfx(GfxMode::Gr9),
            Command::GenGemini("a castle on a hill".into()),
            Command::Next,
        ];
        for size in 1..=input.len() {
            let got: Vec<_> = decode_chunked(input, size)
                .into_iter()
                .map(Result::unwrap)
                .collect();
            assert_eq!(got, expected, "in chunks of {size}");
        }
    }

    #[test]
    fn split_search_waits_for_the_closing_quote() {
        let mut decoder = CommandDecoder::new();
        let mut buf = BytesMut::new();
        for piece in [&b"sea"[..], b"rch \"ca"] {
            buf.extend_from_slice(piece);
            assert_eq!(decoder.decode(&mut buf), Ok(None));
            // A pause inside an open quote does not end the command.
            if piece.contains(&b'"') {
                assert_eq!(decoder.decode_idle(&mut buf), Ok(None));
            }
        }
        buf.extend_from_slice(b"ts\"");
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Command::Search("cats".into())))
        );
    }

    #[test]
    fn lines_from_nc_work() {
        let got: Vec<_> = decode_chunked(b"gfx 2\nsearch red cars\r\nnext\nquit\n", 3)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got,
            [
                Command::Gfx(GfxMode::Gr8),
                Command::Search("red cars".into()),
                Command::Next,
                Command::Quit
            ]
        );
    }

    #[test]
    fn bare_words_need_a_pause() {
        let mut decoder = CommandDecoder::new();
        let mut buf = BytesMut::from(&b"gen a red barn"[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(
            decoder.decode_idle(&mut buf),
            Ok(Some(Command::Gen {
                model: None,
                prompt: "a red barn".into()
            }))
        );
        assert!(buf.is_empty());
        // A trailing gfx number is also only complete after a pause.
        buf.extend_from_slice(b"gfx 1");
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"7");
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(
            decoder.decode_idle(&mut buf),
            Ok(Some(Command::Gfx(GfxMode::VbxeLegacy)))
        );
    }

    #[test]
    fn http_request_line_is_recognised() {
        let mut decoder = CommandDecoder::new();
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Ok(Some(Command::Http(HttpMethod::Get)))
        );
        // Without its line end, the request line waits like a bare word.
        let mut buf = BytesMut::from(&b"DELETE /x"[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert_eq!(
            decoder.decode_idle(&mut buf),
            Ok(Some(Command::Http(HttpMethod::Delete)))
        );
    }

    #[test]
    fn over_long_input_is_dropped_with_one_error() {
        let mut decoder = CommandDecoder::with_max_length(16);
        let mut buf = BytesMut::new();
        let mut errors = 0;
        for _ in 0..100 {
            buf.extend_from_slice(b"xxxxxxxxxx");
            while let Some(item) = decoder.decode(&mut buf).transpose() {
                assert_eq!(item, Err(CommandError::TooLong { limit: 16 }));
                errors += 1;
            }
            assert!(buf.len() <= 16, "buffer grew to {}", buf.len());
        }
        assert_eq!(errors, 1);
        buf.extend_from_slice(b"yyy\nnext");
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Next)));
    }

    #[test]
    fn complete_but_too_long_command_is_an_error() {
        let mut decoder = CommandDecoder::with_max_length(8);
        let mut buf = BytesMut::from(&b"search \"a long search\"next"[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Err(CommandError::TooLong { limit: 8 })
        );
        // Dropped up to the line end, as if it had come in pieces.
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b" still dropped\nnext");
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Next)));
        // A pause ends the runaway command too.
        let mut buf = BytesMut::from(&b"search \"a long search\"next"[..]);
        assert_eq!(
            decoder.decode_idle(&mut buf),
            Err(CommandError::TooLong { limit: 8 })
        );
        buf.extend_from_slice(b"next");
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Next)));
    }

    #[test]
    fn invalid_utf8_and_control_bytes_are_errors() {
        let mut decoder = CommandDecoder::new();
        let mut buf = BytesMut::from(&b"search \xff\xfe\nnext"[..]);
        assert_eq!(decoder.decode(&mut buf), Err(CommandError::NotUtf8));
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Next)));
        let mut buf = BytesMut::from(&b"search a\x07b\n"[..]);
        assert_eq!(decoder.decode(&mut buf), Err(CommandError::ControlByte(7)));
        // NUL ends a command, like a line end.
        let mut buf = BytesMut::from(&b"\0\0next\0quit\0"[..]);
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Next)));
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Quit)));
        assert_eq!(decoder.decode(&mut buf), Ok(None));
    }

    /// Found by the `command_decoder` fuzz target: an HTTP request line
    /// with bytes that are not UTF-8 gave one `NotUtf8` error when it came
    /// whole and two when TCP cut it (the part that had arrived was taken
    /// as the request line, the rest read as another command).
    #[test]
    fn not_utf8_errors_do_not_depend_on_how_the_stream_was_cut() {
        let stream = b"PUT 36s\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfb\xff\xff\xff\xff\xff\xff\xffrix \"ata\x01\x00\x00\x00ri 400 xl\"n\x00e";
        let whole = decode_in_pieces(DEFAULT_MAX_COMMAND_LEN, stream, &[stream.len()]);
        let not_utf8 = whole.iter().filter(|r| **r == Err(CommandError::NotUtf8));
        assert_eq!(not_utf8.count(), 1, "{whole:?}");
        for size in 1..=stream.len() {
            let cut = decode_in_pieces(DEFAULT_MAX_COMMAND_LEN, stream, &[size]);
            assert_eq!(cut, whole, "in pieces of {size}");
        }
    }

    /// Feeds `stream` in pieces of the lengths in `cuts` (repeated), with
    /// no pause, then ends it; the buffer never holds more than `limit`.
    fn decode_in_pieces(
        limit: usize,
        stream: &[u8],
        cuts: &[usize],
    ) -> Vec<Result<Command, CommandError>> {
        let mut decoder = CommandDecoder::with_max_length(limit);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut rest = stream;
        for &cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, after) = rest.split_at(cut.clamp(1, rest.len()));
            rest = after;
            buf.extend_from_slice(piece);
            while let Some(item) = decoder.decode(&mut buf).transpose() {
                out.push(item);
            }
            assert!(
                buf.len() <= limit,
                "{} bytes held, limit {limit}",
                buf.len()
            );
        }
        while let Some(item) = decoder.decode_eof(&mut buf).transpose() {
            out.push(item);
        }
        assert!(buf.is_empty());
        out
    }

    mod cut_anywhere {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of what clients send, and of what breaks it.
        const TOKENS: [&[u8]; 22] = [
            b"gfx ",
            b"gfx",
            b"17",
            b"9",
            b" ",
            b"\t",
            b"\r\n",
            b"\n",
            b"\0",
            b"\"",
            b"next",
            b"quit",
            b"files",
            b"search ",
            b"gen ",
            b"showurl ",
            b"GET ",
            b"PUT /",
            b" HTTP/1.1",
            b"\xff",
            b"\xc3\xa9",
            b"x",
        ];

        proptest! {
            /// The tokio-util codec rule: bytes in pieces give the same
            /// commands and errors as the same bytes at once.
            #[test]
            fn bytes_in_pieces_decode_as_bytes_at_once(
                parts in prop::collection::vec(
                    prop_oneof![
                        3 => prop::sample::select(&TOKENS[..]).prop_map(<[u8]>::to_vec),
                        1 => prop::collection::vec(any::<u8>(), 1..4),
                    ],
                    0..40,
                ),
                cuts in prop::collection::vec(1usize..20, 1..30),
                limit in prop_oneof![Just(DEFAULT_MAX_COMMAND_LEN), 1usize..40],
            ) {
                let stream = parts.concat();
                let whole = decode_in_pieces(limit, &stream, &[stream.len()]);
                let cut = decode_in_pieces(limit, &stream, &cuts);
                prop_assert_eq!(cut, whole);
            }
        }
    }
}
