//! What an Atari client writes for the request a person types.
//!
//! The YAIL clients take `search cats dogs`, `gen a red barn` or a URL at
//! their prompt and put them on the wire in their own shape; `yail fetch`
//! and `yail load` do the same, so a server sees exactly what an Atari
//! would send. Text that already has quotes is sent as typed.

use clap::ValueEnum;
use yail_proto::client::Dialect;

/// The client generation to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// The legacy client (v1.5.x): 6-byte `gfx`, `gen <model> "<prompt>"`.
    Legacy,
    /// The current client (v2.x): `gfx N `, `gen "<prompt>"`.
    Current,
}

impl From<DialectArg> for Dialect {
    fn from(arg: DialectArg) -> Dialect {
        match arg {
            DialectArg::Legacy => Dialect::Legacy,
            DialectArg::Current => Dialect::Current,
        }
    }
}

/// True for `search` and its abbreviations the legacy client lets through.
fn is_search(word: &str) -> bool {
    word.len() >= 3 && "search".starts_with(word)
}

/// True for `gen`, `generate` and the abbreviations in between.
fn is_generate(word: &str) -> bool {
    word.len() >= 3 && "generate".starts_with(word)
}

/// The bytes a client of `dialect` writes for the request `words`;
/// `model` is the legacy client's saved generation model.
pub fn wire_request(words: &[String], dialect: Dialect, model: &str) -> String {
    let typed = words.join(" ");
    let Some((first, rest)) = words.split_first() else {
        return typed;
    };
    let verb = first.to_ascii_lowercase();
    let rest = rest.join(" ");
    if verb.starts_with("http") {
        // Both clients send a URL as `showurl` with two spaces.
        return format!("showurl  {typed}");
    }
    if rest.is_empty() || rest.contains('"') {
        return typed;
    }
    if is_search(&verb) {
        let word = match dialect {
            Dialect::Legacy => first.as_str(),
            Dialect::Current => "search",
        };
        return format!("{word} \"{rest}\"");
    }
    if is_generate(&verb) {
        return match dialect {
            Dialect::Legacy => format!("{first} {model} \"{rest}\""),
            Dialect::Current => format!("gen \"{rest}\""),
        };
    }
    typed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(text: &str, dialect: Dialect) -> String {
        let words: Vec<String> = text.split(' ').map(String::from).collect();
        wire_request(&words, dialect, "dall-e-3")
    }

    #[test]
    fn requests_take_the_shape_each_client_gives_them() {
        use Dialect::{Current, Legacy};
        assert_eq!(wire("files", Legacy), "files");
        assert_eq!(wire("search cats dogs", Current), "search \"cats dogs\"");
        assert_eq!(wire("sea cats", Legacy), "sea \"cats\"");
        assert_eq!(wire("sea cats", Current), "search \"cats\"");
        assert_eq!(
            wire("gen a red barn", Legacy),
            "gen dall-e-3 \"a red barn\""
        );
        assert_eq!(wire("generate a red barn", Current), "gen \"a red barn\"");
        assert_eq!(
            wire("http://127.0.0.1/a.jpg", Legacy),
            "showurl  http://127.0.0.1/a.jpg"
        );
        // Already quoted, or not a verb the clients reshape: as typed.
        assert_eq!(wire("search \"cats\"", Current), "search \"cats\"");
        assert_eq!(wire("openai-config model", Current), "openai-config model");
        assert_eq!(wire("se x", Current), "se x");
    }
}
