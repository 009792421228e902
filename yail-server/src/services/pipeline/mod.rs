//! From a picture's bytes to a packet on the wire: conversions run on
//! blocking threads (at most `workers` at once), results are cached, and
//! two sessions asking for the same conversion at the same time share one.

mod cache;
mod converted;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{OnceCell, Semaphore};
use yail_core::{Converter, DecodeOptions, Settings};
use yail_state::{ErrorKind, ServerState};

use crate::config::Config;
use crate::sync::lock;
use cache::PacketCache;
pub(crate) use converted::Converted;

/// Why a picture could not be made into a packet. Cloned for every
/// request waiting on the same conversion, hence the `Arc`s.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum PipelineError {
    /// The picture's bytes could not be read.
    #[error("could not read {name}: {source}")]
    Load {
        name: String,
        source: Arc<std::io::Error>,
    },
    /// The bytes are not a picture we can convert.
    #[error("could not convert {name}: {source}")]
    Convert {
        name: String,
        source: yail_core::Error,
    },
    /// The picture's header names more pixels than the decode budget.
    #[error(
        "could not convert {name}: {width}x{height} is more than the {max_megapixels} megapixels this server decodes"
    )]
    TooManyPixels {
        name: String,
        width: u32,
        height: u32,
        max_megapixels: u64,
    },
    /// The conversion's thread ended without a result.
    #[error("could not convert {name}: conversion task failed: {source}")]
    Crashed {
        name: String,
        source: Arc<tokio::task::JoinError>,
    },
    /// The conversion slots are closed: the server is stopping.
    #[error("could not convert {name}: the server is stopping")]
    Stopping { name: String },
}

impl PipelineError {
    /// The metrics category.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            PipelineError::Load { .. } | PipelineError::Stopping { .. } => ErrorKind::Source,
            PipelineError::Convert { .. }
            | PipelineError::TooManyPixels { .. }
            | PipelineError::Crashed { .. } => ErrorKind::Convert,
        }
    }
}

/// Memory a conversion is taken to need per pixel of its picture, before
/// it starts: the decoded pixels as stored (RGBA: 4 bytes), the RGB copy
/// alpha is composited into (3) and the grey copy grey modes make (1).
/// Measured: a 16384x8191 RGBA PNG peaks at 1.06 GB in `yail convert` for
/// every grey mode (8.1 bytes per pixel), 0.93 GB for VBXE.
pub const BYTES_PER_PIXEL: u64 = 8;

/// After a conversion that reserved at least this much, the freed memory
/// is handed back to the system at once (see [`yail_core::malloc`]).
const RELEASE_AFTER: u64 = 64 << 20;

type Outcome = Result<Converted, PipelineError>;

/// Conversions of one key in progress, and how many requests wait on them.
struct Flight {
    cell: Arc<OnceCell<Outcome>>,
    waiters: usize,
}

/// The shared conversion service; a cheap `Clone` handle.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    converter: Converter,
    /// Shared with the blocking tasks, which hold a permit until they end.
    workers: Arc<Semaphore>,
    /// The decode memory budget in MiB; a conversion holds its share until
    /// its blocking task ends.
    memory: Arc<Semaphore>,
    memory_mib: u32,
    cache: Mutex<PacketCache>,
    in_flight: Mutex<HashMap<String, Flight>>,
    state: ServerState,
}

/// Largest picture file accepted, before decoding.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

impl Pipeline {
    /// A pipeline with `config.workers` conversion slots, a cache of
    /// `config.cache_bytes` and a decode budget of `config.decode_memory`.
    pub fn new(state: ServerState, config: &Config) -> Pipeline {
        let memory_mib = u32::try_from(config.decode_memory >> 20)
            .unwrap_or(u32::MAX)
            .clamp(1, Semaphore::MAX_PERMITS as u32);
        let decode = DecodeOptions {
            max_alloc: u64::from(memory_mib) << 20,
            ..DecodeOptions::default()
        };
        Pipeline {
            inner: Arc::new(Inner {
                converter: Converter::with_decode_options(decode),
                workers: Arc::new(Semaphore::new(config.workers.max(1))),
                memory: Arc::new(Semaphore::new(memory_mib as usize)),
                memory_mib,
                cache: Mutex::new(PacketCache::new(config.cache_bytes)),
                in_flight: Mutex::new(HashMap::new()),
                state,
            }),
        }
    }

    /// The largest picture, in pixels, the decode budget admits.
    pub fn max_pixels(&self) -> u64 {
        (u64::from(self.inner.memory_mib) << 20) / BYTES_PER_PIXEL
    }

    /// The packet for the picture `identity` under `settings` (whose mode
    /// must be concrete): from the cache, from a conversion another session
    /// already started, or converted now from what `load` returns. `load`
    /// runs only in the last case, so a cached picture is not loaded (or
    /// downloaded) again. Its bytes are dropped once the conversion ends.
    pub async fn packet<L, B>(
        &self,
        name: &str,
        identity: &str,
        settings: &Settings,
        load: L,
    ) -> Result<Converted, PipelineError>
    where
        L: Future<Output = std::io::Result<B>>,
        B: AsRef<[u8]> + Send + 'static,
    {
        let key = format!(
            "{identity}|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
            settings.mode.wire(),
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
        let waiter = Waiter::join(&self.inner, key);
        waiter
            .cell
            .get_or_init(|| async {
                let bytes = load.await.map_err(|e| PipelineError::Load {
                    name: name.to_string(),
                    source: Arc::new(e),
                })?;
                let key = Some(waiter.key.clone());
                self.convert(name, bytes, settings.clone(), key).await
            })
            .await
            .clone()
    }

    /// Converts `bytes` under `settings` within the same worker slots and
    /// decode memory budget as every other conversion, without the cache
    /// or sharing (the admin page's "try it", whose uploads are not
    /// pictures the Ataris are shown).
    pub(crate) async fn convert_uncached(
        &self,
        name: &str,
        bytes: impl AsRef<[u8]> + Send + 'static,
        settings: Settings,
    ) -> Outcome {
        self.convert(name, bytes, settings, None).await
    }

    /// Converts within the slots and the budget; the packet is cached
    /// under `key`, if one is given.
    async fn convert(
        &self,
        name: &str,
        bytes: impl AsRef<[u8]> + Send + 'static,
        settings: Settings,
        key: Option<String>,
    ) -> Outcome {
        let failed = |source: yail_core::Error| PipelineError::Convert {
            name: name.to_string(),
            source,
        };
        let stopping = |_| PipelineError::Stopping {
            name: name.to_string(),
        };
        // The header says how much memory decoding will take: reserve it
        // first, so concurrent requests for huge pictures queue instead of
        // multiplying the peak.
        let (width, height) = yail_core::dimensions(bytes.as_ref()).map_err(failed)?;
        let pixels = u64::from(width) * u64::from(height);
        if pixels > self.max_pixels() {
            return Err(PipelineError::TooManyPixels {
                name: name.to_string(),
                width,
                height,
                max_megapixels: self.max_pixels() / 1_000_000,
            });
        }
        let cost = pixels * BYTES_PER_PIXEL;
        let cost_mib = u32::try_from(cost.div_ceil(1 << 20)).unwrap_or(u32::MAX);
        let memory = Arc::clone(&self.inner.memory)
            .acquire_many_owned(cost_mib.max(1))
            .await
            .map_err(stopping)?;
        let slot = Arc::clone(&self.inner.workers)
            .acquire_owned()
            .await
            .map_err(stopping)?;
        let inner = Arc::clone(&self.inner);
        let started = Instant::now();
        // The blocking task keeps its worker slot and its memory and caches
        // its own result: if the request that started it times out, both
        // stay taken until the work really ends, and the packet is not
        // thrown away.
        let converted = tokio::task::spawn_blocking(move || {
            let (_slot, _memory) = (slot, memory);
            let packet = inner
                .converter
                .convert(bytes.as_ref(), &settings)
                .map(|p| Converted {
                    mode: p.mode(),
                    bytes: Bytes::from(p.to_bytes()),
                });
            inner.state.metrics().record_conversion(started.elapsed());
            if cost >= RELEASE_AFTER {
                yail_core::malloc::release_freed_memory();
            }
            if let (Ok(packet), Some(key)) = (&packet, key) {
                lock(&inner.cache).insert(key, packet.clone());
            }
            packet
        })
        .await
        .map_err(|e| PipelineError::Crashed {
            name: name.to_string(),
            source: Arc::new(e),
        })?;
        converted.map_err(failed)
    }

    /// Conversions that requests are waiting on.
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        lock(&self.inner.in_flight).len()
    }
}

/// One request's share in a conversion. The last waiter to leave, having
/// finished or been cancelled (its session gone, its request timed out),
/// retires the entry, so cancelled requests leave nothing behind.
struct Waiter<'a> {
    inner: &'a Inner,
    key: String,
    cell: Arc<OnceCell<Outcome>>,
}

impl<'a> Waiter<'a> {
    fn join(inner: &'a Inner, key: String) -> Waiter<'a> {
        let mut in_flight = lock(&inner.in_flight);
        let flight = in_flight.entry(key.clone()).or_insert_with(|| Flight {
            cell: Arc::default(),
            waiters: 0,
        });
        flight.waiters += 1;
        let cell = Arc::clone(&flight.cell);
        drop(in_flight);
        Waiter { inner, key, cell }
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.inner.in_flight);
        if let Some(flight) = in_flight.get_mut(&self.key)
            && Arc::ptr_eq(&flight.cell, &self.cell)
        {
            flight.waiters -= 1;
            if flight.waiters == 0 {
                in_flight.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use yail_core::GfxMode;

    fn pipeline() -> Pipeline {
        let config = Config {
            decode_memory: 64 << 20,
            ..Config::default()
        };
        Pipeline::new(ServerState::new(), &config)
    }

    /// A PNG whose header claims this size, with no pixels behind it.
    fn png_header(width: u32, height: u32) -> Arc<[u8]> {
        let mut png = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        for (kind, body) in [(b"IHDR", &ihdr[..]), (b"IDAT", &[]), (b"IEND", &[])] {
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(body);
            png.extend_from_slice(&(body.len() as u32).to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(body);
            png.extend_from_slice(&crc.sum().to_be_bytes());
        }
        png.into()
    }

    /// A load that never finishes.
    fn never_loads() -> std::future::Pending<std::io::Result<Arc<[u8]>>> {
        std::future::pending()
    }

    #[tokio::test]
    async fn a_cancelled_request_leaves_no_conversion_behind() {
        let pipeline = pipeline();
        let settings = Settings::new(GfxMode::Gr8);
        let never = never_loads();
        let first = pipeline.packet("stuck", "stuck", &settings, never);
        let second = pipeline.packet("stuck", "stuck", &settings, never_loads());
        let both = async { tokio::join!(first, second) };
        assert!(
            tokio::time::timeout(Duration::from_millis(50), both)
                .await
                .is_err()
        );
        assert_eq!(pipeline.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_picture_larger_than_the_budget_is_refused_from_its_header() {
        let pipeline = pipeline();
        assert_eq!(pipeline.max_pixels(), (64 << 20) / BYTES_PER_PIXEL);
        let settings = Settings::new(GfxMode::Gr8);
        let huge = png_header(16_000, 16_000);
        let refused = pipeline
            .packet("huge.png", "huge", &settings, async { Ok(huge) })
            .await;
        match refused {
            Err(PipelineError::TooManyPixels { width, height, .. }) => {
                assert_eq!((width, height), (16_000, 16_000));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pipeline.in_flight(), 0);
    }
}
