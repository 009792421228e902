//! `files`: a random picture from the catalogue (--paths or the built-in
//! gallery), never the same one twice in a row, broken files skipped.

use std::path::PathBuf;
use std::sync::Arc;

use tracing::warn;
use yail_core::Settings;

use super::prefetch::Prefetch;
use super::request::{Pictures, Request};
use crate::error::RequestError;
use crate::services::Services;
use crate::services::catalogue::PictureFile;
use crate::services::pipeline::{Converted, MAX_SOURCE_BYTES, PipelineError};

/// A session's slideshow.
#[derive(Default)]
pub(crate) struct Slideshow {
    last: Option<PathBuf>,
    /// The picture prepared for the next `next`, and which one it is.
    prefetch: Option<Prefetch<(PathBuf, Result<Converted, PipelineError>)>>,
}

impl Pictures for Slideshow {
    fn activity(&self) -> (&'static str, Option<&str>) {
        ("files", None)
    }

    async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        // A failed prefetch falls through to a fresh pick below.
        if let Some(prefetch) = self.prefetch.take()
            && let Some((path, Ok(packet))) = prefetch.take(request.requested).await
        {
            self.last = Some(path);
            return Ok(packet);
        }
        let services = &request.services;
        let mut last_error = None;
        for _ in 0..=services.config().file_retries {
            let Some(entry) = services.state().random_file_except(self.last.as_deref()) else {
                return Err(RequestError::NoPictures);
            };
            self.last = Some(entry.clone());
            match convert_file(services, entry, request.settings.clone()).await {
                Ok(packet) => return Ok(packet),
                Err(e) => {
                    warn!(error = %e, "skipping a picture");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.map_or(RequestError::NoPictures, RequestError::NoReadablePictures))
    }

    fn prefetch(&mut self, request: &Request) {
        let Some(path) = request
            .services
            .state()
            .random_file_except(self.last.as_deref())
        else {
            return;
        };
        let (services, settings) = (request.services.clone(), request.settings.clone());
        self.prefetch = Some(Prefetch::spawn(request.requested, async move {
            let packet = convert_file(&services, path.clone(), settings).await;
            (path, packet)
        }));
    }
}

/// Loads and converts one catalogue entry through the shared pipeline.
async fn convert_file(
    services: &Services,
    entry: PathBuf,
    settings: Settings,
) -> Result<Converted, PipelineError> {
    let picture = PictureFile::of_entry(&entry);
    let name = picture.name();
    let identity = picture.identity().await.map_err(|e| PipelineError::Load {
        name: name.clone(),
        source: Arc::new(e),
    })?;
    services
        .pipeline()
        .packet(&name, &identity, &settings, picture.load(MAX_SOURCE_BYTES))
        .await
}
