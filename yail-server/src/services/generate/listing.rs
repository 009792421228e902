//! What a provider's model list says: which models it offers, which of
//! them are image models, when one shuts down, and which current image
//! model is the newest. Reading only; the requests are in `list_request`.
//!
//! - OpenAI's `GET /v1/models` answers `{"object":"list","data":[{"id",
//!   "created","owned_by","shutdown_date"}...]}`, `shutdown_date` being a
//!   `YYYY-MM-DD` date or null
//!   (<https://developers.openai.com/api/reference/resources/models/methods/list>).
//! - Gemini's `GET /v1beta/models` answers `{"models":[{"name":"models/…",
//!   "supportedGenerationMethods":[…]…}],"nextPageToken"}`; it has no
//!   shutdown field: a shut-down model is simply no longer listed
//!   (<https://ai.google.dev/api/rest/v1beta/models/list>,
//!   <https://ai.google.dev/gemini-api/docs/deprecations>).

use std::cmp::Ordering;
use std::fmt;
use std::time::SystemTime;

use serde::Deserialize;

use super::backend::Backend;

/// A calendar day (UTC), as the model lists write shutdown dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Day {
    year: i32,
    month: u8,
    day: u8,
}

impl Day {
    /// `YYYY-MM-DD`, or `None`.
    pub(crate) fn parse(text: &str) -> Option<Day> {
        let mut parts = text.trim().splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month: u8 = parts.next()?.parse().ok()?;
        let day: u8 = parts.next()?.get(..2)?.parse().ok()?;
        ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Day { year, month, day })
    }

    /// The day (UTC) `at` falls on.
    pub(crate) fn of(at: SystemTime) -> Day {
        let secs = match at.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Day::from_days(secs.div_euclid(86_400))
    }

    /// Today (UTC).
    pub(crate) fn today() -> Day {
        Day::of(SystemTime::now())
    }

    /// The civil date `days` after 1970-01-01 (the proleptic Gregorian
    /// calendar; Howard Hinnant's `civil_from_days`).
    fn from_days(days: i64) -> Day {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Day {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One model of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    /// The name requests use (`gpt-image-2`, `gemini-3.1-flash-image`).
    pub(crate) id: String,
    /// When the provider shuts it down (OpenAI only).
    pub(crate) shutdown: Option<Day>,
    /// An image-generation model of its provider (see [`is_image_model`]).
    pub(crate) image: bool,
    /// When it was published, in Unix seconds (OpenAI's `created`; 0 when
    /// not given).
    created: u64,
}

/// Where a model name stands in a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Listed, with no shutdown date or one still ahead.
    Current,
    /// Listed with a shutdown date that has come.
    ShutDown(Day),
    /// Not listed.
    Absent,
}

/// Why a model list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable model list ({0})")]
pub(crate) struct ListFormatError(String);

/// The models one provider offers the server's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelList {
    backend: Backend,
    models: Vec<Listed>,
}

#[derive(Deserialize)]
struct OpenAiList {
    data: Vec<OpenAiModel>,
}

#[derive(Deserialize)]
struct OpenAiModel {
    id: String,
    // Compatible servers may leave these out; OpenAI sends both.
    #[serde(default)]
    created: u64,
    #[serde(default)]
    shutdown_date: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GeminiPage {
    models: Vec<GeminiModel>,
    next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GeminiModel {
    name: String,
    supported_generation_methods: Vec<String>,
}

/// Most models kept from one provider's list (OpenAI lists about a hundred).
const MAX_MODELS: usize = 5000;

impl ModelList {
    /// An empty list of `backend`'s models, to add Gemini pages to.
    pub(crate) fn new(backend: Backend) -> ModelList {
        ModelList {
            backend,
            models: Vec::new(),
        }
    }

    /// A list from the models given directly (for tests).
    #[cfg(test)]
    pub(crate) fn of(backend: Backend, models: &[(&str, Option<&str>, u64)]) -> ModelList {
        ModelList {
            backend,
            models: models
                .iter()
                .map(|(id, shutdown, created)| Listed {
                    id: (*id).to_owned(),
                    shutdown: shutdown.and_then(Day::parse),
                    image: is_image_model(backend, id),
                    created: *created,
                })
                .collect(),
        }
    }

    /// OpenAI's answer to `GET /v1/models`.
    pub(crate) fn openai(body: &[u8]) -> Result<ModelList, ListFormatError> {
        let list: OpenAiList =
            serde_json::from_slice(body).map_err(|e| ListFormatError(e.to_string()))?;
        let models = list
            .data
            .into_iter()
            .take(MAX_MODELS)
            .map(|m| Listed {
                image: is_image_model(Backend::OpenAi, &m.id),
                shutdown: m.shutdown_date.as_deref().and_then(Day::parse),
                created: m.created,
                id: m.id,
            })
            .collect();
        Ok(ModelList {
            backend: Backend::OpenAi,
            models,
        })
    }

    /// Adds one page of Gemini's answer to `GET /v1beta/models`; returns
    /// the token of the next page, if there is one. Only models that can
    /// `generateContent` are kept: no other method makes pictures.
    pub(crate) fn add_gemini_page(
        &mut self,
        body: &[u8],
    ) -> Result<Option<String>, ListFormatError> {
        let page: GeminiPage =
            serde_json::from_slice(body).map_err(|e| ListFormatError(e.to_string()))?;
        let room = MAX_MODELS.saturating_sub(self.models.len());
        self.models.extend(
            page.models
                .into_iter()
                .filter(|m| {
                    m.supported_generation_methods
                        .iter()
                        .any(|g| g == "generateContent")
                })
                .take(room)
                .map(|m| {
                    let id = m.name.strip_prefix("models/").unwrap_or(&m.name).to_owned();
                    Listed {
                        image: is_image_model(Backend::Gemini, &id),
                        id,
                        shutdown: None,
                        created: 0,
                    }
                }),
        );
        Ok(page.next_page_token.filter(|t| !t.is_empty()))
    }

    /// How many models the list holds.
    pub(crate) fn len(&self) -> usize {
        self.models.len()
    }

    /// Where `model` stands on `today`.
    pub(crate) fn standing(&self, model: &str, today: Day) -> Standing {
        match self.models.iter().find(|m| m.id == model) {
            None => Standing::Absent,
            Some(Listed {
                shutdown: Some(day),
                ..
            }) if *day <= today => Standing::ShutDown(*day),
            Some(_) => Standing::Current,
        }
    }

    /// The newest image model still current on `today`, if any: for
    /// OpenAI the one published last (`created`), for Gemini the one of the
    /// highest version in its name (see [`newer`]).
    pub(crate) fn newest_image(&self, today: Day) -> Option<&str> {
        self.models
            .iter()
            .filter(|m| m.image && m.shutdown.is_none_or(|day| day > today))
            .max_by(|a, b| newer(self.backend, a, b))
            .map(|m| m.id.as_str())
    }
}

/// Whether `id` names an image-generation model of `backend`:
///
/// - OpenAI: the GPT image models (`gpt-image-*`, `chatgpt-image-*`) and
///   DALL·E (`dall-e-*`), the models of `POST /v1/images/generations`;
/// - Gemini: a `gemini-*` model with `image` among the words of its name
///   (`gemini-3.1-flash-image`, `gemini-3-pro-image`), Google's naming for
///   the Gemini models that answer with pictures. (Imagen models use
///   `predict`, not `generateContent`, and are left out before this.)
pub(crate) fn is_image_model(backend: Backend, id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    match backend {
        Backend::OpenAi => {
            id.starts_with("gpt-image-")
                || id.starts_with("chatgpt-image")
                || id.starts_with("dall-e-")
        }
        Backend::Gemini => id.starts_with("gemini-") && id.split('-').any(|word| word == "image"),
    }
}

/// Which of two image models is the newer, as [`ModelList::newest_image`]
/// chooses: `Greater` when `a` is.
///
/// - OpenAI: the later `created`; at equal times the name without a date
///   suffix (`gpt-image-2` over `gpt-image-2-2026-04-21`, the alias that
///   follows updates), then the alphabetically first name.
/// - Gemini (no publication date in the list): the higher version in the
///   name (`gemini-3.1-…` over `gemini-3-…`), then a stable model over a
///   preview, then the cheaper tier (`flash` over `pro`: an Atari shows
///   320x240 pixels at most), then the alphabetically first name.
fn newer(backend: Backend, a: &Listed, b: &Listed) -> Ordering {
    let by_name = b.id.cmp(&a.id);
    match backend {
        Backend::OpenAi => a
            .created
            .cmp(&b.created)
            .then(is_dated(&b.id).cmp(&is_dated(&a.id)))
            .then(by_name),
        Backend::Gemini => gemini_version(&a.id)
            .cmp(&gemini_version(&b.id))
            .then(is_preview(&b.id).cmp(&is_preview(&a.id)))
            .then(is_flash(&a.id).cmp(&is_flash(&b.id)))
            .then(by_name),
    }
}

/// Whether a name ends in a `-YYYY-MM-DD` snapshot date.
fn is_dated(id: &str) -> bool {
    let Some(cut) = id.len().checked_sub(11) else {
        return false;
    };
    id.get(cut..)
        .and_then(|tail| tail.strip_prefix('-'))
        .and_then(Day::parse)
        .is_some()
}

fn is_preview(id: &str) -> bool {
    id.split('-').any(|w| w == "preview" || w == "exp")
}

fn is_flash(id: &str) -> bool {
    id.split('-').any(|w| w == "flash")
}

/// The version in a Gemini model's name: `[3, 1]` for
/// `gemini-3.1-flash-image`, `[3]` for `gemini-3-pro-image`.
fn gemini_version(id: &str) -> Vec<u32> {
    let version = id
        .strip_prefix("gemini-")
        .unwrap_or("")
        .split('-')
        .next()
        .unwrap_or("");
    let mut numbers: Vec<u32> = version.split('.').map_while(|n| n.parse().ok()).collect();
    while numbers.last() == Some(&0) {
        numbers.pop();
    }
    numbers
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).expect("a date")
    }

    #[test]
    fn days_are_read_and_computed_in_utc() {
        assert_eq!(day("2026-12-01").to_string(), "2026-12-01");
        assert_eq!(Day::parse("2026-13-01"), None);
        assert_eq!(Day::parse("soon"), None);
        assert_eq!(Day::of(SystemTime::UNIX_EPOCH).to_string(), "1970-01-01");
        // 2026-12-07T12:00:00Z
        let noon = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_644_800);
        assert_eq!(Day::of(noon), day("2026-12-07"));
        // A leap day.
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_208_000);
        assert_eq!(Day::of(leap), day("2024-02-29"));
        assert!(day("2026-10-23") < day("2026-12-01"));
    }

    #[test]
    fn openai_lists_give_standing_and_the_newest_current_image_model() {
        let body = br#"{"object":"list","data":[
            {"id":"gpt-image-2","object":"model","created":1776729600,"owned_by":"system","shutdown_date":null},
            {"id":"gpt-image-2-2026-04-21","object":"model","created":1776729600,"owned_by":"system"},
            {"id":"gpt-image-1-mini","object":"model","created":1759449600,"owned_by":"system","shutdown_date":"2026-12-01"},
            {"id":"gpt-image-3","object":"model","created":1799999999,"owned_by":"system","shutdown_date":"2026-12-06"},
            {"id":"gpt-5","object":"model","created":1800000000,"owned_by":"system","shutdown_date":null}
        ]}"#;
        let list = ModelList::openai(body).expect("a list");
        let today = day("2026-12-07");
        assert_eq!(list.standing("gpt-image-2", today), Standing::Current);
        assert_eq!(
            list.standing("gpt-image-1-mini", today),
            Standing::ShutDown(day("2026-12-01"))
        );
        assert_eq!(
            list.standing("gpt-image-1-mini", day("2026-11-30")),
            Standing::Current,
            "usable until its day"
        );
        assert_eq!(list.standing("dall-e-3", today), Standing::Absent);
        // gpt-5 is newer but no image model; gpt-image-3 is shut down.
        assert_eq!(list.newest_image(today), Some("gpt-image-2"));
        assert_eq!(list.newest_image(day("2026-12-05")), Some("gpt-image-3"));
        assert!(ModelList::openai(b"{\"error\":{}}").is_err());
    }

    #[test]
    fn gemini_pages_keep_generate_content_models_and_rank_by_version() {
        let mut list = ModelList::new(Backend::Gemini);
        let next = list.add_gemini_page(br#"{"models":[
            {"name":"models/gemini-3-pro-image","supportedGenerationMethods":["generateContent","countTokens"]},
            {"name":"models/imagen-4.0-generate-001","supportedGenerationMethods":["predict"]},
            {"name":"models/gemini-3.8-pro","supportedGenerationMethods":["generateContent"]}
        ],"nextPageToken":"page2"}"#);
        assert_eq!(next, Ok(Some(String::from("page2"))));
        let last = list.add_gemini_page(br#"{"models":[
            {"name":"models/gemini-3.1-flash-image","supportedGenerationMethods":["generateContent"]},
            {"name":"models/gemini-3.1-pro-image-preview","supportedGenerationMethods":["generateContent"]}
        ]}"#);
        assert_eq!(last, Ok(None));
        assert_eq!(list.len(), 4, "imagen (predict only) is left out");
        let today = day("2026-12-07");
        assert_eq!(list.newest_image(today), Some("gemini-3.1-flash-image"));
        assert_eq!(
            list.standing("gemini-3-pro-image", today),
            Standing::Current
        );
        assert_eq!(
            list.standing("gemini-3-pro-image-preview", today),
            Standing::Absent
        );
        assert_eq!(
            list.standing("imagen-4.0-generate-001", today),
            Standing::Absent
        );
    }

    #[test]
    fn ties_prefer_the_alias_and_versions_compare_as_numbers() {
        let list = ModelList::of(
            Backend::OpenAi,
            &[
                ("gpt-image-2-2026-04-21", None, 5),
                ("gpt-image-2", None, 5),
            ],
        );
        assert_eq!(list.newest_image(day("2026-12-07")), Some("gpt-image-2"));
        assert_eq!(gemini_version("gemini-3.10-flash-image"), [3, 10]);
        assert!(
            gemini_version("gemini-3.10-flash-image") > gemini_version("gemini-3.9-flash-image")
        );
        assert_eq!(
            gemini_version("gemini-3.0-pro-image"),
            gemini_version("gemini-3-pro-image")
        );
        assert!(is_dated("gpt-image-2-2026-04-21"));
        assert!(!is_dated("gpt-image-2"));
        assert!(!is_dated("gpt-éééééé"), "no panic inside a character");
    }

    #[test]
    fn image_models_are_named_as_their_provider_names_them() {
        assert!(is_image_model(Backend::OpenAi, "gpt-image-2.6-flare"));
        assert!(is_image_model(Backend::OpenAi, "dall-e-3"));
        assert!(!is_image_model(Backend::OpenAi, "gpt-4o"));
        assert!(is_image_model(Backend::Gemini, "gemini-3-pro-image"));
        assert!(!is_image_model(Backend::Gemini, "gemini-3.8-pro"));
        assert!(!is_image_model(Backend::Gemini, "gemini-imagery-x"));
    }
}
