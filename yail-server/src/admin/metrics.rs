//! `/metrics` in the Prometheus text exposition format.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use yail_proto::GfxMode;
use yail_state::{HistogramSnapshot, MetricsSnapshot, SourceStatus};

use super::shared::AdminShared;

pub(super) async fn prometheus(State(shared): State<Arc<AdminShared>>) -> impl IntoResponse {
    let text = render(
        &shared.services.state().metrics().snapshot(),
        &shared.services.state().sources().snapshot(),
        shared.services.state().file_count(),
        shared.started.elapsed().as_secs_f64(),
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    header(out, name, "histogram", help);
    for (top_micros, count) in h.cumulative() {
        // A bucket holds whole microseconds up to and including its top.
        let le = (top_micros as f64 + 1.0) / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum_micros as f64 / 1e6);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

/// Label values come from source names the server chose; quotes and
/// backslashes are escaped all the same.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(super) fn render(
    m: &MetricsSnapshot,
    sources: &[SourceStatus],
    files: usize,
    uptime: f64,
) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "yail_uptime_seconds",
        "gauge",
        "Seconds since the admin server started.",
    );
    let _ = writeln!(out, "yail_uptime_seconds {uptime}");
    header(
        &mut out,
        "yail_connections",
        "gauge",
        "Sessions connected now.",
    );
    let _ = writeln!(out, "yail_connections {}", m.connections_current);
    header(
        &mut out,
        "yail_connections_total",
        "counter",
        "Sessions accepted since start.",
    );
    let _ = writeln!(out, "yail_connections_total {}", m.connections_total);
    header(
        &mut out,
        "yail_catalogue_files",
        "gauge",
        "Pictures `files` can serve.",
    );
    let _ = writeln!(out, "yail_catalogue_files {files}");
    header(
        &mut out,
        "yail_packets_total",
        "counter",
        "Packets sent (pictures and errors), by the mode byte of their header.",
    );
    for (mode, n) in m
        .packets_by_mode
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
    {
        let _ = writeln!(
            out,
            "yail_packets_total{{mode=\"{mode}\",name=\"{}\"}} {n}",
            GfxMode::wire_name(mode as u8)
        );
    }
    header(
        &mut out,
        "yail_sent_bytes_total",
        "counter",
        "Bytes of packets sent.",
    );
    let _ = writeln!(out, "yail_sent_bytes_total {}", m.bytes_sent);
    header(
        &mut out,
        "yail_pictures_total",
        "counter",
        "Pictures delivered, by source.",
    );
    for s in sources {
        let _ = writeln!(
            out,
            "yail_pictures_total{{source=\"{}\"}} {}",
            label(&s.name),
            s.successes
        );
    }
    header(
        &mut out,
        "yail_source_failures_total",
        "counter",
        "Failed requests, by source.",
    );
    for s in sources {
        let _ = writeln!(
            out,
            "yail_source_failures_total{{source=\"{}\"}} {}",
            label(&s.name),
            s.failures
        );
    }
    header(&mut out, "yail_errors_total", "counter", "Errors, by kind.");
    for (kind, n) in &m.errors {
        let _ = writeln!(out, "yail_errors_total{{kind=\"{}\"}} {n}", kind.name());
    }
    header(
        &mut out,
        "yail_cache_lookups_total",
        "counter",
        "Converted-packet cache lookups, by result.",
    );
    let _ = writeln!(
        out,
        "yail_cache_lookups_total{{result=\"hit\"}} {}",
        m.cache_hits
    );
    let _ = writeln!(
        out,
        "yail_cache_lookups_total{{result=\"miss\"}} {}",
        m.cache_misses
    );
    histogram(
        &mut out,
        "yail_conversion_seconds",
        "Time to decode and convert one picture.",
        &m.conversions,
    );
    histogram(
        &mut out,
        "yail_request_seconds",
        "Time from a request to its packet being ready.",
        &m.requests,
    );
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use yail_state::ServerState;

    use super::*;

    #[test]
    fn every_sample_line_is_well_formed_and_histograms_add_up() {
        let state = ServerState::new();
        state.metrics().record_conversion(Duration::from_millis(3));
        state.metrics().record_conversion(Duration::from_millis(40));
        state.metrics().record_packet(2, 8803);
        state.sources().record_error("sea\"rch", "down");
        let text = render(
            &state.metrics().snapshot(),
            &state.sources().snapshot(),
            6,
            1.5,
        );
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("name and value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(series.starts_with("yail_"), "{line}");
        }
        assert!(
            text.contains("yail_packets_total{mode=\"2\",name=\"gr8\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("yail_source_failures_total{source=\"sea\\\"rch\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("yail_conversion_seconds_bucket{le=\"+Inf\"} 2"),
            "{text}"
        );
        assert!(text.contains("yail_conversion_seconds_count 2"), "{text}");
        assert!(text.contains("yail_catalogue_files 6"));
    }
}
