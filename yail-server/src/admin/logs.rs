//! The live log tail: a tracing layer copies every event into the state's
//! log ring; the API reads the ring, and a server-sent-event stream follows it.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use yail_state::{LogLine, ServerState};

use super::api::unix_millis;
use super::shared::AdminShared;

/// How often the event stream looks for new lines.
const POLL: Duration = Duration::from_millis(250);

/// A tracing layer that appends every event it sees to a server's
/// [`LogTail`](yail_state::LogTail); put a level filter in front of it like any other layer.
pub struct LogTailLayer {
    state: ServerState,
}

impl LogTailLayer {
    /// A layer writing into `state`'s log tail.
    pub fn new(state: ServerState) -> LogTailLayer {
        LogTailLayer { state }
    }
}

/// The event's message first, then its other fields as `name=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

/// A span's fields as text, kept in its extensions.
struct SpanFields(String);

impl<S> tracing_subscriber::Layer<S> for LogTailLayer
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut text = Text::default();
        attrs.record(&mut text);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut()
                .insert(SpanFields(text.fields.trim().to_string()));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut text = Text::default();
        event.record(&mut text);
        // The spans say which session logged it (`session{id=3 peer=...}`).
        let mut scope = String::new();
        if let Some(spans) = ctx.event_scope(event) {
            for span in spans.from_root() {
                match span.extensions().get::<SpanFields>() {
                    Some(SpanFields(fields)) if !fields.is_empty() => {
                        let _ = write!(scope, "{}{{{fields}}}: ", span.name());
                    }
                    _ => {
                        let _ = write!(scope, "{}: ", span.name());
                    }
                }
            }
        }
        let metadata = event.metadata();
        self.state.logs().push(
            metadata.level().as_str(),
            metadata.target(),
            &format!("{scope}{}{}", text.message, text.fields),
        );
    }
}

fn line_json(line: &LogLine) -> Value {
    json!({
        "seq": line.seq,
        "at_unix_ms": unix_millis(line.at),
        "level": line.level,
        "target": line.target,
        "message": line.message,
    })
}

#[derive(Deserialize)]
pub(super) struct Since {
    #[serde(default)]
    since: u64,
}

/// The lines after `?since=N` (all held lines without it).
pub(super) async fn lines(
    State(shared): State<Arc<AdminShared>>,
    Query(q): Query<Since>,
) -> Json<Value> {
    let lines: Vec<Value> = shared
        .services
        .state()
        .logs()
        .since(q.since)
        .iter()
        .map(line_json)
        .collect();
    Json(Value::Array(lines))
}

/// Every line held, then each new one as it is logged (one SSE event per
/// line, its id the sequence number).
pub(super) async fn stream(
    State(shared): State<Arc<AdminShared>>,
    Query(q): Query<Since>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let state = shared.services.state().clone();
    let events = futures_util::stream::unfold((state, q.since), |(state, mut seen)| async move {
        loop {
            let fresh = state.logs().since(seen);
            if let Some(last) = fresh.last() {
                seen = last.seq;
                let batch: Vec<Result<Event, Infallible>> = fresh
                    .iter()
                    .map(|l| {
                        Ok(Event::default()
                            .id(l.seq.to_string())
                            .data(line_json(l).to_string()))
                    })
                    .collect();
                return Some((futures_util::stream::iter(batch), (state, seen)));
            }
            tokio::time::sleep(POLL).await;
        }
    });
    Sse::new(futures_util::StreamExt::flatten(events)).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn events_land_in_the_tail_with_their_fields_and_spans() {
        let state = ServerState::new();
        let subscriber = tracing_subscriber::registry().with(LogTailLayer::new(state.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("session", id = 7);
            let _entered = span.enter();
            tracing::warn!(pictures = 3, "scanned");
        });
        let lines = state.logs().since(0);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].level, "WARN");
        assert_eq!(lines[0].message, "session{id=7}: scanned pictures=3");
    }
}
