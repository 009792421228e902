//! Commands: what a client writes to the server.
//!
//! [`Command::parse`] reads the text of one complete command. Finding where a
//! command ends in a byte stream without delimiters is the job of
//! [`CommandDecoder`](crate::CommandDecoder).

use std::fmt;

use crate::mode::{GfxMode, UnknownMode};

/// One request from a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// `gfx N`: the graphics mode for the following images. The client reads
    /// no reply.
    Gfx(GfxMode),
    /// `search "<terms>"` (the legacy client may abbreviate the word to `sea`,
    /// `sear`, ...): web image search.
    Search(String),
    /// `gen "<prompt>"`, `gen <model> "<prompt>"`, `generate <prompt>`: an AI
    /// generated image. `model` is the legacy client's saved model name.
    Gen {
        /// The model the client asked for, if it named one.
        model: Option<String>,
        /// What to draw.
        prompt: String,
    },
    /// `gen-gemini <prompt>`: generate with Google Gemini. The legacy
    /// client sends `gen-gemini <model> "<prompt>"`, naming its saved
    /// OpenAI model; only the prompt is kept.
    GenGemini(String),
    /// `showurl <url> [...]`: the picture at a URL.
    ShowUrl(Vec<String>),
    /// `files`: the server's own pictures.
    Files,
    /// `video` (or `camera`): frames from the server's camera.
    Video,
    /// `next`: another image from the current source.
    Next,
    /// `quit`: the client is leaving.
    Quit,
    /// `openai-config [param] [value]`: show or change image-generation
    /// settings. `value` is only ever present together with `param`.
    OpenAiConfig {
        /// The setting to show or change (`model`, `size`, `quality`, ...).
        param: Option<String>,
        /// The new value.
        value: Option<String>,
    },
    /// `errors packets` or `errors auto`: how this client wants to be told
    /// that a request failed. Programs such as the `yail` tool send
    /// `errors packets`; no Atari client sends it. The client reads no reply.
    Errors(ErrorDelivery),
    /// The first line of an HTTP request: someone pointed a browser or a
    /// scanner at the port.
    Http(HttpMethod),
    /// Anything else, as sent (trimmed).
    Unknown(String),
}

/// How a client wants to be told that a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorDelivery {
    /// As the Atari client can show it: in the modes where the client
    /// prints an error packet's text to a screen it keeps hidden, the
    /// message drawn into a picture; elsewhere an error packet. What a
    /// session starts with.
    #[default]
    Auto,
    /// Always an error packet (a program reading packets, such as `yail
    /// fetch`, wants to know a picture from an error).
    Packets,
}

impl ErrorDelivery {
    /// Every value, in the order of [`ErrorDelivery::as_str`]'s words.
    pub const ALL: [ErrorDelivery; 2] = [ErrorDelivery::Auto, ErrorDelivery::Packets];

    /// The word after `errors` on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorDelivery::Auto => "auto",
            ErrorDelivery::Packets => "packets",
        }
    }
}

/// HTTP methods recognised at the start of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `HEAD`
    Head,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
}

impl HttpMethod {
    /// Every recognised method.
    pub const ALL: [HttpMethod; 5] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Head,
        HttpMethod::Put,
        HttpMethod::Delete,
    ];

    /// The method as written in a request line.
    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Head => "HEAD",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// The method whose request line `text` starts with (`"GET "`, ...).
    pub(crate) fn starting(text: &[u8]) -> Option<HttpMethod> {
        HttpMethod::ALL.into_iter().find(|m| {
            let name = m.as_str().as_bytes();
            text.len() > name.len() && text.starts_with(name) && text[name.len()] == b' '
        })
    }
}

/// Why bytes from a client are not a usable command.
///
/// The decoder that reports one of these has dropped the offending bytes and
/// carries on with the next command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// More than the decoder's maximum command length arrived without the
    /// command ending.
    #[error("command longer than {limit} bytes")]
    TooLong {
        /// The decoder's maximum command length.
        limit: usize,
    },
    /// The command is not UTF-8 text.
    #[error("command is not UTF-8 text")]
    NotUtf8,
    /// The command contains a control character.
    #[error("command contains control byte {0:#04x}")]
    ControlByte(u8),
    /// `gfx` without a number.
    #[error("gfx needs a mode number")]
    MissingMode,
    /// `gfx` followed by something that is not a number from 0 to 255.
    #[error("gfx mode {0:?} is not a number from 0 to 255")]
    BadMode(String),
    /// `gfx N` where N is not a mode any client uses.
    #[error(transparent)]
    UnknownMode(#[from] UnknownMode),
    /// `errors` followed by something other than `packets` or `auto`.
    #[error("errors takes `packets` or `auto`, not {0:?}")]
    UnknownErrorDelivery(String),
}

impl CommandError {
    /// True when the error came from a `gfx` command. Clients read no reply
    /// to `gfx`, so a server reports these with its next packet.
    pub fn is_gfx_error(&self) -> bool {
        matches!(
            self,
            CommandError::MissingMode | CommandError::BadMode(_) | CommandError::UnknownMode(_)
        )
    }

    /// True when the failed command is one clients read no reply to
    /// (`gfx`, `errors`), so a server reports it with its next packet.
    pub fn expects_no_reply(&self) -> bool {
        self.is_gfx_error() || matches!(self, CommandError::UnknownErrorDelivery(_))
    }
}

/// Commands that take no arguments; a decoder treats them as complete as
/// soon as the word has arrived.
pub(crate) const KEYWORDS: [&str; 5] = ["next", "quit", "files", "video", "camera"];

/// What kind of command a (lowercased) first word starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Gfx,
    Search,
    Gen,
    GenGemini,
    ShowUrl,
    Files,
    Video,
    Next,
    Quit,
    OpenAiConfig,
    Errors,
    Unknown,
}

impl Verb {
    pub(crate) fn of(word: &str) -> Verb {
        // The legacy client sends the word the user typed and only checks its
        // first three letters, so `sea`, `sear` and `gene` arrive as written.
        let abbreviates = |full: &str| word.len() >= 3 && full.starts_with(word);
        match word {
            "gfx" => Verb::Gfx,
            "gen-gemini" => Verb::GenGemini,
            "showurl" => Verb::ShowUrl,
            "files" => Verb::Files,
            "video" | "camera" => Verb::Video,
            "next" => Verb::Next,
            "quit" => Verb::Quit,
            "openai-config" => Verb::OpenAiConfig,
            "errors" => Verb::Errors,
            _ if abbreviates("search") => Verb::Search,
            _ if abbreviates("generate") => Verb::Gen,
            _ => Verb::Unknown,
        }
    }
}

/// Splits `text` at its first word. A word ends at ASCII whitespace or a quote.
pub(crate) fn first_word(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| c.is_ascii_whitespace() || c == '"')
        .unwrap_or(text.len());
    (&text[..end], &text[end..])
}

/// One argument: a bare word, or the text between a pair of double quotes.
struct Arg<'a> {
    text: &'a str,
    quoted: bool,
}

/// Splits arguments at ASCII whitespace; an argument that starts with `"`
/// runs to the next `"` (or the end) and loses its quotes.
fn args(mut rest: &str) -> Vec<Arg<'_>> {
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
        if rest.is_empty() {
            return out;
        }
        if let Some(inner) = rest.strip_prefix('"') {
            let end = inner.find('"').unwrap_or(inner.len());
            out.push(Arg {
                text: &inner[..end],
                quoted: true,
            });
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let end = rest
                .find(|c: char| c.is_ascii_whitespace())
                .unwrap_or(rest.len());
            out.push(Arg {
                text: &rest[..end],
                quoted: false,
            });
            rest = &rest[end..];
        }
    }
}

fn joined(args: &[Arg<'_>]) -> String {
    args.iter().map(|a| a.text).collect::<Vec<_>>().join(" ")
}

impl Command {
    /// Parses the text of one complete command (surrounding whitespace is
    /// ignored). Words are case-insensitive; double-quoted arguments lose
    /// their quotes.
    pub fn parse(text: &str) -> Result<Command, CommandError> {
        if let Some(bad) = text.bytes().find(|&b| is_control(b)) {
            return Err(CommandError::ControlByte(bad));
        }
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if let Some(method) = HttpMethod::starting(text.as_bytes()) {
            return Ok(Command::Http(method));
        }
        let (word, rest) = first_word(text);
        let args = args(rest);
        Ok(match Verb::of(&word.to_ascii_lowercase()) {
            Verb::Gfx => Command::Gfx(parse_mode(rest)?),
            Verb::Search => Command::Search(joined(&args)),
            Verb::Gen => match args.as_slice() {
                // The legacy client: `gen <model> "<prompt>"`.
                [model, prompt] if !model.quoted && prompt.quoted => Command::Gen {
                    model: Some(model.text.to_owned()),
                    prompt: prompt.text.to_owned(),
                },
                // The current client: `gen "<prompt>"`.
                [prompt] if prompt.quoted => Command::Gen {
                    model: None,
                    prompt: prompt.text.to_owned(),
                },
                // Typed by hand: every word after the verb is the prompt.
                _ => Command::Gen {
                    model: None,
                    prompt: rest
                        .trim_matches(|c: char| c.is_ascii_whitespace())
                        .to_owned(),
                },
            },
            Verb::GenGemini => Command::GenGemini(match args.as_slice() {
                // The legacy client (v1.5.1) puts its saved model before
                // the quoted prompt, as for `gen`: `gen-gemini dall-e-3
                // "a castle"`. That model is an OpenAI one; Gemini gets
                // only the prompt.
                [model, prompt] if !model.quoted && prompt.quoted => prompt.text.to_owned(),
                // Quoted, or typed by hand: every word is the prompt.
                _ => joined(&args),
            }),
            Verb::ShowUrl => Command::ShowUrl(
                args.iter()
                    .filter(|a| !a.text.is_empty())
                    .map(|a| a.text.to_owned())
                    .collect(),
            ),
            Verb::Files => Command::Files,
            Verb::Video => Command::Video,
            Verb::Next => Command::Next,
            Verb::Quit => Command::Quit,
            Verb::OpenAiConfig => {
                let param = args.first().map(|a| a.text.to_owned());
                let value = (args.len() > 1).then(|| joined(&args[1..]));
                Command::OpenAiConfig { param, value }
            }
            Verb::Errors => Command::Errors(parse_error_delivery(rest)?),
            Verb::Unknown => Command::Unknown(text.to_owned()),
        })
    }

    /// The command word, for logs and metrics (`"gfx"`, `"search"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Gfx(_) => "gfx",
            Command::Search(_) => "search",
            Command::Gen { .. } => "gen",
            Command::GenGemini(_) => "gen-gemini",
            Command::ShowUrl(_) => "showurl",
            Command::Files => "files",
            Command::Video => "video",
            Command::Next => "next",
            Command::Quit => "quit",
            Command::OpenAiConfig { .. } => "openai-config",
            Command::Errors(_) => "errors",
            Command::Http(_) => "http",
            Command::Unknown(_) => "unknown",
        }
    }
}

/// Bytes that may not appear in a command (tab, CR and LF are whitespace).
pub(crate) fn is_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7F
}

fn parse_mode(rest: &str) -> Result<GfxMode, CommandError> {
    let value = rest.trim_matches(|c: char| c.is_ascii_whitespace());
    if value.is_empty() {
        return Err(CommandError::MissingMode);
    }
    let number = value
        .parse::<u8>()
        .ok()
        .filter(|_| value.bytes().all(|b| b.is_ascii_digit()));
    match number {
        Some(n) => Ok(GfxMode::from_wire(n)?),
        None => {
            // Keep the echo short: it ends up in an error packet.
            let shown: String = value.chars().take(16).collect();
            Err(CommandError::BadMode(shown))
        }
    }
}

fn parse_error_delivery(rest: &str) -> Result<ErrorDelivery, CommandError> {
    let value = rest.trim_matches(|c: char| c.is_ascii_whitespace());
    ErrorDelivery::ALL
        .into_iter()
        .find(|d| value.eq_ignore_ascii_case(d.as_str()))
        .ok_or_else(|| CommandError::UnknownErrorDelivery(value.chars().take(16).collect()))
}

impl fmt::Display for Command {
    /// Writes the command as a current client would send it, so that
    /// `Command::parse(&c.to_string()) == Ok(c)` for commands whose texts
    /// contain no double quotes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Gfx(mode) => write!(f, "gfx {}", mode.wire()),
            Command::Search(terms) => write!(f, "search \"{terms}\""),
            Command::Gen {
                model: None,
                prompt,
            } => write!(f, "gen \"{prompt}\""),
            Command::Gen {
                model: Some(model),
                prompt,
            } => write!(f, "gen {model} \"{prompt}\""),
            Command::GenGemini(prompt) => write!(f, "gen-gemini \"{prompt}\""),
            Command::ShowUrl(urls) => {
                f.write_str("showurl")?;
                urls.iter().try_for_each(|url| write!(f, " {url}"))
            }
            Command::Files => f.write_str("files"),
            Command::Video => f.write_str("video"),
            Command::Next => f.write_str("next"),
            Command::Quit => f.write_str("quit"),
            Command::OpenAiConfig { param, value } => {
                f.write_str("openai-config")?;
                if let Some(param) = param {
                    write!(f, " {param}")?;
                    if let Some(value) = value {
                        write!(f, " \"{value}\"")?;
                    }
                }
                Ok(())
            }
            Command::Errors(delivery) => write!(f, "errors {}", delivery.as_str()),
            Command::Http(method) => write!(f, "{} / HTTP/1.1", method.as_str()),
            Command::Unknown(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen_cmd(model: Option<&str>, prompt: &str) -> Command {
        Command::Gen {
            model: model.map(str::to_owned),
            prompt: prompt.to_owned(),
        }
    }

    #[test]
    fn both_client_generations_parse() {
        assert_eq!(Command::parse("gfx 2 "), Ok(Command::Gfx(GfxMode::Gr8)));
        assert_eq!(
            Command::parse("gfx 17"),
            Ok(Command::Gfx(GfxMode::VbxeLegacy))
        );
        assert_eq!(Command::parse("gfx 42 "), Ok(Command::Gfx(GfxMode::Random)));
        assert_eq!(
            Command::parse("search \"cats and dogs\""),
            Ok(Command::Search("cats and dogs".into()))
        );
        assert_eq!(
            Command::parse("sea \"cats\""),
            Ok(Command::Search("cats".into()))
        );
        assert_eq!(
            Command::parse("gen \"a red barn\""),
            Ok(gen_cmd(None, "a red barn"))
        );
        assert_eq!(
            Command::parse("gen dall-e-3 \"a red barn\""),
            Ok(gen_cmd(Some("dall-e-3"), "a red barn"))
        );
        assert_eq!(
            Command::parse("generate dall-e-3 \"a red barn\""),
            Ok(gen_cmd(Some("dall-e-3"), "a red barn"))
        );
        assert_eq!(
            Command::parse("gen a red barn"),
            Ok(gen_cmd(None, "a red barn"))
        );
        assert_eq!(
            Command::parse("generate a red barn"),
            Ok(gen_cmd(None, "a red barn"))
        );
        assert_eq!(
            Command::parse("gen-gemini a red barn"),
            Ok(Command::GenGemini("a red barn".into()))
        );
        assert_eq!(
            Command::parse("gen-gemini \"a red barn\""),
            Ok(Command::GenGemini("a red barn".into()))
        );
        // The legacy client puts two spaces after `showurl`.
        assert_eq!(
            Command::parse("showurl  http://example.com/cat.jpg"),
            Ok(Command::ShowUrl(vec!["http://example.com/cat.jpg".into()]))
        );
        assert_eq!(Command::parse("files"), Ok(Command::Files));
        assert_eq!(Command::parse("video"), Ok(Command::Video));
        assert_eq!(Command::parse("camera"), Ok(Command::Video));
        assert_eq!(Command::parse("NEXT"), Ok(Command::Next));
        assert_eq!(Command::parse("quit\r\n"), Ok(Command::Quit));
        assert_eq!(
            Command::parse("openai-config model dall-e-2"),
            Ok(Command::OpenAiConfig {
                param: Some("model".into()),
                value: Some("dall-e-2".into())
            })
        );
        assert_eq!(
            Command::parse("openai-config"),
            Ok(Command::OpenAiConfig {
                param: None,
                value: None
            })
        );
        assert_eq!(
            Command::parse("GET / HTTP/1.1"),
            Ok(Command::Http(HttpMethod::Get))
        );
        assert_eq!(
            Command::parse("hello there"),
            Ok(Command::Unknown("hello there".into()))
        );
        assert_eq!(
            Command::parse("se cats"),
            Ok(Command::Unknown("se cats".into()))
        );
    }

    #[test]
    fn bad_gfx_values_are_typed_errors() {
        assert_eq!(
            Command::parse("gfx 99"),
            Err(CommandError::UnknownMode(UnknownMode(99)))
        );
        assert_eq!(
            Command::parse("gfx 99999999999"),
            Err(CommandError::BadMode("99999999999".into()))
        );
        assert_eq!(
            Command::parse("gfx -1"),
            Err(CommandError::BadMode("-1".into()))
        );
        assert_eq!(
            Command::parse("gfx +2"),
            Err(CommandError::BadMode("+2".into()))
        );
        assert_eq!(Command::parse("gfx"), Err(CommandError::MissingMode));
        assert!(Command::parse("gfx 99").unwrap_err().is_gfx_error());
        assert_eq!(Command::parse("next\0"), Err(CommandError::ControlByte(0)));
    }

    #[test]
    fn errors_chooses_how_failures_are_told_and_expects_no_reply() {
        assert_eq!(
            Command::parse("errors packets"),
            Ok(Command::Errors(ErrorDelivery::Packets))
        );
        assert_eq!(
            Command::parse("ERRORS Auto\n"),
            Ok(Command::Errors(ErrorDelivery::Auto))
        );
        for bad in ["errors", "errors text", "errors packets now"] {
            let error = Command::parse(bad).unwrap_err();
            assert!(
                matches!(error, CommandError::UnknownErrorDelivery(_)),
                "{bad}"
            );
            assert!(error.expects_no_reply() && !error.is_gfx_error(), "{bad}");
        }
        assert!(Command::parse("gfx 99").unwrap_err().expects_no_reply());
        assert!(!CommandError::NotUtf8.expects_no_reply());
        assert_eq!(
            Command::Errors(ErrorDelivery::Packets).to_string(),
            "errors packets"
        );
    }

    #[test]
    fn display_is_what_the_current_client_sends() {
        assert_eq!(Command::Gfx(GfxMode::Gr9).to_string(), "gfx 4");
        assert_eq!(
            gen_cmd(Some("dall-e-3"), "x y").to_string(),
            "gen dall-e-3 \"x y\""
        );
        assert_eq!(
            Command::Search("cats".into()).to_string(),
            "search \"cats\""
        );
    }
}
