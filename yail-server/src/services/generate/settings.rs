//! A session's generation settings and the `openai-config` text protocol
//! that shows and changes them. A client may change its own settings
//! within the allowed values and the operator's ceilings ([`Ceilings`]),
//! and can never read or set a key.

use super::error::GenError;
use super::models::ModelPolicy;

/// Longest prompt sent, system prompt included, in characters.
pub(super) const MAX_PROMPT_CHARS: usize = 2000;
/// Longest system prompt a client may set for its session.
const MAX_SYSTEM_PROMPT_CHARS: usize = 200;
/// Sizes a client may choose for OpenAI models.
const SIZES: [&str; 4] = ["auto", "1024x1024", "1536x1024", "1024x1536"];
/// Qualities a client may choose for OpenAI models.
const QUALITIES: [&str; 4] = ["low", "medium", "high", "auto"];

/// The largest size and highest quality a client may choose: what the
/// operator pays for at most. A client may choose less; a choice above a
/// ceiling is refused with the choices that remain (it is not quietly
/// lowered, so the Atari's user knows what they get).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ceilings {
    size: String,
    quality: String,
}

impl Ceilings {
    /// At most `size` (by pixels: `1024x1536` is as large as `1536x1024`;
    /// `auto` lets the API choose any) and `quality` (`low` < `medium` <
    /// `high`; `auto` lets the API choose up to `high`).
    pub(crate) fn new(size: &str, quality: &str) -> Ceilings {
        Ceilings {
            size: size.trim().to_ascii_lowercase(),
            quality: quality.trim().to_ascii_lowercase(),
        }
    }

    /// Whether a client may choose `size`.
    pub(crate) fn allows_size(&self, size: &str) -> bool {
        pixels(size) <= pixels(&self.size)
    }

    /// Whether a client may choose `quality`.
    pub(crate) fn allows_quality(&self, quality: &str) -> bool {
        quality_rank(quality) <= quality_rank(&self.quality)
    }

    /// The largest size a client may choose.
    pub(crate) fn size(&self) -> &str {
        &self.size
    }

    /// The highest quality a client may choose.
    pub(crate) fn quality(&self) -> &str {
        &self.quality
    }
}

/// The pixels of a size, `WIDTHxHEIGHT`; `auto` is the largest size an
/// API chooses by itself (the standard 1536x1024), and a ceiling that is
/// neither (a size this server does not know) bounds nothing.
fn pixels(size: &str) -> u64 {
    if size.eq_ignore_ascii_case("auto") {
        return 1536 * 1024;
    }
    let parsed = size
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some(w.trim().parse::<u64>().ok()? * h.trim().parse::<u64>().ok()?));
    parsed.unwrap_or(u64::MAX)
}

/// Quality by price: `auto` may be priced as `high`; a quality this server
/// does not know bounds nothing.
fn quality_rank(quality: &str) -> u8 {
    match quality.to_ascii_lowercase().as_str() {
        "low" => 0,
        "medium" => 1,
        "high" | "auto" => 2,
        _ => u8::MAX,
    }
}

/// One session's generation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GenSettings {
    pub(crate) model: String,
    pub(crate) size: String,
    pub(crate) quality: String,
    /// Put before every prompt of the session (empty: nothing).
    pub(crate) system_prompt: String,
}

impl GenSettings {
    /// The prompt sent for a client's `prompt`: the session's system
    /// prompt, then the client's, bounded.
    pub(crate) fn full_prompt(&self, prompt: &str) -> Result<String, GenError> {
        let prompt = prompt.trim();
        if prompt.is_empty() {
            return Err(GenError::EmptyPrompt);
        }
        let full = if self.system_prompt.is_empty() {
            prompt.to_owned()
        } else {
            format!("{}\n\n{prompt}", self.system_prompt)
        };
        Ok(full.chars().take(MAX_PROMPT_CHARS).collect())
    }
}

/// Why `openai-config` refused a change. The text is what the Atari prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SettingError {
    /// A key, token or secret was named.
    #[error("keys cannot be read or changed from a client")]
    Secret,
    /// A model that is not allowed here.
    #[error("model {model} is not allowed here; choose one of: {allowed}")]
    ModelNotAllowed { model: String, allowed: String },
    /// A value not among the choices.
    #[error("{setting} must be one of: {}", choices.join(", "))]
    NotAChoice {
        setting: &'static str,
        choices: &'static [&'static str],
    },
    /// A value above what the operator allows.
    #[error("{setting} {value} is more than this server allows; choose {allowed}")]
    AboveCeiling {
        setting: &'static str,
        value: String,
        /// "one of: ..." or the ceiling itself.
        allowed: String,
    },
    /// A system prompt longer than allowed.
    #[error("system_prompt is limited to {0} characters")]
    SystemPromptTooLong(usize),
    /// `style`, which the current models do not take.
    #[error("style is not used by current image models; describe the style in the prompt")]
    StyleUnused,
    /// A setting nobody knows.
    #[error("unknown setting {0}; settings: model, size, quality, system_prompt")]
    Unknown(String),
}

/// `openai-config [param] [value]`: shows `settings` or changes one of
/// them within what `models` and `ceilings` allow. `Ok` is the text to show.
pub(crate) fn configure(
    settings: &mut GenSettings,
    models: &ModelPolicy,
    ceilings: &Ceilings,
    param: Option<&str>,
    value: Option<&str>,
) -> Result<String, SettingError> {
    let Some(param) = param.map(str::to_ascii_lowercase) else {
        return Ok(describe(settings, models));
    };
    if param.contains("key") || param.contains("token") || param.contains("secret") {
        return Err(SettingError::Secret);
    }
    let value = value.map(str::trim);
    match (param.as_str(), value) {
        ("model", None) => Ok(format!("model={}", settings.model)),
        ("model", Some(model)) if models.is_allowed(model) => {
            model.clone_into(&mut settings.model);
            Ok(format!("model={model}"))
        }
        ("model", Some(model)) => Err(SettingError::ModelNotAllowed {
            model: model.to_owned(),
            allowed: models.allowed_list(),
        }),
        ("size", None) => Ok(format!("size={}", settings.size)),
        ("size", Some(size)) => {
            let allowed = |s: &str| ceilings.allows_size(s);
            let slot = &mut settings.size;
            choose(&SIZES, (ceilings.size(), allowed), size, "size", slot)
        }
        ("quality", None) => Ok(format!("quality={}", settings.quality)),
        ("quality", Some(quality)) => {
            let allowed = |q: &str| ceilings.allows_quality(q);
            let slot = &mut settings.quality;
            choose(
                &QUALITIES,
                (ceilings.quality(), allowed),
                quality,
                "quality",
                slot,
            )
        }
        ("system_prompt", None) => Ok(format!("system_prompt={}", settings.system_prompt)),
        ("system_prompt", Some(text)) => {
            if text.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
                return Err(SettingError::SystemPromptTooLong(MAX_SYSTEM_PROMPT_CHARS));
            }
            let text = if text.eq_ignore_ascii_case("none") {
                ""
            } else {
                text
            };
            text.clone_into(&mut settings.system_prompt);
            Ok(format!("system_prompt={text}"))
        }
        ("style", _) => Err(SettingError::StyleUnused),
        (other, _) => Err(SettingError::Unknown(other.to_owned())),
    }
}

/// Sets `slot` to the one of `choices` that `value` names, if the ceiling
/// (its value, and whether it allows a choice) lets it.
fn choose(
    choices: &'static [&'static str],
    (ceiling, allowed): (&str, impl Fn(&str) -> bool),
    value: &str,
    setting: &'static str,
    slot: &mut String,
) -> Result<String, SettingError> {
    match choices.iter().find(|c| c.eq_ignore_ascii_case(value)) {
        Some(found) if allowed(found) => {
            (*found).clone_into(slot);
            Ok(format!("{setting}={found}"))
        }
        Some(found) => {
            let within: Vec<&str> = choices.iter().copied().filter(|c| allowed(c)).collect();
            let allowed = if within.is_empty() {
                format!("{ceiling} (the server's own)")
            } else {
                format!("one of: {}", within.join(", "))
            };
            Err(SettingError::AboveCeiling {
                setting,
                value: (*found).to_owned(),
                allowed,
            })
        }
        None => Err(SettingError::NotAChoice { setting, choices }),
    }
}

fn describe(settings: &GenSettings, models: &ModelPolicy) -> String {
    let system = if settings.system_prompt.is_empty() {
        "none"
    } else {
        &settings.system_prompt
    };
    format!(
        "model={} size={} quality={} system_prompt={system}; models: {}",
        settings.model,
        settings.size,
        settings.quality,
        models.allowed_list()
    )
}

#[cfg(test)]
mod tests {
    use yail_state::ServerState;

    use super::*;

    fn policy(allowed: &[&str]) -> ModelPolicy {
        ModelPolicy::new(
            String::from("gpt-image-1-mini"),
            allowed.iter().map(|m| m.to_string()).collect(),
            ServerState::new(),
        )
    }

    /// Ceilings every choice is within.
    fn open() -> Ceilings {
        Ceilings::new("auto", "auto")
    }

    fn settings(models: &ModelPolicy) -> GenSettings {
        GenSettings {
            model: models.default_model(),
            size: String::from("1024x1024"),
            quality: String::from("low"),
            system_prompt: String::new(),
        }
    }

    #[test]
    fn openai_config_changes_only_allowed_values_of_the_session() {
        let models = policy(&["gpt-image-1.5"]);
        let mut mine = settings(&models);
        let theirs = settings(&models);
        let long = "x".repeat(201);
        let mut set =
            |param, value| configure(&mut mine, &models, &open(), Some(param), Some(value));
        assert_eq!(
            set("model", "gpt-image-1.5"),
            Ok(String::from("model=gpt-image-1.5"))
        );
        assert!(set("model", "dall-e-3").is_err());
        assert!(set("size", "4096x4096").is_err());
        assert!(set("quality", "HIGH").is_ok());
        assert!(set("system_prompt", &long).is_err());
        assert!(set("system_prompt", "pixel art").is_ok());
        assert_eq!(mine.model, "gpt-image-1.5");
        assert_eq!(mine.quality, "high");
        assert_eq!(mine.system_prompt, "pixel art");
        assert_eq!(theirs, settings(&models), "another session is untouched");
        let shown = configure(&mut mine, &models, &open(), None, None).unwrap_or_default();
        assert!(
            shown.contains("model=gpt-image-1.5 size=1024x1024 quality=high"),
            "{shown}"
        );
    }

    #[test]
    fn refusals_say_why() {
        let models = policy(&[]);
        let mut mine = settings(&models);
        assert_eq!(
            configure(&mut mine, &models, &open(), Some("size"), Some("huge"))
                .map_err(|e| e.to_string()),
            Err(String::from(
                "size must be one of: auto, 1024x1024, 1536x1024, 1024x1536"
            ))
        );
        assert_eq!(
            configure(&mut mine, &models, &open(), Some("model"), Some("dall-e-3")),
            Err(SettingError::ModelNotAllowed {
                model: String::from("dall-e-3"),
                allowed: String::from("gpt-image-1-mini"),
            })
        );
    }

    /// Found by the security review: with `--gen-quality low`, a client's
    /// `openai-config quality high` and `size 1536x1024` reached the API.
    #[test]
    fn a_client_cannot_choose_above_the_operators_ceilings() {
        let models = policy(&[]);
        let mut mine = settings(&models);
        let low = Ceilings::new("1024x1024", "low");
        let mut set = |param, value| {
            configure(&mut mine, &models, &low, Some(param), Some(value)).map_err(|e| e.to_string())
        };
        assert_eq!(
            set("quality", "high"),
            Err(String::from(
                "quality high is more than this server allows; choose one of: low"
            ))
        );
        assert_eq!(
            set("size", "1536x1024"),
            Err(String::from(
                "size 1536x1024 is more than this server allows; choose one of: 1024x1024"
            ))
        );
        assert!(
            set("size", "auto").is_err(),
            "auto may choose a larger size"
        );
        assert!(set("quality", "auto").is_err(), "auto may choose high");
        assert_eq!(set("quality", "low"), Ok(String::from("quality=low")));
        assert_eq!(mine.quality, "low");
        assert_eq!(mine.size, "1024x1024");

        let medium = Ceilings::new("1024x1536", "medium");
        let mut set =
            |param, value| configure(&mut mine, &models, &medium, Some(param), Some(value)).is_ok();
        assert!(set("quality", "medium") && set("quality", "low"));
        assert!(!set("quality", "high"));
        assert!(set("size", "1536x1024"), "as many pixels as the ceiling");
        assert!(set("size", "auto") && set("size", "1024x1024"));

        let tiny = Ceilings::new("512x512", "low");
        assert_eq!(
            configure(&mut mine, &models, &tiny, Some("size"), Some("1024x1024"))
                .map_err(|e| e.to_string()),
            Err(String::from(
                "size 1024x1024 is more than this server allows; choose 512x512 (the server's own)"
            ))
        );
    }

    #[test]
    fn keys_can_be_neither_read_nor_set_by_a_client() {
        let models = policy(&[]);
        let mut mine = settings(&models);
        for param in [
            "api_key",
            "openai_api_key",
            "KEY",
            "gemini-api-key",
            "token",
        ] {
            for value in [None, Some("sk-other")] {
                let answer = configure(&mut mine, &models, &open(), Some(param), value);
                assert_eq!(answer, Err(SettingError::Secret), "{param}");
            }
        }
    }

    #[test]
    fn prompts_join_the_system_prompt_and_are_bounded() {
        let mut settings = settings(&policy(&[]));
        assert_eq!(settings.full_prompt(" a cat "), Ok(String::from("a cat")));
        settings.system_prompt = String::from("retro");
        assert_eq!(
            settings.full_prompt("a cat"),
            Ok(String::from("retro\n\na cat"))
        );
        assert_eq!(settings.full_prompt("  "), Err(GenError::EmptyPrompt));
        settings.system_prompt.clear();
        let long = settings.full_prompt(&"x".repeat(5000)).unwrap_or_default();
        assert_eq!(long.chars().count(), MAX_PROMPT_CHARS);
    }
}
