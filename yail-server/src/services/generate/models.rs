//! Which models a client may use: the default one and the others allowed
//! (`--gen-model`, `--allowed-models`, or the admin page's runtime settings
//! while they are set), what a client gets when it names another, and
//! which API serves a model.

use tracing::info;
use yail_state::ServerState;

/// Which API a model is served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    OpenAi,
    Gemini,
}

impl Backend {
    /// The backend of `model`, by its name: `gemini-*` is Gemini's.
    pub(crate) fn of(model: &str) -> Backend {
        if model.to_ascii_lowercase().starts_with("gemini") {
            Backend::Gemini
        } else {
            Backend::OpenAi
        }
    }

    /// The service's name, for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::OpenAi => "OpenAI",
            Backend::Gemini => "Gemini",
        }
    }
}

/// The default model and the others a client may choose, as they are now.
struct Models {
    default: String,
    allowed: Vec<String>,
}

/// The models policy: configured defaults, overridden by the admin page's
/// runtime settings (read from `state`) while those are set.
pub(crate) struct ModelPolicy {
    default_model: String,
    allowed_models: Vec<String>,
    state: ServerState,
}

impl ModelPolicy {
    pub(crate) fn new(
        default_model: String,
        allowed_models: Vec<String>,
        state: ServerState,
    ) -> ModelPolicy {
        ModelPolicy {
            default_model,
            allowed_models,
            state,
        }
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

    /// The model a new session starts with.
    pub(crate) fn default_model(&self) -> String {
        self.models().default
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
    /// Gemini model, else the first allowed Gemini model, else the
    /// session's model.
    pub(crate) fn gemini(&self, session_model: &str) -> String {
        if Backend::of(session_model) == Backend::Gemini {
            return session_model.to_owned();
        }
        let models = self.models();
        std::iter::once(&models.default)
            .chain(&models.allowed)
            .find(|m| Backend::of(m) == Backend::Gemini)
            .cloned()
            .unwrap_or_else(|| {
                info!(using = %session_model, "gen-gemini without an allowed Gemini model");
                session_model.to_owned()
            })
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
            String::from("gpt-image-1-mini"),
            allowed.iter().map(|m| m.to_string()).collect(),
            ServerState::new(),
        )
    }

    #[test]
    fn the_admin_page_changes_the_default_and_allowed_models() {
        let state = ServerState::new();
        let policy = ModelPolicy::new(String::from("gpt-image-1-mini"), Vec::new(), state.clone());
        assert!(!policy.is_allowed("gpt-image-1.5"));
        state.set_runtime_settings(yail_state::RuntimeSettings {
            default_model: Some(String::from("gpt-image-1.5")),
            allowed_models: Some(vec![String::from("gemini-3-pro-image-preview")]),
            ..yail_state::RuntimeSettings::default()
        });
        assert_eq!(policy.default_model(), "gpt-image-1.5");
        assert!(policy.is_allowed("gemini-3-pro-image-preview"));
        assert!(!policy.is_allowed("gpt-image-1-mini"));
        state.set_runtime_settings(yail_state::RuntimeSettings::default());
        assert_eq!(policy.default_model(), "gpt-image-1-mini");
    }

    #[test]
    fn gemini_models_go_to_gemini_and_the_rest_to_openai() {
        assert_eq!(Backend::of("gemini-3-pro-image-preview"), Backend::Gemini);
        assert_eq!(Backend::of("Gemini-3-flash-image"), Backend::Gemini);
        assert_eq!(Backend::of("gpt-image-1-mini"), Backend::OpenAi);
        assert_eq!(Backend::of("dall-e-3"), Backend::OpenAi);
    }

    #[test]
    fn a_model_a_client_names_is_used_only_when_allowed() {
        let policy = policy(&["gpt-image-1.5"]);
        let session = policy.default_model();
        assert_eq!(
            policy.choose(Some("gpt-image-1.5"), &session),
            "gpt-image-1.5"
        );
        // The legacy client's saved default, a retired model.
        assert_eq!(
            policy.choose(Some("dall-e-3"), &session),
            "gpt-image-1-mini"
        );
        assert_eq!(policy.choose(None, &session), "gpt-image-1-mini");
        assert_eq!(policy.choose(Some("  "), &session), "gpt-image-1-mini");
    }

    #[test]
    fn gen_gemini_uses_an_allowed_gemini_model_when_there_is_one() {
        let session = policy(&[]).default_model();
        assert_eq!(policy(&[]).gemini(&session), "gpt-image-1-mini");
        let with_gemini = policy(&["gemini-3-pro-image-preview"]);
        assert_eq!(with_gemini.gemini(&session), "gemini-3-pro-image-preview");
    }
}
