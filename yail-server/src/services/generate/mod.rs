//! AI image generation: OpenAI's images API (through `async-openai`, so any
//! compatible server works) and Google Gemini's REST API.
//!
//! Generations cost the operator money, so everything a client can make the
//! server spend is bounded here: a timeout per generation (waiting for a
//! slot included), a global number of generations at once, a number per
//! client network per minute and a budget for the whole server per day
//! ([`quota`]), the models a client may choose ([`models`]), and the
//! largest size and highest quality it may choose ([`Ceilings`]). Which
//! model a name stands for today comes from the providers' own model
//! lists, read at start and then daily ([`discovery`]). Every session has
//! its own [`GenSettings`]
//! ([`settings`]); no key ever reaches a client ([`scrub`]).

mod answer;
mod backend;
mod discovery;
mod error;
mod gemini;
mod list_request;
mod listing;
mod models;
mod openai;
mod quota;
mod scrub;
mod settings;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::info;
use yail_state::ServerState;

use crate::config::Config;
use crate::fetch::Fetcher;
use answer::Answer;
pub(crate) use backend::Backend;
use discovery::Discovery;
pub(crate) use discovery::{ProviderView, Why};
pub(crate) use error::GenError;
pub(crate) use list_request::ListError;
use models::ModelPolicy;
pub(crate) use quota::Budget;
use quota::Limits;
use scrub::Scrubber;
use settings::Ceilings;
pub(crate) use settings::{GenSettings, SettingError};

/// Longest the start of the server waits for the first reading of the
/// model lists.
const FIRST_READING_WAIT: Duration = Duration::from_secs(5);

/// A generated picture.
pub(crate) struct Generated {
    /// The picture file's bytes (PNG, JPEG, WebP...).
    pub(crate) bytes: Arc<[u8]>,
    /// Unique per generation, for the conversion cache.
    pub(crate) identity: String,
}

/// The generation service every session shares.
pub(crate) struct Generator {
    models: ModelPolicy,
    /// The providers' model lists, and what each name stands for.
    discovery: Arc<Discovery>,
    default_size: String,
    default_quality: String,
    timeout: Duration,
    openai: Option<openai::OpenAi>,
    gemini: Option<gemini::Gemini>,
    /// Fetches the pictures an API answers with a URL.
    fetcher: Fetcher,
    scrubber: Scrubber,
    slots: Arc<Semaphore>,
    limits: Limits,
    /// The most a client may choose (`--gen-max-size`, `--gen-max-quality`).
    ceilings: Ceilings,
    generated: AtomicU64,
}

impl Generator {
    /// The generator `config` describes; the admin page's runtime settings
    /// (in `state`) change its models while they are set.
    pub(crate) fn new(config: &Config, state: ServerState, fetcher: Fetcher) -> Generator {
        let openai = config
            .openai_api_key
            .as_deref()
            .map(|key| openai::OpenAi::new(&config.openai_base_url, key));
        let gemini = config
            .gemini_api_key
            .as_deref()
            .and_then(|key| gemini::Gemini::new(&config.gemini_base_url, key));
        let ceilings = Ceilings::new(
            config.gen_max_size.as_deref().unwrap_or(&config.gen_size),
            config
                .gen_max_quality
                .as_deref()
                .unwrap_or(&config.gen_quality),
        );
        // The defaults are what a session starts with: within the ceilings.
        let (mut default_size, mut default_quality) =
            (config.gen_size.clone(), config.gen_quality.clone());
        if !ceilings.allows_size(&default_size) {
            tracing::warn!(
                size = default_size,
                max = ceilings.size(),
                "--gen-size is above --gen-max-size; using the maximum"
            );
            ceilings.size().clone_into(&mut default_size);
        }
        if !ceilings.allows_quality(&default_quality) {
            tracing::warn!(
                quality = default_quality,
                max = ceilings.quality(),
                "--gen-quality is above --gen-max-quality; using the maximum"
            );
            ceilings.quality().clone_into(&mut default_quality);
        }
        let scrubber = Scrubber::new([&config.openai_api_key, &config.gemini_api_key]);
        let models = ModelPolicy::configured(config, state);
        let discovery = Discovery::new(
            config
                .openai_api_key
                .as_deref()
                .map(|key| (config.openai_base_url.as_str(), key)),
            config
                .gemini_api_key
                .as_deref()
                .map(|key| (config.gemini_base_url.as_str(), key)),
            [
                models.primary(Backend::OpenAi),
                models.primary(Backend::Gemini),
            ],
            scrubber.clone(),
        );
        Generator {
            models,
            discovery: Arc::new(discovery),
            default_size,
            default_quality,
            timeout: config.gen_timeout,
            openai,
            gemini,
            fetcher,
            scrubber,
            slots: Arc::new(Semaphore::new(config.gen_concurrency.max(1))),
            limits: Limits::new(config.gen_per_minute, config.gen_per_day),
            ceilings,
            generated: AtomicU64::new(0),
        }
    }

    /// Reads the providers' model lists now, then every day until `stop`.
    /// Waits for the first reading at most [`FIRST_READING_WAIT`], so that
    /// the log names a replaced model before anyone is served; a provider
    /// slower than that is read on in the background.
    pub(crate) async fn start_discovery(&self, stop: CancellationToken) {
        if !self.is_configured() {
            return;
        }
        let names = self.models.configured_names();
        let discovery = Arc::clone(&self.discovery);
        let (read, first_read) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = discovery.refresh(&names) => {}
            }
            let _ = read.send(());
            discovery.refresh_daily(names, stop).await;
        });
        let _ = tokio::time::timeout(FIRST_READING_WAIT, first_read).await;
    }

    /// Reads the model lists again now, for `--check`: what each reading
    /// gave (`None`: no key), and each provider's model as it stands then.
    pub(crate) async fn check_models(
        &self,
    ) -> Vec<(ProviderView, Option<Result<usize, ListError>>)> {
        let readings = self
            .discovery
            .refresh(&self.models.configured_names())
            .await;
        self.discovery.views().into_iter().zip(readings).collect()
    }

    /// Each provider's model, what it stands for and why, for the admin page.
    pub(crate) fn models_in_use(&self) -> Vec<ProviderView> {
        self.discovery.views()
    }

    /// The settings a new session starts with.
    pub(crate) fn session_settings(&self) -> GenSettings {
        GenSettings {
            model: self.models.default_model(),
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

    /// The model for `gen [model] ...`: `asked` when it is allowed, else
    /// the session's.
    pub(crate) fn choose_model(&self, asked: Option<&str>, session: &GenSettings) -> String {
        self.models.choose(asked, &session.model)
    }

    /// The model for `gen-gemini ...`.
    pub(crate) fn gemini_model(&self, session: &GenSettings) -> String {
        self.models.gemini(&session.model)
    }

    /// `openai-config [param] [value]`: shows the session's settings or
    /// changes one. `Ok` is the text to show; a reading of the model names
    /// the model `gen` uses instead, when the provider has replaced it.
    pub(crate) fn configure(
        &self,
        session: &mut GenSettings,
        param: Option<&str>,
        value: Option<&str>,
    ) -> Result<String, SettingError> {
        let text = settings::configure(session, &self.models, &self.ceilings, param, value)?;
        let reads_model =
            value.is_none() && param.is_none_or(|param| param.trim().eq_ignore_ascii_case("model"));
        let in_use = self.discovery.resolve(&session.model);
        Ok(match in_use.why.replaced() {
            Some(_) if reads_model => format!("{text} (gen uses {}: {})", in_use.model, in_use.why),
            _ => text,
        })
    }

    /// The server's generation budget for the day, and what is left of it.
    pub(crate) fn budget(&self) -> Budget {
        self.limits.budget(Instant::now())
    }

    /// Generates a picture of `prompt` with `model` (or the model that
    /// replaces it today) for the client at `client`, within its quota, a
    /// free slot and the timeout.
    pub(crate) async fn generate(
        &self,
        client: IpAddr,
        model: &str,
        settings: &GenSettings,
        prompt: &str,
    ) -> Result<Generated, GenError> {
        let prompt = settings.full_prompt(prompt)?;
        let backend = Backend::of(model);
        // Checked before the quota, so a misconfiguration costs none.
        match backend {
            _ if !self.is_configured() => return Err(GenError::Unconfigured),
            Backend::OpenAi if self.openai.is_none() => {
                return Err(GenError::NotConfigured("OpenAI"));
            }
            Backend::Gemini if self.gemini.is_none() => {
                return Err(GenError::NotConfigured("Gemini"));
            }
            _ => {}
        }
        let admitted = self.limits.admit(client, Instant::now())?;
        let in_use = self.discovery.resolve(model);
        let model = in_use.model.as_str();
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
                Answer::Url(url) => match self.fetcher.get(&url).await {
                    Ok(fetched) => Ok(fetched.bytes.to_vec()),
                    Err(source) => Err(GenError::Download {
                        service: backend.name(),
                        source,
                    }),
                },
            }
        };
        let bytes = match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => {
                // The API refused the request: it drew nothing, and bills
                // nothing, so the day's budget gets the generation back.
                if matches!(e, GenError::Refused { .. }) {
                    self.limits.refund(admitted);
                }
                return Err(self.scrubber.scrub(e));
            }
            Err(_) => return Err(GenError::Timeout(self.timeout.as_secs())),
        };
        let n = self.generated.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Generated {
            bytes: bytes.into(),
            identity: format!("generated:{n}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::FetchConfig;

    #[test]
    fn the_settings_a_client_sees_never_show_a_key() {
        let config = Config {
            openai_api_key: Some(String::from("sk-secret-123")),
            ..Config::default()
        };
        let fetcher = Fetcher::new(FetchConfig::default()).expect("a fetcher");
        let generator = Generator::new(&config, ServerState::new(), fetcher);
        let mut settings = generator.session_settings();
        for (param, value) in [(None, None), (Some("api_key"), None), (Some("model"), None)] {
            let shown = format!("{:?}", generator.configure(&mut settings, param, value));
            assert!(!shown.contains("sk-secret"), "{shown}");
        }
    }
}
