//! Which models each provider offers the server's key, asked at start and
//! then daily, and what that means for a model name: a configured or
//! requested model that the list no longer offers, or that is past its
//! shutdown date, is replaced by the provider's newest current image
//! model, with one WARN line naming both.
//!
//! When a list cannot be read (no network, a refused key, an
//! OpenAI-compatible server without one), the names are used as
//! configured and the log says so once; only names the providers have
//! retired for good ([`is_retired`]) are still mapped, to the provider's
//! configured model.
//!
//! The requests that read the lists are `list_request`'s.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::backend::{Backend, is_retired};
use super::list_request::{self, Account, ListError, key_header};
use super::listing::{Day, ModelList, Standing};
use super::scrub::Scrubber;
use crate::sync::lock;

/// Pause between two readings of the lists.
const REFRESH: Duration = Duration::from_secs(24 * 60 * 60);
/// Pause before trying again after a failed reading.
const RETRY: Duration = Duration::from_secs(60 * 60);
/// Longest a whole reading of one provider may take (Gemini's pages
/// included); `--check` and the start of the server wait this long at most.
const READING_TIMEOUT: Duration = Duration::from_secs(20);
/// Most replacement pairs remembered for "warn once" (names come from the
/// configuration and the admin page, not from clients).
const MAX_WARNED: usize = 256;

/// Why a model name is used as it is, or replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Why {
    /// The provider's list offers it.
    Listed,
    /// The list has not been read (no key, or not yet).
    Unchecked,
    /// The list could not be read; the name is used as configured.
    Unverified(ListError),
    /// Replaced: the list gives a shutdown date that has come.
    ShutDown { was: String, on: Day },
    /// Replaced: the list does not offer it.
    Absent { was: String },
    /// Replaced: a name the provider retired, while the list is unknown.
    Retired { was: String },
    /// Shut down or absent, but the list offers no current image model to
    /// use instead.
    NoReplacement { standing: Standing },
}

impl Why {
    /// Whether the name given was replaced by another.
    pub(crate) fn replaced(&self) -> Option<&str> {
        match self {
            Why::ShutDown { was, .. } | Why::Absent { was } | Why::Retired { was } => Some(was),
            _ => None,
        }
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Listed => f.write_str("configured; offered by the API"),
            Why::Unchecked => f.write_str("configured; the model list has not been read"),
            Why::Unverified(e) => write!(f, "configured; discovery failed: {e}"),
            Why::ShutDown { was, on } => write!(f, "replaced {was}: shut down on {on}"),
            Why::Absent { was } => write!(f, "replaced {was}: not in the API's model list"),
            Why::Retired { was } => write!(
                f,
                "replaced {was}: a retired model (the model list could not be read)"
            ),
            Why::NoReplacement {
                standing: Standing::ShutDown(on),
            } => write!(
                f,
                "shut down on {on}, and the API lists no current image model"
            ),
            Why::NoReplacement { .. } => {
                f.write_str("not in the API's model list, which has no current image model")
            }
        }
    }
}

/// The model a name stands for now, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InUse {
    pub(crate) model: String,
    pub(crate) why: Why,
}

/// What is known of one provider's list.
#[derive(Debug, Clone, Default)]
struct Known {
    /// The last list read, and when.
    list: Option<(Arc<ModelList>, SystemTime)>,
    /// Why the last reading failed, and when; `None` after a success.
    failure: Option<(ListError, SystemTime)>,
}

/// One provider as the admin page and `--check` show it.
#[derive(Debug, Clone)]
pub(crate) struct ProviderView {
    pub(crate) backend: Backend,
    /// Whether the server has a key for it.
    pub(crate) key: bool,
    /// The provider's model as configured.
    pub(crate) configured: String,
    /// What it stands for now.
    pub(crate) in_use: InUse,
    /// When the list was last read, and how many models it held.
    pub(crate) listed: Option<(SystemTime, usize)>,
    /// Why the last reading failed.
    pub(crate) failure: Option<ListError>,
}

/// The model lists of both providers and the names they resolve.
pub(crate) struct Discovery {
    http: reqwest::Client,
    accounts: [Option<Account>; 2],
    /// Each provider's own model, as configured: what a retired name maps
    /// to while the list is unknown.
    primary: [String; 2],
    known: [Mutex<Known>; 2],
    /// Replacements already logged, as (name, replacement).
    warned: Mutex<HashSet<(String, String)>>,
    scrubber: Scrubber,
}

fn slot(backend: Backend) -> usize {
    match backend {
        Backend::OpenAi => 0,
        Backend::Gemini => 1,
    }
}

impl Discovery {
    /// Discovery for the providers that have a key (`(base URL, key)`),
    /// whose own models are `primary` (OpenAI's, Gemini's).
    pub(crate) fn new(
        openai: Option<(&str, &str)>,
        gemini: Option<(&str, &str)>,
        primary: [String; 2],
        scrubber: Scrubber,
    ) -> Discovery {
        let account = |(base, key): (&str, &str), prefix: &str| {
            Some(Account {
                base_url: base.trim_end_matches('/').to_owned(),
                key: key_header(prefix, key)?,
            })
        };
        Discovery {
            http: super::openai::http_client(),
            accounts: [
                openai.and_then(|a| account(a, "Bearer ")),
                gemini.and_then(|a| account(a, "")),
            ],
            primary,
            known: Default::default(),
            warned: Mutex::new(HashSet::new()),
            scrubber,
        }
    }

    /// Whether the server has a key for `backend`.
    pub(crate) fn has_key(&self, backend: Backend) -> bool {
        self.accounts[slot(backend)].is_some()
    }

    /// The model `name` stands for today.
    pub(crate) fn resolve(&self, name: &str) -> InUse {
        self.resolve_on(name, Day::today())
    }

    fn resolve_on(&self, name: &str, today: Day) -> InUse {
        let backend = Backend::of(name);
        let known = lock(&self.known[slot(backend)]).clone();
        let kept = |why| InUse {
            model: name.to_owned(),
            why,
        };
        let in_use = match (&known.list, &known.failure) {
            (Some((list, _)), _) => {
                let standing = list.standing(name, today);
                let why = match standing {
                    Standing::Current => return kept(Why::Listed),
                    Standing::ShutDown(on) => Why::ShutDown {
                        was: name.to_owned(),
                        on,
                    },
                    Standing::Absent => Why::Absent {
                        was: name.to_owned(),
                    },
                };
                match list.newest_image(today) {
                    Some(newest) => InUse {
                        model: newest.to_owned(),
                        why,
                    },
                    None => kept(Why::NoReplacement { standing }),
                }
            }
            (None, _) if is_retired(name) && !is_retired(&self.primary[slot(backend)]) => InUse {
                model: self.primary[slot(backend)].clone(),
                why: Why::Retired {
                    was: name.to_owned(),
                },
            },
            (None, Some((error, _))) => kept(Why::Unverified(error.clone())),
            (None, None) => kept(Why::Unchecked),
        };
        if in_use.why.replaced().is_some() {
            self.warn_once(&in_use);
        }
        in_use
    }

    /// Logs a replacement the first time it is made.
    fn warn_once(&self, in_use: &InUse) {
        let Some(was) = in_use.why.replaced() else {
            return;
        };
        {
            let mut warned = lock(&self.warned);
            if warned.len() >= MAX_WARNED {
                warned.clear();
            }
            if !warned.insert((was.to_owned(), in_use.model.clone())) {
                return;
            }
        }
        let backend = Backend::of(was);
        let flag = match backend {
            Backend::OpenAi => "--gen-model or --allowed-models",
            Backend::Gemini => "--gemini-model, --gen-model or --allowed-models",
        };
        let model = &in_use.model;
        let what = match &in_use.why {
            Why::ShutDown { on, .. } => format!("was shut down on {on}"),
            Why::Absent { .. } => format!("is not in {}'s model list", backend.name()),
            _ => format!(
                "has been retired ({}'s model list could not be read)",
                backend.name()
            ),
        };
        warn!(
            model = was,
            using = %model,
            "model {was} {what}; using {model} instead (name a current model with {flag})"
        );
    }

    /// Reads the list of every provider that has a key, each within
    /// [`READING_TIMEOUT`], and returns what each reading gave (`None`:
    /// no key). Logs a failure when it follows a success (or is the
    /// first), and the replacements the new lists make for `names`.
    pub(crate) async fn refresh(&self, names: &[String]) -> [Option<Result<usize, ListError>>; 2] {
        let (openai, gemini) = tokio::join!(
            self.refresh_one(Backend::OpenAi),
            self.refresh_one(Backend::Gemini)
        );
        for name in names {
            if self.has_key(Backend::of(name)) {
                self.resolve(name);
            }
        }
        [openai, gemini]
    }

    async fn refresh_one(&self, backend: Backend) -> Option<Result<usize, ListError>> {
        let account = self.accounts[slot(backend)].as_ref()?;
        let reading = match tokio::time::timeout(
            READING_TIMEOUT,
            list_request::read(&self.http, backend, account),
        )
        .await
        {
            Ok(reading) => reading,
            Err(_) => Err(ListError::Timeout(READING_TIMEOUT.as_secs())),
        };
        let now = SystemTime::now();
        let mut known = lock(&self.known[slot(backend)]);
        match reading {
            Ok(list) => {
                let count = list.len();
                if known.failure.is_some() || known.list.is_none() {
                    info!(
                        provider = backend.name(),
                        models = count,
                        "read the model list"
                    );
                }
                known.list = Some((Arc::new(list), now));
                known.failure = None;
                Some(Ok(count))
            }
            Err(error) => {
                let error = self.scrubbed(error);
                if known.failure.is_none() {
                    let kept = if known.list.is_some() {
                        "the list read before stays in use"
                    } else {
                        "model names are used as configured"
                    };
                    warn!(
                        provider = backend.name(),
                        "could not read {}'s model list: {error}; {kept}",
                        backend.name()
                    );
                }
                known.failure = Some((error.clone(), now));
                Some(Err(error))
            }
        }
    }

    fn scrubbed(&self, error: ListError) -> ListError {
        match error {
            ListError::Status { status, message } => ListError::Status {
                status,
                message: self.scrubber.text(message),
            },
            ListError::Unreachable(reason) => ListError::Unreachable(self.scrubber.text(reason)),
            other => other,
        }
    }

    /// The providers as the admin page and `--check` show them.
    pub(crate) fn views(&self) -> Vec<ProviderView> {
        Backend::ALL
            .into_iter()
            .map(|backend| {
                let known = lock(&self.known[slot(backend)]).clone();
                let configured = self.primary[slot(backend)].clone();
                ProviderView {
                    backend,
                    key: self.has_key(backend),
                    in_use: self.resolve(&configured),
                    configured,
                    listed: known.list.as_ref().map(|(list, at)| (*at, list.len())),
                    failure: known.failure.map(|(e, _)| e),
                }
            })
            .collect()
    }

    /// Reads the lists again every day (after a failure, every hour)
    /// until `stop`, resolving `names` after each reading.
    pub(crate) async fn refresh_daily(
        self: Arc<Self>,
        names: Vec<String>,
        stop: CancellationToken,
    ) {
        loop {
            let failed =
                lock(&self.known[0]).failure.is_some() || lock(&self.known[1]).failure.is_some();
            let pause = if failed { RETRY } else { REFRESH };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            self.refresh(&names).await;
        }
    }

    /// Puts `list` of `backend` in place as if it had been read (for tests).
    #[cfg(test)]
    pub(crate) fn set_list(&self, backend: Backend, list: ModelList) {
        lock(&self.known[slot(backend)]).list = Some((Arc::new(list), SystemTime::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).expect("a date")
    }

    fn discovery() -> Discovery {
        Discovery::new(
            Some(("http://127.0.0.1:9/v1", "sk-test")),
            Some(("http://127.0.0.1:9", "AIza-test")),
            [
                String::from("gpt-image-2"),
                String::from("gemini-3.1-flash-image"),
            ],
            Scrubber::new([]),
        )
    }

    #[test]
    fn listed_names_stay_and_shut_down_or_absent_ones_are_replaced_by_the_newest() {
        let discovery = discovery();
        discovery.set_list(
            Backend::OpenAi,
            ModelList::of(
                Backend::OpenAi,
                &[
                    ("gpt-image-2", None, 10),
                    ("gpt-image-2.6-flare", None, 20),
                    ("gpt-image-1-mini", Some("2026-12-01"), 5),
                ],
            ),
        );
        let today = day("2026-12-07");
        assert_eq!(
            discovery.resolve_on("gpt-image-2", today),
            InUse {
                model: String::from("gpt-image-2"),
                why: Why::Listed
            }
        );
        let mini = discovery.resolve_on("gpt-image-1-mini", today);
        assert_eq!(mini.model, "gpt-image-2.6-flare");
        assert_eq!(
            mini.why.to_string(),
            "replaced gpt-image-1-mini: shut down on 2026-12-01"
        );
        let dalle = discovery.resolve_on("dall-e-3", today);
        assert_eq!(dalle.model, "gpt-image-2.6-flare");
        assert!(matches!(dalle.why, Why::Absent { .. }));
        // Gemini's list is unknown: retired names go to the configured model.
        let preview = discovery.resolve_on("gemini-3-pro-image-preview", today);
        assert_eq!(preview.model, "gemini-3.1-flash-image");
        assert!(matches!(preview.why, Why::Retired { .. }));
        let other = discovery.resolve_on("gemini-3-pro-image", today);
        assert_eq!(other.why, Why::Unchecked);
    }

    #[test]
    fn a_list_without_current_image_models_keeps_the_name() {
        let discovery = discovery();
        discovery.set_list(
            Backend::OpenAi,
            ModelList::of(Backend::OpenAi, &[("gpt-5", None, 1)]),
        );
        let kept = discovery.resolve_on("gpt-image-2", day("2026-12-07"));
        assert_eq!(kept.model, "gpt-image-2");
        assert_eq!(
            kept.why,
            Why::NoReplacement {
                standing: Standing::Absent
            }
        );
    }
}
