//! Splitting an MJPEG stream (`multipart/x-mixed-replace`) into pictures.
//!
//! Cameras differ: the boundary is whatever the `Content-Type` header
//! names (some put the two leading dashes in the name, some do not), parts
//! may or may not carry a `Content-Length`, and line ends may be `\r\n` or
//! `\n`. Without a length, a part ends where the next boundary starts.
//! Every buffer is bounded: a part larger than the limit, or headers that
//! never end, are an error and the caller reconnects.

/// Longest header block of one part.
const MAX_PART_HEADERS: usize = 4096;

/// Why a stream cannot be read further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MjpegError {
    /// A part (or the junk before a boundary) exceeds the limit.
    #[error("a frame larger than {0} bytes")]
    TooLarge(usize),
    /// A part's headers do not end.
    #[error("a frame's headers do not end")]
    HeadersTooLong,
}

/// The boundary named by a `Content-Type` such as
/// `multipart/x-mixed-replace; boundary="--myboundary"`, without leading
/// dashes; `None` when the type is not multipart or names none.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let lower = content_type.to_ascii_lowercase();
    if !lower.trim_start().starts_with("multipart/") {
        return None;
    }
    let start = lower.find("boundary=")? + "boundary=".len();
    let value = content_type[start..]
        .split(';')
        .next()?
        .trim()
        .trim_matches('"');
    let value = value.trim_start_matches('-');
    (!value.is_empty()).then(|| value.to_owned())
}

enum State {
    /// Looking for the next `--boundary` line.
    Boundary,
    /// After a boundary line, reading the part's headers.
    Headers,
    /// Reading a part's body: `Some(n)` bytes, or up to the next boundary.
    Body(Option<usize>),
}

/// A push parser: feed it what arrives, take the pictures it completes.
pub(crate) struct MjpegParser {
    /// `--boundary`.
    marker: Vec<u8>,
    buffer: Vec<u8>,
    state: State,
    max_part: usize,
}

impl MjpegParser {
    /// A parser for parts separated by `boundary` (without leading
    /// dashes), each at most `max_part` bytes.
    pub(crate) fn new(boundary: &str, max_part: usize) -> MjpegParser {
        let mut marker = b"--".to_vec();
        marker.extend_from_slice(boundary.as_bytes());
        MjpegParser {
            marker,
            buffer: Vec::new(),
            state: State::Boundary,
            max_part,
        }
    }

    /// Adds `chunk` and returns the pictures it completes, oldest first.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<Vec<Vec<u8>>, MjpegError> {
        self.buffer.extend_from_slice(chunk);
        let mut completed = Vec::new();
        loop {
            match self.state {
                State::Boundary => match find(&self.buffer, &self.marker) {
                    Some(at) => {
                        // Up to the end of the boundary line.
                        let after = at + self.marker.len();
                        match find(&self.buffer[after..], b"\n") {
                            Some(eol) => {
                                self.buffer.drain(..after + eol + 1);
                                self.state = State::Headers;
                            }
                            None => break,
                        }
                    }
                    None => {
                        // Keep only what could be the start of a marker.
                        let keep = self.marker.len().min(self.buffer.len());
                        self.buffer.drain(..self.buffer.len() - keep);
                        break;
                    }
                },
                State::Headers => {
                    let end = find(&self.buffer, b"\r\n\r\n")
                        .map(|i| (i, i + 4))
                        .into_iter()
                        .chain(find(&self.buffer, b"\n\n").map(|i| (i, i + 2)))
                        .min_by_key(|&(i, _)| i);
                    match end {
                        Some((headers_end, body_start)) => {
                            let length = content_length(&self.buffer[..headers_end]);
                            if length.is_some_and(|n| n > self.max_part) {
                                return Err(MjpegError::TooLarge(self.max_part));
                            }
                            self.buffer.drain(..body_start);
                            self.state = State::Body(length);
                        }
                        // A part may also start straight with its data
                        // (no headers): JPEG's start marker.
                        None if self.buffer.starts_with(&[0xFF, 0xD8]) => {
                            self.state = State::Body(None);
                        }
                        None if self.buffer.len() > MAX_PART_HEADERS => {
                            return Err(MjpegError::HeadersTooLong);
                        }
                        None => break,
                    }
                }
                State::Body(Some(length)) => {
                    if self.buffer.len() < length {
                        break;
                    }
                    completed.push(self.buffer.drain(..length).collect());
                    self.state = State::Boundary;
                }
                State::Body(None) => match find(&self.buffer, &self.marker) {
                    Some(at) => {
                        let mut end = at;
                        // The line end before the boundary is not data.
                        if self.buffer[..end].ends_with(b"\n") {
                            end -= 1;
                        }
                        if self.buffer[..end].ends_with(b"\r") {
                            end -= 1;
                        }
                        if end > self.max_part {
                            return Err(MjpegError::TooLarge(self.max_part));
                        }
                        let part: Vec<u8> = self.buffer[..end].to_vec();
                        self.buffer.drain(..at);
                        self.state = State::Boundary;
                        if !part.is_empty() {
                            completed.push(part);
                        }
                    }
                    None => break,
                },
            }
        }
        if self.buffer.len() > self.max_part + MAX_PART_HEADERS {
            return Err(MjpegError::TooLarge(self.max_part));
        }
        Ok(completed)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(headers: &[u8]) -> Option<usize> {
    String::from_utf8_lossy(headers).lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A stream of `frames` as a camera would send it.
    fn stream(frames: &[Vec<u8>], boundary: &str, lengths: bool, crlf: bool) -> Vec<u8> {
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut out = Vec::new();
        for frame in frames {
            out.extend_from_slice(b"--");
            out.extend_from_slice(boundary.as_bytes());
            out.extend_from_slice(eol);
            out.extend_from_slice(b"Content-Type: image/jpeg");
            out.extend_from_slice(eol);
            if lengths {
                out.extend_from_slice(format!("Content-Length: {}", frame.len()).as_bytes());
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(eol);
            out.extend_from_slice(frame);
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(eol);
        out
    }

    /// Every picture the parser returns when fed `data` in `chunk`-byte
    /// pieces.
    fn parse(data: &[u8], boundary: &str, chunk: usize) -> Result<Vec<Vec<u8>>, MjpegError> {
        let mut parser = MjpegParser::new(boundary, 1 << 20);
        let mut out = Vec::new();
        for piece in data.chunks(chunk.max(1)) {
            out.extend(parser.push(piece)?);
        }
        Ok(out)
    }

    #[test]
    fn boundaries_are_read_with_or_without_quotes_and_dashes() {
        let cases = [
            ("multipart/x-mixed-replace; boundary=frame", Some("frame")),
            (
                "multipart/x-mixed-replace;boundary=\"--myboundary\"",
                Some("myboundary"),
            ),
            (
                "Multipart/X-Mixed-Replace; Boundary=123456789000000000000987654321",
                Some("123456789000000000000987654321"),
            ),
            ("multipart/x-mixed-replace", None),
            ("image/jpeg", None),
            ("multipart/x-mixed-replace; boundary=", None),
        ];
        for (header, expected) in cases {
            assert_eq!(boundary(header).as_deref(), expected, "{header}");
        }
    }

    #[test]
    fn parts_with_and_without_length_give_the_same_frames() {
        let frames = vec![
            vec![0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9],
            vec![0xFF, 0xD8, 9, 0xFF, 0xD9],
        ];
        for lengths in [true, false] {
            for crlf in [true, false] {
                let data = stream(&frames, "frame", lengths, crlf);
                assert_eq!(
                    parse(&data, "frame", 1),
                    Ok(frames.clone()),
                    "{lengths} {crlf}"
                );
            }
        }
    }

    #[test]
    fn a_frame_larger_than_the_limit_is_an_error() {
        let big = vec![vec![7u8; 5000]];
        let mut parser = MjpegParser::new("b", 1000);
        assert_eq!(
            parser.push(&stream(&big, "b", true, true)),
            Err(MjpegError::TooLarge(1000))
        );
        let mut parser = MjpegParser::new("b", 1000);
        assert_eq!(
            parser.push(&stream(&big, "b", false, true)),
            Err(MjpegError::TooLarge(1000))
        );
    }

    #[test]
    fn endless_headers_and_junk_stay_bounded() {
        let mut parser = MjpegParser::new("b", 1000);
        assert!(parser.push(b"--b\r\n").is_ok());
        assert_eq!(parser.push(&[b'x'; 5000]), Err(MjpegError::HeadersTooLong));
        // Junk without any boundary is dropped as it arrives.
        let mut parser = MjpegParser::new("b", 1000);
        for _ in 0..100 {
            assert_eq!(parser.push(&[b'x'; 1000]), Ok(Vec::new()));
        }
        assert!(parser.buffer.len() <= 3);
    }

    proptest! {
        #[test]
        fn any_split_of_a_stream_gives_its_frames(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..6),
            boundary in "[A-Za-z0-9]{1,30}",
            lengths in any::<bool>(),
            crlf in any::<bool>(),
            chunk in 1usize..200,
        ) {
            let data = stream(&frames, &boundary, lengths, crlf);
            // Without lengths a frame must not contain the boundary marker.
            let marker = format!("--{boundary}");
            prop_assume!(lengths || frames.iter().all(|f| find(f, marker.as_bytes()).is_none()));
            // Without lengths, a frame's own trailing line end is not
            // distinguishable from the separator's.
            prop_assume!(lengths || frames.iter().all(|f| !f.ends_with(b"\r") && !f.ends_with(b"\n")));
            prop_assert_eq!(parse(&data, &boundary, chunk)?, frames.clone());
        }
    }
}
