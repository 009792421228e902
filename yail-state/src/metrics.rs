//! Counters and a latency histogram, each update a single relaxed atomic
//! operation: totals are exact, and a snapshot taken while threads are
//! still recording may be a moment behind but never invents counts.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Why a request failed, for the error counters.
///
/// ```
/// use yail_state::ErrorKind;
///
/// let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
/// assert_eq!(names, ["bad_request", "source", "convert", "timeout", "busy", "io"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client sent something we could not parse or do not support.
    BadRequest,
    /// The image source failed (file unreadable, search or generation failed).
    Source,
    /// The picture could not be decoded or converted.
    Convert,
    /// A request took longer than allowed.
    Timeout,
    /// The server refused a connection because it was full.
    Busy,
    /// Reading from or writing to the client failed.
    Io,
}

impl ErrorKind {
    /// Every kind, in counter order.
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::BadRequest,
        ErrorKind::Source,
        ErrorKind::Convert,
        ErrorKind::Timeout,
        ErrorKind::Busy,
        ErrorKind::Io,
    ];

    /// A short lower-case name for logs and metrics pages.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Source => "source",
            ErrorKind::Convert => "convert",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Busy => "busy",
            ErrorKind::Io => "io",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// The server's counters, reached through [`ServerState::metrics`].
///
/// [`ServerState::metrics`]: crate::ServerState::metrics
///
/// ```
/// use std::time::Duration;
/// use yail_state::{ErrorKind, ServerState};
///
/// let state = ServerState::new();
/// let metrics = state.metrics();
/// metrics.record_packet(2, 8807);
/// metrics.record_packet(2, 8807);
/// metrics.record_error(ErrorKind::Timeout);
/// metrics.record_conversion(Duration::from_millis(4));
/// metrics.record_cache_lookup(true);
///
/// let m = metrics.snapshot();
/// assert_eq!((m.packets_by_mode[2], m.bytes_sent), (2, 17_614));
/// assert_eq!(m.errors_of(ErrorKind::Timeout), 1);
/// assert_eq!(m.conversions.count, 1);
/// assert_eq!(m.cache_hit_rate(), Some(1.0));
/// ```
#[derive(Debug)]
pub struct Metrics {
    connections_total: AtomicU64,
    connections_current: AtomicUsize,
    packets_by_mode: [AtomicU64; 256],
    bytes_sent: AtomicU64,
    errors: [AtomicU64; ErrorKind::ALL.len()],
    conversions: Histogram,
    requests: Histogram,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            connections_total: AtomicU64::new(0),
            connections_current: AtomicUsize::new(0),
            packets_by_mode: std::array::from_fn(|_| AtomicU64::new(0)),
            bytes_sent: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            conversions: Histogram::default(),
            requests: Histogram::default(),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
        }
    }
}

/// A copy of the counters at one moment (see [`Metrics`] for an example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Connections open now.
    pub connections_current: usize,
    /// Packets sent, indexed by the mode byte of their header.
    pub packets_by_mode: Vec<u64>,
    /// Bytes of packets sent.
    pub bytes_sent: u64,
    /// Errors per kind, in the order of [`ErrorKind::ALL`].
    pub errors: Vec<(ErrorKind, u64)>,
    /// Conversion latencies.
    pub conversions: HistogramSnapshot,
    /// Request latencies: from a request to its packet being ready.
    pub requests: HistogramSnapshot,
    /// Packets found in the converted-packet cache.
    pub cache_hits: u64,
    /// Packets that had to be converted.
    pub cache_misses: u64,
}

impl MetricsSnapshot {
    /// Packets of all modes.
    pub fn packets_total(&self) -> u64 {
        self.packets_by_mode.iter().sum()
    }

    /// The share of packet lookups the cache answered, `None` before the
    /// first lookup.
    pub fn cache_hit_rate(&self) -> Option<f64> {
        let lookups = self.cache_hits + self.cache_misses;
        (lookups > 0).then(|| self.cache_hits as f64 / lookups as f64)
    }

    /// Errors of one kind.
    pub fn errors_of(&self, kind: ErrorKind) -> u64 {
        self.errors
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }
}

impl Metrics {
    /// Counts a connection opened; returns how many are open now.
    pub(crate) fn open_connection(&self) -> usize {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
        self.connections_current.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Counts a connection closed; returns how many are open now, which
    /// never goes below zero (an extra close is ignored).
    pub(crate) fn close_connection(&self) -> usize {
        let previous = self
            .connections_current
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or_else(|n| n);
        previous.saturating_sub(1)
    }

    /// Connections open now.
    pub(crate) fn open_connections(&self) -> usize {
        self.connections_current.load(Ordering::Acquire)
    }

    /// Counts a packet of `bytes` bytes whose header names `mode`.
    pub fn record_packet(&self, mode: u8, bytes: usize) {
        self.packets_by_mode[usize::from(mode)].fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts an error.
    pub fn record_error(&self, kind: ErrorKind) {
        self.errors[kind.slot()].fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long one conversion took.
    pub fn record_conversion(&self, took: Duration) {
        self.conversions.record(took);
    }

    /// Records how long a request took until its packet was ready.
    pub(crate) fn record_request(&self, took: Duration) {
        self.requests.record(took);
    }

    /// Counts a packet lookup in the converted-packet cache.
    pub fn record_cache_lookup(&self, hit: bool) {
        let counter = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            connections_total: self.connections_total.load(Ordering::Relaxed),
            connections_current: self.connections_current.load(Ordering::Acquire),
            packets_by_mode: self
                .packets_by_mode
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            errors: ErrorKind::ALL
                .iter()
                .map(|&k| (k, self.errors[k.slot()].load(Ordering::Relaxed)))
                .collect(),
            conversions: self.conversions.snapshot(),
            requests: self.requests.snapshot(),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
        }
    }
}

/// Buckets per power of two (the two bits after the leading one).
const SUB_BUCKETS: u64 = 4;
/// Enough buckets for 2^40 µs (12 days); longer values share the last one.
const BUCKETS: usize = 160;

/// A latency histogram with logarithmic buckets (four per power of two, so
/// a bucket's bounds are within 25 % of each other), in microseconds.
#[derive(Debug)]
pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }
}

/// The bucket a value in microseconds falls in.
fn bucket_of(micros: u64) -> usize {
    if micros < SUB_BUCKETS {
        return micros as usize;
    }
    let power = 63 - u64::from(micros.leading_zeros()); // >= 2
    let sub = (micros >> (power - 2)) & (SUB_BUCKETS - 1);
    ((SUB_BUCKETS + (power - 2) * SUB_BUCKETS + sub) as usize).min(BUCKETS - 1)
}

/// The largest value in microseconds that falls in `bucket`.
fn bucket_top(bucket: usize) -> u64 {
    let b = bucket as u64;
    if b < SUB_BUCKETS {
        return b;
    }
    let power = (b - SUB_BUCKETS) / SUB_BUCKETS + 2;
    let sub = (b - SUB_BUCKETS) % SUB_BUCKETS;
    ((SUB_BUCKETS + sub + 1) << (power - 2)) - 1
}

impl Histogram {
    /// Records one value.
    pub(crate) fn record(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of the histogram.
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self
                .buckets
                .iter()
                .map(|b| b.load(Ordering::Relaxed))
                .collect(),
            count: self.count.load(Ordering::Relaxed),
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
        }
    }
}

/// A copy of a latency histogram: logarithmic buckets, four per power of
/// two, in microseconds.
///
/// ```
/// use std::time::Duration;
/// use yail_state::ServerState;
///
/// let state = ServerState::new();
/// for ms in 1..=100 {
///     state.metrics().record_conversion(Duration::from_millis(ms));
/// }
/// let conversions = state.metrics().snapshot().conversions;
/// assert_eq!(conversions.count, 100);
/// assert_eq!(conversions.mean(), Duration::from_micros(50_500));
/// // Quantiles are bucket tops: at most 25 % above the true value.
/// let p99 = conversions.quantile(0.99);
/// assert!(p99 >= Duration::from_millis(99) && p99 <= Duration::from_micros(123_750));
/// // Prometheus `le` buckets: (top in µs, values at or below it).
/// assert_eq!(conversions.cumulative().last().map(|&(_, n)| n), Some(100));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    buckets: Vec<u64>,
    /// Values recorded.
    pub count: u64,
    /// Their sum, in microseconds.
    pub sum_micros: u64,
}

impl HistogramSnapshot {
    /// The mean, or zero when empty.
    pub fn mean(&self) -> Duration {
        Duration::from_micros(self.sum_micros.checked_div(self.count).unwrap_or(0))
    }

    /// Cumulative counts at each bucket's upper bound, in microseconds,
    /// up to the highest non-empty bucket (Prometheus `le` buckets).
    pub fn cumulative(&self) -> Vec<(u64, u64)> {
        let last = self.buckets.iter().rposition(|&n| n > 0);
        let mut seen = 0;
        self.buckets
            .iter()
            .take(last.map_or(0, |l| l + 1))
            .enumerate()
            .map(|(bucket, &n)| {
                seen += n;
                (bucket_top(bucket), seen)
            })
            .collect()
    }

    /// An upper bound (within 25 %) of the `q` quantile, `q` in 0..=1;
    /// zero when empty.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Duration::from_micros(bucket_top(bucket));
            }
        }
        Duration::from_micros(bucket_top(BUCKETS - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        for v in (0..100_000u64).chain([1 << 30, (1 << 39) + 12345]) {
            let b = bucket_of(v);
            assert!(v <= bucket_top(b), "{v} above the top of bucket {b}");
            if b > 0 {
                assert!(v > bucket_top(b - 1), "{v} belongs below bucket {b}");
            }
            assert!(bucket_top(b) as f64 <= (v as f64) * 1.25 + 1.0);
        }
    }

    #[test]
    fn quantiles_bound_the_recorded_values() {
        let h = Histogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        assert_eq!(s.count, 100);
        let p50 = s.quantile(0.5).as_micros();
        assert!((50_000..=62_500).contains(&p50), "p50 {p50}");
        let p99 = s.quantile(0.99).as_micros();
        assert!((99_000..=123_750).contains(&p99), "p99 {p99}");
        assert_eq!(s.mean(), Duration::from_micros(50_500));
        let cumulative = s.cumulative();
        assert_eq!(cumulative.last().map(|c| c.1), Some(100));
        assert!(
            cumulative
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        );
        assert!(Histogram::default().snapshot().cumulative().is_empty());
    }

    #[test]
    fn extra_connection_closes_stop_at_zero() {
        let metrics = Metrics::default();
        assert_eq!(metrics.close_connection(), 0);
        assert_eq!(metrics.open_connection(), 1);
        assert_eq!(metrics.close_connection(), 0);
        assert_eq!(metrics.close_connection(), 0);
        assert_eq!(metrics.open_connections(), 0);
        assert_eq!(metrics.snapshot().connections_total, 1);
    }
}
