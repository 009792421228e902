// Over 500 lines because its unit tests sit beside the model choice, quota
// and openai-config rules they pin; the backends live in openai.rs and gemini.rs.
//! AI image generation: OpenAI's images API (through `async-openai`, so any
//! compatible server works) and Google Gemini's REST API.
//!
//! Generations cost the operator money, so everything a client can make the
//! server spend is bounded here: a timeout per generation (waiting for a
//! slot included), a global number of generations at once, a number per
//! client address per minute, and the models a client may choose. Every
//! session has its own [`GenSettings`]; a client may change its own within
//! the allowed values and can never read or set a key.

mod api;
mod gemini;
mod openai;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tracing::{info, warn};

use yail_state::ServerState;

use crate::config::Config;
use crate::fetch::Fetcher;
use crate::sync::lock;
use api::Answer;
pub(crate) use api::{GenError, GenSettings};

/// Longest prompt sent, system prompt included, in characters.
const MAX_PROMPT_CHARS: usize = 2000;
/// Longest system prompt a client may set for its session.
const MAX_SYSTEM_PROMPT_CHARS: usize = 200;
/// Sizes a client may choose for OpenAI models.
const SIZES: [&str; 4] = ["auto", "1024x1024", "1536x1024", "1024x1536"];
/// Qualities a client may choose for OpenAI models.
const QUALITIES: [&str; 4] = ["low", "medium", "high", "auto"];

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

    fn name(self) -> &'static str {
        match self {
            Backend::OpenAi => "OpenAI",
            Backend::Gemini => "Gemini",
        }
    }
}

/// A generated picture.
pub(crate) struct Generated {
    /// The picture file's bytes (PNG, JPEG, WebP...).
    pub(crate) bytes: Arc<[u8]>,
    /// Unique per generation, for the conversion cache.
    pub(crate) identity: String,
}

/// The default model and the others a client may choose.
struct Models {
    default: String,
    allowed: Vec<String>,
}

/// The generation service every session shares.
pub(crate) struct Generator {
    /// `--gen-model` and `--allowed-models`; the admin page's runtime
    /// settings, read from `state`, override them while set.
    default_model: String,
    allowed_models: Vec<String>,
    state: ServerState,
    default_size: String,
    default_quality: String,
    timeout: Duration,
    openai: Option<openai::OpenAi>,
    gemini: Option<gemini::Gemini>,
    /// Keys, to scrub from any text an API sends back.
    keys: Vec<String>,
    slots: Arc<Semaphore>,
    limiter: RateLimiter,
    generated: AtomicU64,
}

impl Generator {
    pub(crate) fn new(config: &Config, state: ServerState) -> Generator {
        let openai = config
            .openai_api_key
            .as_deref()
            .map(|key| openai::OpenAi::new(&config.openai_base_url, key));
        let gemini = config
            .gemini_api_key
            .as_deref()
            .and_then(|key| gemini::Gemini::new(&config.gemini_base_url, key));
        Generator {
            default_model: config.gen_model.clone(),
            allowed_models: config.allowed_models.clone(),
            state,
            default_size: config.gen_size.clone(),
            default_quality: config.gen_quality.clone(),
            timeout: config.gen_timeout,
            openai,
            gemini,
            keys: [&config.openai_api_key, &config.gemini_api_key]
                .into_iter()
                .flatten()
                .filter(|k| !k.is_empty())
                .cloned()
                .collect(),
            slots: Arc::new(Semaphore::new(config.gen_concurrency.max(1))),
            limiter: RateLimiter::new(config.gen_per_minute),
            generated: AtomicU64::new(0),
        }
    }

    /// The default model and the other allowed ones, as configured or as
    /// changed on the admin page since.
    fn models(&self) -> Models {
        let runtime = self.state.runtime_settings();
        Models {
            default: runtime
                .default_model
                .clone()
                .unwrap_or_else(|| self.default_model.clone()),
            allowed: if runtime.allowed_models.is_empty() {
                self.allowed_models.clone()
            } else {
                runtime.allowed_models.clone()
            },
        }
    }

    /// The settings a new session starts with.
    pub(crate) fn session_settings(&self) -> GenSettings {
        GenSettings {
            model: self.models().default,
            size: self.default_size.clone(),
            quality: self.default_quality.clone(),
            system_prompt: String::new(),
        }
    }

    /// True when at least one backend has a key.
    pub(crate) fn is_configured(&self) -> bool {
        self.openai.is_some() || self.gemini.is_some()
    }

    /// The longest a generation may take.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    fn is_allowed(&self, model: &str) -> bool {
        let models = self.models();
        model == models.default || models.allowed.iter().any(|m| m == model)
    }

    /// The model to use when a client asks for `asked`: itself when
    /// allowed, else the session's model (and the log says so). Legacy
    /// clients name retired models such as `dall-e-3`.
    pub(crate) fn choose_model(&self, asked: Option<&str>, session: &GenSettings) -> String {
        match asked.map(str::trim).filter(|m| !m.is_empty()) {
            Some(model) if self.is_allowed(model) => model.to_owned(),
            Some(model) => {
                info!(asked = model, using = %session.model, "model not allowed; using the session's");
                session.model.clone()
            }
            None => session.model.clone(),
        }
    }

    /// The model `gen-gemini` uses: the session's model when it is a
    /// Gemini model, else the first allowed Gemini model, else the
    /// session's model.
    pub(crate) fn gemini_model(&self, session: &GenSettings) -> String {
        if Backend::of(&session.model) == Backend::Gemini {
            return session.model.clone();
        }
        let models = self.models();
        std::iter::once(&models.default)
            .chain(&models.allowed)
            .find(|m| Backend::of(m) == Backend::Gemini)
            .cloned()
            .unwrap_or_else(|| {
                info!(using = %session.model, "gen-gemini without an allowed Gemini model");
                session.model.clone()
            })
    }

    /// `openai-config [param] [value]`: shows the session's settings or
    /// changes one. `Ok` is the text to show; `Err` says why a change was
    /// refused.
    pub(crate) fn configure(
        &self,
        settings: &mut GenSettings,
        param: Option<&str>,
        value: Option<&str>,
    ) -> Result<String, String> {
        let Some(param) = param.map(str::to_ascii_lowercase) else {
            return Ok(self.describe(settings));
        };
        if param.contains("key") || param.contains("token") || param.contains("secret") {
            return Err(String::from("keys cannot be read or changed from a client"));
        }
        let value = value.map(str::trim);
        match (param.as_str(), value) {
            ("model", None) => Ok(format!("model={}", settings.model)),
            ("model", Some(model)) if self.is_allowed(model) => {
                model.clone_into(&mut settings.model);
                Ok(format!("model={model}"))
            }
            ("model", Some(model)) => Err(format!(
                "model {model} is not allowed here; choose one of: {}",
                self.allowed_list()
            )),
            ("size", None) => Ok(format!("size={}", settings.size)),
            ("size", Some(size)) => choose(&SIZES, size, "size", &mut settings.size),
            ("quality", None) => Ok(format!("quality={}", settings.quality)),
            ("quality", Some(quality)) => {
                choose(&QUALITIES, quality, "quality", &mut settings.quality)
            }
            ("system_prompt", None) => Ok(format!("system_prompt={}", settings.system_prompt)),
            ("system_prompt", Some(text)) => {
                if text.chars().count() > MAX_SYSTEM_PROMPT_CHARS {
                    return Err(format!(
                        "system_prompt is limited to {MAX_SYSTEM_PROMPT_CHARS} characters"
                    ));
                }
                let text = if text.eq_ignore_ascii_case("none") {
                    ""
                } else {
                    text
                };
                text.clone_into(&mut settings.system_prompt);
                Ok(format!("system_prompt={text}"))
            }
            ("style", _) => Err(String::from(
                "style is not used by current image models; describe the style in the prompt",
            )),
            (other, _) => Err(format!(
                "unknown setting {other}; settings: model, size, quality, system_prompt"
            )),
        }
    }

    fn allowed_list(&self) -> String {
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

    fn describe(&self, settings: &GenSettings) -> String {
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
            self.allowed_list()
        )
    }

    /// Generates a picture of `prompt` with `model` for the client at
    /// `client`, within the rate limit, a free slot and the timeout.
    pub(crate) async fn generate(
        &self,
        client: IpAddr,
        model: &str,
        settings: &GenSettings,
        prompt: &str,
        fetcher: &Fetcher,
    ) -> Result<Generated, GenError> {
        let prompt = full_prompt(&settings.system_prompt, prompt)?;
        let backend = Backend::of(model);
        // Checked before the rate limit, so a misconfiguration costs no quota.
        match backend {
            Backend::OpenAi if self.openai.is_none() => {
                return Err(GenError::NotConfigured("OpenAI"));
            }
            Backend::Gemini if self.gemini.is_none() => {
                return Err(GenError::NotConfigured("Gemini"));
            }
            _ => {}
        }
        self.limiter.check(client, Instant::now())?;
        let work = async {
            let _slot = Arc::clone(&self.slots).acquire_owned().await.map_err(|e| {
                GenError::Unreachable {
                    service: backend.name(),
                    reason: e.to_string(),
                }
            })?;
            info!(model, backend = backend.name(), "generating");
            let answer = match (backend, &self.openai, &self.gemini) {
                (Backend::OpenAi, Some(api), _) => api.generate(model, settings, &prompt).await,
                (Backend::Gemini, _, Some(api)) => api.generate(model, &prompt).await,
                _ => Err(GenError::NotConfigured(backend.name())),
            }?;
            match answer {
                Answer::Bytes(bytes) => Ok(bytes),
                // A URL in an answer is fetched like any other download: the
                // address policy and the size limit apply to it too.
                Answer::Url(url) => match fetcher.get(&url).await {
                    Ok(fetched) => Ok(fetched.bytes.to_vec()),
                    Err(e) => Err(GenError::Unreachable {
                        service: backend.name(),
                        reason: format!("picture download: {e}"),
                    }),
                },
            }
        };
        let bytes = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result.map_err(|e| self.scrub(e))?,
            Err(_) => return Err(GenError::Timeout(self.timeout.as_secs())),
        };
        let n = self.generated.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Generated {
            bytes: bytes.into(),
            identity: format!("generated:{n}"),
        })
    }

    /// Removes any key from an error's text: an API may quote the key it
    /// refused, and the text goes to a client and the log.
    fn scrub(&self, error: GenError) -> GenError {
        let clean = |text: String| {
            self.keys
                .iter()
                .fold(text, |text, key| text.replace(key.as_str(), "[key]"))
        };
        match error {
            GenError::Refused {
                service,
                status,
                message,
            } => GenError::Refused {
                service,
                status,
                message: clean(message),
            },
            GenError::Unreachable { service, reason } => GenError::Unreachable {
                service,
                reason: clean(reason),
            },
            GenError::BadAnswer { service, reason } => GenError::BadAnswer {
                service,
                reason: clean(reason),
            },
            other => other,
        }
    }
}

fn choose(allowed: &[&str], value: &str, what: &str, slot: &mut String) -> Result<String, String> {
    match allowed.iter().find(|a| a.eq_ignore_ascii_case(value)) {
        Some(found) => {
            (*found).clone_into(slot);
            Ok(format!("{what}={found}"))
        }
        None => Err(format!("{what} must be one of: {}", allowed.join(", "))),
    }
}

/// The prompt sent: the session's system prompt, then the client's.
fn full_prompt(system: &str, prompt: &str) -> Result<String, GenError> {
    let prompt = prompt.trim();
    if prompt.is_empty() {
        return Err(GenError::EmptyPrompt);
    }
    let full = if system.is_empty() {
        prompt.to_owned()
    } else {
        format!("{system}\n\n{prompt}")
    };
    Ok(full.chars().take(MAX_PROMPT_CHARS).collect())
}

/// Generations started per client address in the last minute.
struct RateLimiter {
    per_minute: u32,
    starts: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

const MINUTE: Duration = Duration::from_secs(60);

impl RateLimiter {
    fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            starts: Mutex::new(HashMap::new()),
        }
    }

    /// Records a generation by `client` at `now`, or says how long it must
    /// wait.
    fn check(&self, client: IpAddr, now: Instant) -> Result<(), GenError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let mut starts = lock(&self.starts);
        // Forget addresses quiet for a minute, so the map stays as small
        // as the set of recent clients.
        starts.retain(|_, times| {
            while times
                .front()
                .is_some_and(|&t| now.saturating_duration_since(t) >= MINUTE)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
        let times = starts.entry(client).or_default();
        if times.len() >= self.per_minute as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = MINUTE.saturating_sub(now.saturating_duration_since(oldest));
            warn!(%client, "generation rate limit reached");
            return Err(GenError::RateLimited {
                per_minute: self.per_minute,
                wait_secs: wait.as_secs().max(1),
            });
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_page_changes_the_default_and_allowed_models() {
        let state = ServerState::new();
        let generator = Generator::new(
            &Config {
                gen_model: String::from("gpt-image-1-mini"),
                ..Config::default()
            },
            state.clone(),
        );
        assert!(!generator.is_allowed("gpt-image-1.5"));
        state.set_runtime_settings(yail_state::RuntimeSettings {
            default_model: Some(String::from("gpt-image-1.5")),
            allowed_models: vec![String::from("gemini-3-pro-image-preview")],
            ..yail_state::RuntimeSettings::default()
        });
        assert_eq!(generator.session_settings().model, "gpt-image-1.5");
        assert!(generator.is_allowed("gemini-3-pro-image-preview"));
        assert!(!generator.is_allowed("gpt-image-1-mini"));
        state.set_runtime_settings(yail_state::RuntimeSettings::default());
        assert_eq!(generator.session_settings().model, "gpt-image-1-mini");
    }

    fn generator(allowed: &[&str]) -> Generator {
        Generator::new(
            &Config {
                gen_model: String::from("gpt-image-1-mini"),
                allowed_models: allowed.iter().map(|m| m.to_string()).collect(),
                ..Config::default()
            },
            ServerState::new(),
        )
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
        let g = generator(&["gpt-image-1.5"]);
        let session = g.session_settings();
        assert_eq!(
            g.choose_model(Some("gpt-image-1.5"), &session),
            "gpt-image-1.5"
        );
        // The legacy client's saved default, a retired model.
        assert_eq!(
            g.choose_model(Some("dall-e-3"), &session),
            "gpt-image-1-mini"
        );
        assert_eq!(g.choose_model(None, &session), "gpt-image-1-mini");
        assert_eq!(g.choose_model(Some("  "), &session), "gpt-image-1-mini");
    }

    #[test]
    fn gen_gemini_uses_an_allowed_gemini_model_when_there_is_one() {
        let session = generator(&[]).session_settings();
        assert_eq!(generator(&[]).gemini_model(&session), "gpt-image-1-mini");
        let g = generator(&["gemini-3-pro-image-preview"]);
        assert_eq!(g.gemini_model(&session), "gemini-3-pro-image-preview");
    }

    #[test]
    fn openai_config_changes_only_allowed_values_of_the_session() {
        let g = generator(&["gpt-image-1.5"]);
        let mut mine = g.session_settings();
        let theirs = g.session_settings();
        assert_eq!(
            g.configure(&mut mine, Some("model"), Some("gpt-image-1.5")),
            Ok(String::from("model=gpt-image-1.5"))
        );
        assert!(
            g.configure(&mut mine, Some("model"), Some("dall-e-3"))
                .is_err()
        );
        assert!(
            g.configure(&mut mine, Some("size"), Some("4096x4096"))
                .is_err()
        );
        assert!(
            g.configure(&mut mine, Some("quality"), Some("HIGH"))
                .is_ok()
        );
        assert!(
            g.configure(&mut mine, Some("system_prompt"), Some(&"x".repeat(201)))
                .is_err()
        );
        assert!(
            g.configure(&mut mine, Some("system_prompt"), Some("pixel art"))
                .is_ok()
        );
        assert_eq!(mine.model, "gpt-image-1.5");
        assert_eq!(mine.quality, "high");
        assert_eq!(mine.system_prompt, "pixel art");
        assert_eq!(theirs, g.session_settings(), "another session is untouched");
        let shown = g.configure(&mut mine, None, None).unwrap_or_default();
        assert!(
            shown.contains("model=gpt-image-1.5 size=1024x1024 quality=high"),
            "{shown}"
        );
    }

    #[test]
    fn keys_can_be_neither_read_nor_set_by_a_client() {
        let g = Generator::new(
            &Config {
                openai_api_key: Some(String::from("sk-secret-123")),
                ..Config::default()
            },
            ServerState::new(),
        );
        let mut settings = g.session_settings();
        for param in [
            "api_key",
            "openai_api_key",
            "KEY",
            "gemini-api-key",
            "token",
        ] {
            for value in [None, Some("sk-other")] {
                let answer = g.configure(&mut settings, Some(param), value);
                assert!(answer.is_err(), "{param}");
                assert!(!format!("{answer:?}").contains("sk-secret-123"));
            }
        }
        let shown = g.configure(&mut settings, None, None).unwrap_or_default();
        assert!(!shown.contains("sk-secret"), "{shown}");
    }

    #[test]
    fn errors_quoting_a_key_are_scrubbed() {
        let g = Generator::new(
            &Config {
                openai_api_key: Some(String::from("sk-secret-123")),
                ..Config::default()
            },
            ServerState::new(),
        );
        let error = g.scrub(GenError::Refused {
            service: "OpenAI",
            status: 401,
            message: String::from("Incorrect API key provided: sk-secret-123."),
        });
        assert!(!error.to_string().contains("sk-secret-123"), "{error}");
        assert!(error.to_string().contains("[key]"), "{error}");
    }

    #[test]
    fn rate_limit_counts_per_address_within_a_minute() {
        let limiter = RateLimiter::new(2);
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        let t0 = Instant::now();
        assert!(limiter.check(a, t0).is_ok());
        assert!(limiter.check(a, t0 + Duration::from_secs(10)).is_ok());
        let refused = limiter.check(a, t0 + Duration::from_secs(20));
        assert_eq!(
            refused,
            Err(GenError::RateLimited {
                per_minute: 2,
                wait_secs: 40
            })
        );
        assert!(
            limiter.check(b, t0 + Duration::from_secs(20)).is_ok(),
            "other address"
        );
        assert!(
            limiter.check(a, t0 + Duration::from_secs(61)).is_ok(),
            "a minute later"
        );
        assert!(RateLimiter::new(0).check(a, t0).is_ok(), "0 means no limit");
    }

    #[test]
    fn rate_limiter_forgets_quiet_addresses() {
        let limiter = RateLimiter::new(5);
        let t0 = Instant::now();
        for i in 0..100u8 {
            let _ = limiter.check(IpAddr::from([127, 0, 1, i]), t0);
        }
        let _ = limiter.check(IpAddr::from([127, 0, 0, 1]), t0 + MINUTE);
        assert_eq!(limiter.starts.lock().map(|s| s.len()).unwrap_or(0), 1);
    }

    #[test]
    fn prompts_join_the_system_prompt_and_are_bounded() {
        assert_eq!(full_prompt("", " a cat "), Ok(String::from("a cat")));
        assert_eq!(
            full_prompt("retro", "a cat"),
            Ok(String::from("retro\n\na cat"))
        );
        assert_eq!(full_prompt("retro", "  "), Err(GenError::EmptyPrompt));
        let long = full_prompt("", &"x".repeat(5000)).unwrap_or_default();
        assert_eq!(long.chars().count(), MAX_PROMPT_CHARS);
    }
}
