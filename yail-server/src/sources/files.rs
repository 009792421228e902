//! `files`: a random picture from the catalogue (--paths or the built-in
//! gallery), never the same one twice in a row, broken files skipped.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tracing::warn;
use yail_core::Settings;
use yail_proto::GfxMode;

use super::request::Request;
use crate::error::RequestError;
use crate::services::Services;
use crate::services::catalogue::PictureFile;
use crate::services::pipeline::{Converted, MAX_SOURCE_BYTES, PipelineError};

/// The session's slideshow.
#[derive(Default)]
pub(crate) struct Files {
    last: Option<PathBuf>,
    prefetch: Option<Prefetch>,
}

/// A picture being prepared for the next `next`; aborted if dropped unused.
struct Prefetch {
    mode: GfxMode,
    path: PathBuf,
    packet: Option<JoinHandle<Result<Converted, PipelineError>>>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        if let Some(task) = &self.packet {
            task.abort();
        }
    }
}

impl Files {
    pub(crate) async fn next(&mut self, request: &Request) -> Result<Converted, RequestError> {
        if let Some(mut prefetch) = self.prefetch.take()
            && prefetch.mode == request.requested
            && let Some(task) = prefetch.packet.take()
            && let Ok(Ok(packet)) = task.await
        {
            // A failed prefetch falls through to a fresh pick below.
            self.last = Some(prefetch.path.clone());
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

    /// While the Atari shows a picture, prepare the next one.
    pub(crate) fn prefetch(&mut self, request: &Request) {
        if !request.services.config().prefetch {
            return;
        }
        let Some(path) = request
            .services
            .state()
            .random_file_except(self.last.as_deref())
        else {
            return;
        };
        let (services, settings) = (request.services.clone(), request.settings.clone());
        let entry = path.clone();
        let packet = tokio::spawn(async move { convert_file(&services, entry, settings).await });
        self.prefetch = Some(Prefetch {
            mode: request.requested,
            path,
            packet: Some(packet),
        });
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
