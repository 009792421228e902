//! Keeps the server's keys out of every error text: an API may quote the
//! key it refused, and the text goes to a client and the log.

use super::error::GenError;

/// The keys to remove.
#[derive(Clone)]
pub(super) struct Scrubber {
    keys: Vec<String>,
}

impl Scrubber {
    /// A scrubber for the keys that are set (empty ones are skipped).
    pub(super) fn new<'a>(keys: impl IntoIterator<Item = &'a Option<String>>) -> Scrubber {
        Scrubber {
            keys: keys
                .into_iter()
                .flatten()
                .filter(|k| !k.is_empty())
                .cloned()
                .collect(),
        }
    }

    /// `text` with every key in it replaced by `[key]`.
    pub(super) fn text(&self, text: String) -> String {
        self.keys
            .iter()
            .fold(text, |text, key| text.replace(key.as_str(), "[key]"))
    }

    /// `error` with every key in its text replaced by `[key]`.
    pub(super) fn scrub(&self, error: GenError) -> GenError {
        let clean = |text: String| self.text(text);
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
            GenError::NoPicture { service, reason } => GenError::NoPicture {
                service,
                reason: clean(reason),
            },
            // Fetch errors name a host at most, never a header or a body.
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_quoting_a_key_are_scrubbed() {
        let scrubber = Scrubber::new([&Some(String::from("sk-secret-123")), &None]);
        let error = scrubber.scrub(GenError::Refused {
            service: "OpenAI",
            status: 401,
            message: String::from("Incorrect API key provided: sk-secret-123."),
        });
        assert!(!error.to_string().contains("sk-secret-123"), "{error}");
        assert!(error.to_string().contains("[key]"), "{error}");
    }
}
