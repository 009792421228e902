//! The flags, environment variables and defaults the documentation states
//! are the ones `yail-server` has: docs/configuration.md's tables and the
//! README's list of useful flags are read and held against the command
//! line itself (`Args::command()`), so neither can drift from the code.

use std::collections::BTreeMap;
use std::path::Path;

use clap::CommandFactory;
use clap::builder::ArgAction;
use yail_server::Args;

/// One flag as the command line defines it.
#[derive(Debug)]
struct Flag {
    env: Option<String>,
    /// The default values joined by commas ("false" for a switch), if any.
    default: Option<String>,
}

/// Every `--flag` of the server, by its long name.
fn flags() -> BTreeMap<String, Flag> {
    Args::command()
        .get_arguments()
        .filter_map(|arg| {
            let name = arg.get_long()?.to_string();
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            let values: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let default = match arg.get_action() {
                ArgAction::SetTrue => Some(String::from("false")),
                _ if values.is_empty() => None,
                _ => Some(values.join(",")),
            };
            Some((name, Flag { env, default }))
        })
        .filter(|(name, _)| name != "help" && name != "version")
        .collect()
}

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The first `code span` of a table cell or a piece of prose.
fn first_code(text: &str) -> Option<&str> {
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(&text[start..start + len])
}

#[test]
fn configuration_md_lists_every_flag_with_its_environment_and_default() {
    let flags = flags();
    let docs = read("../docs/configuration.md");
    let mut documented = Vec::new();
    for row in docs.lines().filter(|l| l.starts_with("| `--")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let (flag_cell, env_cell, default_cell) = (cells[1], cells[2], cells[3]);
        let name = first_code(flag_cell)
            .and_then(|f| f.strip_prefix("--"))
            .unwrap_or_else(|| panic!("no flag in {row}"));
        let flag = flags
            .get(name)
            .unwrap_or_else(|| panic!("--{name} is documented but is no flag"));
        documented.push(name.to_string());

        let env = first_code(env_cell);
        assert_eq!(env, flag.env.as_deref(), "environment of --{name}");

        // "none..." or "off...": the flag has no default (off for a
        // switch); otherwise the first code span is the default.
        let words = default_cell.to_ascii_lowercase();
        let stated = if words.starts_with("none") {
            None
        } else if words.starts_with("off") {
            Some("false")
        } else {
            Some(
                first_code(default_cell)
                    .unwrap_or_else(|| panic!("--{name}: a default in `code`, or none/off")),
            )
        };
        assert_eq!(stated, flag.default.as_deref(), "default of --{name}");
    }
    let missing: Vec<&String> = flags.keys().filter(|f| !documented.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "flags missing from docs/configuration.md: {missing:?}"
    );
}

#[test]
fn the_readme_states_the_defaults_of_the_flags_it_names() {
    let flags = flags();
    let readme = read("../README.md");
    let start = readme.find("Useful flags").expect("the README's flag list");
    let end = readme[start..]
        .find("\n\n")
        .map_or(readme.len(), |n| start + n);
    let list = readme[start..end].replace('\n', " ");
    let mut named = 0;
    let mut rest = list.as_str();
    while let Some(at) = rest.find("`--") {
        rest = &rest[at + 3..];
        let close = rest.find('`').expect("a closed code span");
        let (flag, after) = (&rest[..close], &rest[close + 1..]);
        rest = after;
        let (name, choices) = flag.split_once(' ').unwrap_or((flag, ""));
        let known = flags
            .get(name)
            .unwrap_or_else(|| panic!("the README names --{name}, which is no flag"));
        named += 1;
        // `--tv ntsc|pal`: the first choice is the default.
        if let Some(first) = choices.split('|').next().filter(|c| !c.is_empty()) {
            assert_eq!(Some(first), known.default.as_deref(), "--{name}");
        }
        // `--port` (5556): the default, before any remark.
        if let Some(stated) = after.strip_prefix(" (") {
            let value = stated
                .split([' ', ':', ')'])
                .next()
                .unwrap_or_default()
                .trim_end_matches(',');
            assert_eq!(Some(value), known.default.as_deref(), "--{name}");
        }
    }
    assert!(named > 10, "only {named} flags found in the README's list");
}
