//! Which API serves a model, and the model names each API has retired.

/// Which API a model is served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Backend {
    OpenAi,
    Gemini,
}

impl Backend {
    /// Both backends, in the order the admin page and `--check` list them.
    pub(crate) const ALL: [Backend; 2] = [Backend::OpenAi, Backend::Gemini];

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

    /// The flag that sets this backend's key.
    pub(crate) fn key_flag(self) -> &'static str {
        match self {
            Backend::OpenAi => "--openai-api-key (OPENAI_API_KEY)",
            Backend::Gemini => "--gemini-api-key (GEMINI_API_KEY)",
        }
    }

    /// The flag that sets this backend's address.
    pub(crate) fn url_flag(self) -> &'static str {
        match self {
            Backend::OpenAi => "--openai-base-url",
            Backend::Gemini => "--gemini-base-url",
        }
    }
}

/// Whether `model` is a name its API has shut down for good: the names
/// older configurations and the legacy client (`gen dall-e-3 ...`) still
/// use. Consulted only while the API's model list is unknown; a list that
/// offers the name wins (an OpenAI-compatible server may serve a model
/// under an old name).
///
/// - OpenAI: `dall-e-2` and `dall-e-3` were shut down on 2026-05-12,
///   `gpt-image-1` on 2026-10-23, `gpt-image-1-mini`, `gpt-image-1.5` and
///   `chatgpt-image-latest` on 2026-12-01
///   (<https://developers.openai.com/api/docs/deprecations>).
/// - Gemini: the image previews (`gemini-3-pro-image-preview`,
///   `gemini-3.1-flash-image-preview`) were shut down on 2026-06-25,
///   `gemini-2.5-flash-image` on 2026-10-02, and the 2.0 experimental
///   image models before them
///   (<https://ai.google.dev/gemini-api/docs/deprecations>).
pub(crate) fn is_retired(model: &str) -> bool {
    let model = model.trim().to_ascii_lowercase();
    match Backend::of(&model) {
        Backend::OpenAi => {
            model.starts_with("dall-e-")
                || model.starts_with("gpt-image-1")
                || model.starts_with("chatgpt-image")
        }
        Backend::Gemini => {
            let image = model.split('-').any(|part| part == "image");
            let old = model.starts_with("gemini-1") || model.starts_with("gemini-2");
            let preview = model
                .split('-')
                .any(|part| part == "preview" || part == "exp");
            image && (old || preview)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_models_go_to_gemini_and_the_rest_to_openai() {
        assert_eq!(Backend::of("gemini-3-pro-image"), Backend::Gemini);
        assert_eq!(Backend::of("Gemini-3-flash-image"), Backend::Gemini);
        assert_eq!(Backend::of("gpt-image-2"), Backend::OpenAi);
        assert_eq!(Backend::of("dall-e-3"), Backend::OpenAi);
    }

    #[test]
    fn shut_down_names_are_retired_and_current_ones_are_not() {
        for retired in [
            "dall-e-2",
            "dall-e-3",
            "gpt-image-1",
            "gpt-image-1-mini",
            "gpt-image-1.5",
            "gpt-image-1.5-2025-12-16",
            "chatgpt-image-latest",
            "gemini-3-pro-image-preview",
            "gemini-3.1-flash-image-preview",
            "gemini-2.5-flash-image",
            "gemini-2.0-flash-exp-image-generation",
        ] {
            assert!(is_retired(retired), "{retired}");
        }
        for current in [
            "gpt-image-2",
            "gpt-image-2-2026-04-21",
            "gpt-image-2.6-flare",
            "gemini-3.1-flash-image",
            "gemini-3-pro-image",
            "my-local-model",
        ] {
            assert!(!is_retired(current), "{current}");
        }
    }
}
