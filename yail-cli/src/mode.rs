//! How a person names a graphics mode on the command line.
//!
//! Atari users know modes by BASIC's `GRAPHICS n`, so a bare number is a
//! GRAPHICS number: `8` is Graphics 8. The protocol numbers modes
//! differently (Graphics 8 travels as 2, and 8 on the wire is Graphics
//! 11), so a wire value must be asked for explicitly, as `wire:N`; a bare
//! number that is only a wire value is refused with the spelling to use.

use clap::builder::{PossibleValue, TypedValueParser};
use yail_core::GfxMode;

/// The prefix that marks a number as a wire value.
pub const WIRE_PREFIX: &str = "wire:";

/// The modes BASIC can select with `GRAPHICS n`, by that number.
const GRAPHICS_NUMBERS: [(u8, GfxMode); 5] = [
    (8, GfxMode::Gr8),
    (9, GfxMode::Gr9),
    (10, GfxMode::Gr10),
    (11, GfxMode::Gr11),
    (15, GfxMode::Gr15),
];

/// Every mode in the order help and completions list them, with what it is.
const MODES: [(GfxMode, &str); 9] = [
    (GfxMode::Gr8, "GRAPHICS 8: 320x220, 2 colours (wire 2)"),
    (GfxMode::Gr9, "GRAPHICS 9: 80x220, 16 greys (wire 4)"),
    (GfxMode::Gr10, "GRAPHICS 10: 80x220, 9 colours (wire 10)"),
    (
        GfxMode::Gr11,
        "GRAPHICS 11: 80x220, 15 hues and black (wire 8)",
    ),
    (GfxMode::Gr15, "GRAPHICS 15: 160x220, 4 greys (wire 6)"),
    (
        GfxMode::Vbxe,
        "VBXE 320x240, 255 colours, as the current client asks (wire 16)",
    ),
    (
        GfxMode::VbxeLegacy,
        "VBXE 320x240, 255 colours, as the legacy client asks (wire 17)",
    ),
    (GfxMode::VbxeHiRes, "VBXE 640x240, 15 colours (wire 18)"),
    (
        GfxMode::Random,
        "the server picks a mode per picture (wire 42)",
    ),
];

/// What the error messages list as the accepted spellings.
const ACCEPTED: &str = "a name (gr8 gr9 gr10 gr11 gr15 vbxe vbxe-legacy vbxe-hr random), \
     a GRAPHICS number (8 9 10 11 15) or wire:N (N = 2 4 6 8 10 16 17 18 42)";

/// The mode `text` names: a name, a GRAPHICS number or `wire:N`, in any
/// case and with surrounding spaces ignored.
pub fn parse_mode(text: &str) -> Result<GfxMode, String> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if let Some(number) = lower.strip_prefix(WIRE_PREFIX) {
        let number = number.trim();
        return number
            .parse::<u8>()
            .ok()
            .and_then(|value| GfxMode::from_wire(value).ok())
            .ok_or_else(|| {
                format!(
                    "wire value {number:?} is not a YAIL mode (wire values: 2 4 6 8 10 16 17 18 42)"
                )
            });
    }
    if let Some(mode) = MODES
        .iter()
        .map(|(mode, _)| *mode)
        .find(|m| m.name() == lower)
    {
        return Ok(mode);
    }
    if !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit()) {
        let graphics = GRAPHICS_NUMBERS
            .iter()
            .find(|(number, _)| lower.parse::<u8>() == Ok(*number));
        if let Some((_, mode)) = graphics {
            return Ok(*mode);
        }
        let as_wire = lower
            .parse::<u8>()
            .ok()
            .and_then(|v| GfxMode::from_wire(v).ok());
        return Err(match as_wire {
            Some(mode) => format!(
                "{trimmed} is not a GRAPHICS number YAIL serves (8 9 10 11 15); \
                 for the wire value {trimmed} ({mode}), write --gfx {mode} or --gfx {WIRE_PREFIX}{trimmed}"
            ),
            None => format!("GRAPHICS {trimmed} is not a YAIL mode; expected {ACCEPTED}"),
        });
    }
    Err(format!(
        "unknown graphics mode {trimmed:?}; expected {ACCEPTED}"
    ))
}

/// The value parser of every mode flag: [`parse_mode`], with the names
/// offered to help and to shell completion.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModeParser;

impl TypedValueParser for ModeParser {
    type Value = GfxMode;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<GfxMode, clap::Error> {
        let shown = value.to_string_lossy();
        parse_mode(&shown).map_err(|reason| {
            let flag = arg.map_or_else(|| "the mode".to_owned(), |a| a.to_string());
            command.clone().error(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value {shown:?} for {flag}: {reason}"),
            )
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(MODES.iter().map(|(mode, help)| {
            PossibleValue::new(mode.name()).help(*help)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bare_numbers_are_basic_graphics_numbers() {
        assert_eq!(parse_mode("8"), Ok(GfxMode::Gr8));
        assert_eq!(parse_mode("9"), Ok(GfxMode::Gr9));
        assert_eq!(parse_mode("10"), Ok(GfxMode::Gr10));
        assert_eq!(parse_mode("11"), Ok(GfxMode::Gr11));
        assert_eq!(parse_mode(" 15 "), Ok(GfxMode::Gr15));
    }

    #[test]
    fn wire_values_need_their_prefix() {
        assert_eq!(parse_mode("wire:8"), Ok(GfxMode::Gr11));
        assert_eq!(parse_mode("WIRE:2"), Ok(GfxMode::Gr8));
        assert_eq!(parse_mode("wire:17"), Ok(GfxMode::VbxeLegacy));
        let refused = parse_mode("2").expect_err("2 is only a wire value");
        assert!(refused.contains("--gfx gr8"), "{refused}");
        assert!(refused.contains("wire:2"), "{refused}");
        assert!(parse_mode("wire:9").is_err(), "9 is not a wire value");
        assert!(parse_mode("7").is_err());
        assert!(parse_mode("wire:").is_err());
        assert!(parse_mode("").is_err());
    }

    #[test]
    fn every_mode_has_a_name_and_is_offered() {
        for mode in GfxMode::ALL {
            assert_eq!(parse_mode(mode.name()), Ok(mode));
            assert_eq!(parse_mode(&mode.name().to_uppercase()), Ok(mode));
            assert!(MODES.iter().any(|(m, _)| *m == mode), "{mode} offered");
        }
    }

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in ".{0,40}") {
            let _ = parse_mode(&text);
        }

        #[test]
        fn numbers_are_graphics_numbers_and_prefixed_numbers_wire_values(value in 0u8..=255) {
            let graphics = GRAPHICS_NUMBERS.iter().find(|(n, _)| *n == value).map(|(_, m)| *m);
            prop_assert_eq!(parse_mode(&value.to_string()).ok(), graphics);
            prop_assert_eq!(
                parse_mode(&format!("wire:{value}")).ok(),
                GfxMode::from_wire(value).ok()
            );
        }
    }
}
