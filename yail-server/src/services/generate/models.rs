//! Which models a client may use: the default one and the others allowed
//! (`--gen-model`, `--allowed-models`, or the admin page's runtime settings
//! while they are set), what a client gets when it names another, and the
//! Gemini model of `gen-gemini` (`--gemini-model`). These are names as
//! configured; `discovery` says which model each stands for today.

use tracing::info;
use yail_state::ServerState;

use super::backend::Backend;
use crate::config::{Config, defaults};

/// The default model and the others a client may choose, as they are now.
struct Models {
    default: String,
    allowed: Vec<String>,
}

/// The models policy: configured defaults, overridden by the admin page's
/// runtime settings (read from `state`) while those are set.
pub(crate) struct ModelPolicy {
    default_model: String,
    gemini_model: String,
    allowed_models: Vec<String>,
    state: ServerState,
    /// Whether the server has a key for OpenAI, for Gemini.
    keys: [bool; 2],
}

impl ModelPolicy {
    /// A policy with `default_model` and `allowed_models`, both backends
    /// taken as having a key.
    pub(crate) fn new(
        default_model: String,
        allowed_models: Vec<String>,
        state: ServerState,
    ) -> ModelPolicy {
        ModelPolicy {
            default_model,
            gemini_model: String::from(defaults::GEMINI_MODEL),
            allowed_models,
            state,
            keys: [true, true],
        }
    }

    /// The policy `config` describes.
    pub(crate) fn configured(config: &Config, state: ServerState) -> ModelPolicy {
        ModelPolicy {
            gemini_model: config.gemini_model.clone(),
            keys: [
                config.openai_api_key.is_some(),
                config.gemini_api_key.is_some(),
            ],
            ..ModelPolicy::new(
                config.gen_model.clone(),
                config.allowed_models.clone(),
                state,
            )
        }
    }

    fn has_key(&self, backend: Backend) -> bool {
        match backend {
            Backend::OpenAi => self.keys[0],
            Backend::Gemini => self.keys[1],
        }
    }

    /// Each backend's own model as configured: for OpenAI `--gen-model`
    /// when it names an OpenAI model (else the built-in default), for
    /// Gemini `--gemini-model`.
    pub(crate) fn primary(&self, backend: Backend) -> String {
        match backend {
            Backend::OpenAi if Backend::of(&self.default_model) == Backend::OpenAi => {
                self.default_model.clone()
            }
            Backend::OpenAi => String::from(defaults::GEN_MODEL),
            Backend::Gemini => self.gemini_model.clone(),
        }
    }

    /// The names the configuration itself gives (not the admin page's),
    /// for checking them against the model lists at start.
    pub(crate) fn configured_names(&self) -> Vec<String> {
        let mut names = vec![self.default_model.clone(), self.gemini_model.clone()];
        names.extend(self.allowed_models.iter().cloned());
        names.dedup();
        names
    }

    fn models(&self) -> Models {
        let runtime = self.state.runtime_settings();
        Models {
            default: runtime
                .default_model
                .clone()
                .unwrap_or_else(|| self.default_model.clone()),
            allowed: runtime
                .allowed_models
                .clone()
                .unwrap_or_else(|| self.allowed_models.clone()),
        }
    }

    /// The model a new session starts with: the default one, unless only
    /// the other backend has a key (a server with only a Gemini key
    /// generates with Gemini).
    pub(crate) fn default_model(&self) -> String {
        let default = self.models().default;
        let backend = Backend::of(&default);
        let other = match backend {
            Backend::OpenAi => Backend::Gemini,
            Backend::Gemini => Backend::OpenAi,
        };
        if !self.has_key(backend) && self.has_key(other) {
            self.primary(other)
        } else {
            default
        }
    }

    /// Whether a client may use `model`.
    pub(crate) fn is_allowed(&self, model: &str) -> bool {
        let models = self.models();
        model == models.default || models.allowed.iter().any(|m| m == model)
    }

    /// The model to use when a client asks for `asked`: itself when
    /// allowed, else the session's model (and the log says so). Legacy
    /// clients name retired models such as `dall-e-3`.
    pub(crate) fn choose(&self, asked: Option<&str>, session_model: &str) -> String {
        match asked.map(str::trim).filter(|m| !m.is_empty()) {
            Some(model) if self.is_allowed(model) => model.to_owned(),
            Some(model) => {
                info!(asked = model, using = %session_model, "model not allowed; using the session's");
                session_model.to_owned()
            }
            None => session_model.to_owned(),
        }
    }

    /// The model `gen-gemini` uses: the session's model when it is a
    /// Gemini model, else `--gemini-model`. Always a Gemini model: without
    /// a Gemini key, `gen-gemini` says so rather than using OpenAI.
    pub(crate) fn gemini(&self, session_model: &str) -> String {
        if Backend::of(session_model) == Backend::Gemini {
            session_model.to_owned()
        } else {
            self.gemini_model.clone()
        }
    }

    /// Every model a client may choose, the default first, for messages.
    pub(crate) fn allowed_list(&self) -> String {
        let models = self.models();
        let mut names = vec![models.default.as_str()];
        names.extend(
            models
                .allowed
                .iter()
                .map(String::as_str)
                .filter(|m| *m != models.default),
        );
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str]) -> ModelPolicy {
        ModelPolicy::new(
            String::from("gpt-image-2"),
            allowed.iter().map(|m| m.to_string()).collect(),
            ServerState::new(),
        )
    }

    #[test]
    fn the_admin_page_changes_the_default_and_allowed_models() {
        let state = ServerState::new();
        let policy = ModelPolicy::new(String::from("gpt-image-2"), Vec::new(), state.clone());
        assert!(!policy.is_allowed("gpt-image-2.6-flare"));
        state.set_runtime_settings(yail_state::RuntimeSettings {
            default_model: Some(String::from("gpt-image-2.6-flare")),
            allowed_models: Some(vec![String::from("gemini-3-pro-image")]),
            ..yail_state::RuntimeSettings::default()
        });
        assert_eq!(policy.default_model(), "gpt-image-2.6-flare");
        assert!(policy.is_allowed("gemini-3-pro-image"));
        assert!(!policy.is_allowed("gpt-image-2"));
        state.set_runtime_settings(yail_state::RuntimeSettings::default());
        assert_eq!(policy.default_model(), "gpt-image-2");
    }

    #[test]
    fn a_model_a_client_names_is_used_only_when_allowed() {
        let policy = policy(&["gpt-image-2.6-flare"]);
        let session = policy.default_model();
        assert_eq!(
            policy.choose(Some("gpt-image-2.6-flare"), &session),
            "gpt-image-2.6-flare"
        );
        // The legacy client's saved default, a retired model.
        assert_eq!(policy.choose(Some("dall-e-3"), &session), "gpt-image-2");
        assert_eq!(policy.choose(None, &session), "gpt-image-2");
        assert_eq!(policy.choose(Some("  "), &session), "gpt-image-2");
    }

    #[test]
    fn gen_gemini_always_uses_a_gemini_model() {
        let session = policy(&[]).default_model();
        assert_eq!(policy(&[]).gemini(&session), defaults::GEMINI_MODEL);
        assert_eq!(
            policy(&[]).gemini("gemini-3-pro-image"),
            "gemini-3-pro-image",
            "the session's own Gemini model"
        );
    }

    #[test]
    fn a_server_with_only_a_gemini_key_generates_with_gemini() {
        let config = Config {
            gemini_api_key: Some(String::from("AIza-x")),
            gemini_model: String::from("gemini-3-pro-image"),
            ..Config::default()
        };
        let policy = ModelPolicy::configured(&config, ServerState::new());
        assert_eq!(policy.default_model(), "gemini-3-pro-image");
        let both = Config {
            openai_api_key: Some(String::from("sk-x")),
            ..config
        };
        let policy = ModelPolicy::configured(&both, ServerState::new());
        assert_eq!(policy.default_model(), defaults::GEN_MODEL);
        assert_eq!(policy.primary(Backend::Gemini), "gemini-3-pro-image");
    }
}
