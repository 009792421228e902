//! A session's generation settings and the `openai-config` text protocol
//! that shows and changes them. A client may change its own settings
//! within the allowed values, and can never read or set a key.

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
/// them within what `models` allows. `Ok` is the text to show.
pub(crate) fn configure(
    settings: &mut GenSettings,
    models: &ModelPolicy,
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
        ("size", Some(size)) => choose(&SIZES, size, "size", &mut settings.size),
        ("quality", None) => Ok(format!("quality={}", settings.quality)),
        ("quality", Some(quality)) => choose(&QUALITIES, quality, "quality", &mut settings.quality),
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

fn choose(
    choices: &'static [&'static str],
    value: &str,
    setting: &'static str,
    slot: &mut String,
) -> Result<String, SettingError> {
    match choices.iter().find(|c| c.eq_ignore_ascii_case(value)) {
        Some(found) => {
            (*found).clone_into(slot);
            Ok(format!("{setting}={found}"))
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
        let mut set = |param, value| configure(&mut mine, &models, Some(param), Some(value));
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
        let shown = configure(&mut mine, &models, None, None).unwrap_or_default();
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
            configure(&mut mine, &models, Some("size"), Some("huge")).map_err(|e| e.to_string()),
            Err(String::from(
                "size must be one of: auto, 1024x1024, 1536x1024, 1024x1536"
            ))
        );
        assert_eq!(
            configure(&mut mine, &models, Some("model"), Some("dall-e-3")),
            Err(SettingError::ModelNotAllowed {
                model: String::from("dall-e-3"),
                allowed: String::from("gpt-image-1-mini"),
            })
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
                let answer = configure(&mut mine, &models, Some(param), value);
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
