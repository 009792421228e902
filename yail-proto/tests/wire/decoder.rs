//! The decoder finds the same commands however TCP cuts the stream.
//!
//! Sessions are modelled as the real clients write them: a burst of writes
//! sent back to back (which TCP may merge or split anywhere), then a pause
//! while the client waits for a packet.

use bytes::BytesMut;
use proptest::prelude::*;
use yail_proto::{Command, CommandDecoder, GfxMode};

/// Writes sent without a pause between them, and the commands they carry.
#[derive(Debug, Clone)]
struct Burst {
    writes: Vec<Vec<u8>>,
    expected: Vec<Command>,
}

impl Burst {
    fn new() -> Burst {
        Burst {
            writes: Vec::new(),
            expected: Vec::new(),
        }
    }

    fn write(mut self, bytes: impl Into<Vec<u8>>, command: Option<Command>) -> Burst {
        self.writes.push(bytes.into());
        self.expected.extend(command);
        self
    }
}

fn words() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-z0-9]{1,8}", 1..5).prop_map(|w| w.join(" "))
}

fn concrete_or_random_mode() -> impl Strategy<Value = GfxMode> {
    proptest::sample::select(GfxMode::ALL.to_vec())
}

/// What the user asked for, as each client writes it.
#[derive(Debug, Clone)]
enum Request {
    Search(String, String),
    Gen(String, String),
    ShowUrl(String),
    Video,
    Files,
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (
            proptest::sample::select(vec!["search", "sea", "sear"]),
            words()
        )
            .prop_map(|(verb, terms)| Request::Search(verb.into(), terms)),
        (
            proptest::sample::select(vec!["dall-e-3", "dall-e-2", "gemini"]),
            words()
        )
            .prop_map(|(model, prompt)| Request::Gen(model.into(), prompt)),
        "[a-z]{1,10}".prop_map(|name| Request::ShowUrl(format!("http://example.com/{name}.jpg"))),
        Just(Request::Video),
        Just(Request::Files),
    ]
}

/// The legacy client (v1.5.x): `gfx` is exactly 6 bytes of `"gfx %d "`,
/// `gen` carries the saved model name, `showurl` has two spaces.
fn legacy_session() -> impl Strategy<Value = Vec<Burst>> {
    (concrete_or_random_mode(), request(), 0..4usize).prop_map(|(mode, request, nexts)| {
        let gfx = format!("gfx {} ", mode.wire()).into_bytes()[..6].to_vec();
        let (bytes, command) = match request {
            Request::Search(verb, terms) => (format!("{verb} \"{terms}\""), Command::Search(terms)),
            Request::Gen(model, prompt) => (
                format!("gen {model} \"{prompt}\""),
                Command::Gen {
                    model: Some(model),
                    prompt,
                },
            ),
            Request::ShowUrl(url) => (format!("showurl  {url}"), Command::ShowUrl(vec![url])),
            Request::Video => ("video".into(), Command::Video),
            Request::Files => ("files".into(), Command::Files),
        };
        let mut bursts = vec![
            Burst::new()
                .write(gfx, Some(Command::Gfx(mode)))
                .write(bytes, Some(command)),
        ];
        for _ in 0..nexts {
            bursts.push(Burst::new().write("next", Some(Command::Next)));
        }
        bursts.push(Burst::new().write("quit", Some(Command::Quit)));
        bursts
    })
}

/// The current client (v2.x): `gfx N ` with its space, `gen "prompt"`, and in
/// its random slideshow `gfx N next` as one write.
fn current_session() -> impl Strategy<Value = Vec<Burst>> {
    (
        concrete_or_random_mode(),
        request(),
        proptest::collection::vec(proptest::option::of(concrete_or_random_mode()), 0..4),
    )
        .prop_map(|(mode, request, nexts)| {
            let (bytes, command) = match request {
                Request::Search(_, terms) => {
                    (format!("search \"{terms}\""), Command::Search(terms))
                }
                Request::Gen(_, prompt) => (
                    format!("gen \"{prompt}\""),
                    Command::Gen {
                        model: None,
                        prompt,
                    },
                ),
                Request::ShowUrl(url) => (format!("showurl  {url}"), Command::ShowUrl(vec![url])),
                Request::Video => ("video".into(), Command::Video),
                Request::Files => ("files".into(), Command::Files),
            };
            let mut bursts = vec![
                Burst::new()
                    .write(format!("gfx {} ", mode.wire()), Some(Command::Gfx(mode)))
                    .write(bytes, Some(command)),
            ];
            for next in nexts {
                bursts.push(match next {
                    Some(m) => Burst {
                        writes: vec![format!("gfx {} next", m.wire()).into_bytes()],
                        expected: vec![Command::Gfx(m), Command::Next],
                    },
                    None => Burst::new().write("next", Some(Command::Next)),
                });
            }
            bursts.push(Burst::new().write("quit", Some(Command::Quit)));
            bursts
        })
}

/// Someone typing into `nc`: lines ending in `\n` or `\r\n`, sent as typed.
fn nc_session() -> impl Strategy<Value = Vec<Burst>> {
    (concrete_or_random_mode(), words(), any::<bool>()).prop_map(|(mode, terms, crlf)| {
        let end = if crlf { "\r\n" } else { "\n" };
        vec![
            Burst::new()
                .write(
                    format!("gfx {}{end}", mode.wire()),
                    Some(Command::Gfx(mode)),
                )
                .write(format!("search {terms}{end}"), Some(Command::Search(terms))),
            Burst::new()
                .write(format!("next{end}quit{end}"), None)
                .with(vec![Command::Next, Command::Quit]),
        ]
    })
}

impl Burst {
    fn with(mut self, commands: Vec<Command>) -> Burst {
        self.expected.extend(commands);
        self
    }
}

fn any_session() -> impl Strategy<Value = Vec<Burst>> {
    prop_oneof![legacy_session(), current_session(), nc_session()]
}

/// Feeds each burst cut at `cuts` (fractions of its length), with a pause
/// after each burst, and returns what the decoder produced.
fn run(bursts: &[Burst], cuts: &[Vec<prop::sample::Index>]) -> Vec<Command> {
    let mut decoder = CommandDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for (burst, cuts) in bursts.iter().zip(cuts) {
        let bytes: Vec<u8> = burst.writes.concat();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        points.dedup();
        for pair in points.windows(2) {
            buf.extend_from_slice(&bytes[pair[0]..pair[1]]);
            while let Some(c) = decoder
                .decode(&mut buf)
                .expect("no errors in client streams")
            {
                out.push(c);
            }
        }
        while let Some(c) = decoder
            .decode_idle(&mut buf)
            .expect("no errors in client streams")
        {
            out.push(c);
        }
    }
    out
}

proptest! {
    #[test]
    fn any_segmentation_gives_the_same_commands(
        bursts in any_session(),
        cuts in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..12), 8),
    ) {
        let expected: Vec<Command> = bursts.iter().flat_map(|b| b.expected.clone()).collect();
        prop_assert_eq!(run(&bursts, &cuts), expected);
    }

    #[test]
    fn one_byte_chunks_give_the_same_commands(bursts in any_session()) {
        let expected: Vec<Command> = bursts.iter().flat_map(|b| b.expected.clone()).collect();
        let mut decoder = CommandDecoder::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for burst in &bursts {
            for byte in burst.writes.concat() {
                buf.extend_from_slice(&[byte]);
                while let Some(c) = decoder.decode(&mut buf).unwrap() {
                    out.push(c);
                }
            }
            while let Some(c) = decoder.decode_idle(&mut buf).unwrap() {
                out.push(c);
            }
        }
        prop_assert_eq!(out, expected);
    }
}

#[test]
fn regression_gfx_17_merged_with_files() {
    // The 1.x Python server crashed on this; the 2.0 server answered with an error.
    let bursts = vec![
        Burst::new()
            .write("gfx 17", Some(Command::Gfx(GfxMode::VbxeLegacy)))
            .write("files", Some(Command::Files)),
    ];
    assert_eq!(run(&bursts, &[vec![]]), bursts[0].expected);
}

#[test]
fn regression_files_split_in_two_reads() {
    // The 2.0 Python server answered `fi` and `les` separately.
    let mut decoder = CommandDecoder::new();
    let mut buf = BytesMut::from(&b"fi"[..]);
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    buf.extend_from_slice(b"les");
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Command::Files)));
}
