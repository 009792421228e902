//! `gen [model] PROMPT` and `gen-gemini PROMPT`: a picture generated from
//! the session's prompt; `next` generates again from the same prompt.

use std::time::Duration;

use super::request::{Pictures, Request};
use crate::error::RequestError;
use crate::services::Services;
use crate::services::pipeline::Converted;

/// A session's generation: the model chosen for it and its prompt.
pub(crate) struct Generation {
    model: String,
    prompt: String,
}

impl Generation {
    pub(crate) fn new(model: String, prompt: String) -> Generation {
        Generation { model, prompt }
    }
}

impl Pictures for Generation {
    fn activity(&self) -> (&'static str, Option<&str>) {
        ("generate", Some(&self.prompt))
    }

    async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        let services = &request.services;
        let generated = services
            .generator()
            .generate(
                request.client,
                &self.model,
                &request.generation,
                &self.prompt,
            )
            .await?;
        let bytes = generated.bytes;
        let packet = services.pipeline().packet(
            "generated picture",
            &generated.identity,
            &request.settings,
            async { Ok(bytes) },
        );
        Ok(packet.await?)
    }

    /// The generator has its own timeout; conversion comes after.
    fn time_limit(&self, services: &Services) -> Duration {
        services
            .config()
            .request_timeout
            .saturating_add(services.generator().timeout())
    }
}
