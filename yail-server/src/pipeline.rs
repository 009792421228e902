//! From a picture's bytes to a packet on the wire: conversions run on
//! blocking threads (at most `workers` at once), results are cached, and
//! two sessions asking for the same conversion at the same time share one.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{OnceCell, Semaphore};
use yail_core::{Converter, DecodeOptions, Settings};
use yail_state::{ErrorKind, ServerState};

use crate::cache::PacketCache;

/// Why a picture could not be made into a packet.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PipelineError {
    /// The picture's bytes could not be fetched.
    #[error("could not read {name}: {reason}")]
    Load {
        /// The picture.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// The bytes are not a picture we can convert.
    #[error("could not convert {name}: {reason}")]
    Convert {
        /// The picture.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

impl PipelineError {
    /// The metrics category.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PipelineError::Load { .. } => ErrorKind::Source,
            PipelineError::Convert { .. } => ErrorKind::Convert,
        }
    }
}

type Flight = Arc<OnceCell<Result<Bytes, PipelineError>>>;

/// The shared conversion service; a cheap `Clone` handle.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    converter: Converter,
    /// Shared with the blocking tasks, which hold a permit until they end.
    workers: Arc<Semaphore>,
    cache: Mutex<PacketCache>,
    in_flight: Mutex<HashMap<String, Flight>>,
    state: ServerState,
}

/// Largest picture file accepted, before decoding.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

impl Pipeline {
    /// A pipeline with `workers` conversion slots and a cache of
    /// `cache_bytes`.
    pub fn new(state: ServerState, workers: usize, cache_bytes: usize) -> Pipeline {
        Pipeline {
            inner: Arc::new(Inner {
                converter: Converter::with_decode_options(DecodeOptions::default()),
                workers: Arc::new(Semaphore::new(workers.max(1))),
                cache: Mutex::new(PacketCache::new(cache_bytes)),
                in_flight: Mutex::new(HashMap::new()),
                state,
            }),
        }
    }

    /// The packet for the picture `identity` under `settings` (whose mode
    /// must be concrete): from the cache, from a conversion another session
    /// already started, or converted now from what `load` returns.
    pub async fn packet<L>(
        &self,
        name: &str,
        identity: &str,
        settings: &Settings,
        load: L,
    ) -> Result<Bytes, PipelineError>
    where
        L: Future<Output = std::io::Result<Arc<[u8]>>>,
    {
        let key = format!(
            "{identity}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
            u8::from(settings.mode),
            settings.fit,
            settings.dither,
            settings.blend,
            settings.tv,
            settings.palette_method
        );
        let cached = lock(&self.inner.cache).get(&key);
        self.inner
            .state
            .metrics()
            .record_cache_lookup(cached.is_some());
        if let Some(hit) = cached {
            return Ok(hit);
        }
        let flight: Flight =
            Arc::clone(lock(&self.inner.in_flight).entry(key.clone()).or_default());
        let result = flight
            .get_or_init(|| async {
                let bytes = load.await.map_err(|e| PipelineError::Load {
                    name: name.to_string(),
                    reason: e.to_string(),
                })?;
                self.convert(name, bytes, settings.clone(), key.clone())
                    .await
            })
            .await
            .clone();
        // The first finisher retires the flight; later callers use the cache.
        let mut in_flight = lock(&self.inner.in_flight);
        if in_flight.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            in_flight.remove(&key);
        }
        result
    }

    async fn convert(
        &self,
        name: &str,
        bytes: Arc<[u8]>,
        settings: Settings,
        key: String,
    ) -> Result<Bytes, PipelineError> {
        let failed = |reason: String| PipelineError::Convert {
            name: name.to_string(),
            reason,
        };
        let slot = Arc::clone(&self.inner.workers)
            .acquire_owned()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let inner = Arc::clone(&self.inner);
        let started = Instant::now();
        // The blocking task keeps its worker slot and caches its own result:
        // if the request that started it times out, the slot stays taken
        // until the work really ends, and the packet is not thrown away.
        let converted = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let packet = inner
                .converter
                .convert(&bytes, &settings)
                .map(|p| Bytes::from(p.to_bytes()));
            inner.state.metrics().record_conversion(started.elapsed());
            if let Ok(packet) = &packet {
                lock(&inner.cache).insert(key, packet.clone());
            }
            packet
        })
        .await
        .map_err(|e| failed(format!("conversion task failed: {e}")))?;
        converted.map_err(|e| failed(e.to_string()))
    }

    /// Bytes held by the cache.
    pub fn cached_bytes(&self) -> usize {
        lock(&self.inner.cache).bytes()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
