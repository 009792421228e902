//! Operations run from several threads at once, then checked against what
//! a sequential model says must be true whatever the interleaving.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Barrier;
use std::time::Duration;

use proptest::prelude::*;
use yail_state::{Dialect, ErrorKind, RuntimeSettings, ServerState};

/// One thing a thread does to the shared state.
#[derive(Debug, Clone)]
enum Op {
    AddFile(u8),
    RandomFile,
    Increment,
    Decrement,
    /// Take a guard, update it `images` times, drop it.
    Session {
        images: u8,
    },
    Packet {
        mode: u8,
        bytes: u16,
    },
    Error(usize),
    Conversion(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..32).prop_map(Op::AddFile),
        Just(Op::RandomFile),
        Just(Op::Increment),
        Just(Op::Decrement),
        (0u8..4).prop_map(|images| Op::Session { images }),
        (any::<u8>(), any::<u16>()).prop_map(|(mode, bytes)| Op::Packet { mode, bytes }),
        (0..ErrorKind::ALL.len()).prop_map(Op::Error),
        any::<u16>().prop_map(Op::Conversion),
    ]
}

fn file(n: u8) -> PathBuf {
    PathBuf::from(format!("/pictures/{n}.png"))
}

/// What one thread observed, for checks that need it.
#[derive(Default)]
struct Seen {
    /// Connection counts returned by increments: never zero.
    increments_returned: Vec<usize>,
}

fn run(state: &ServerState, ops: &[Op], seen: &mut Seen) {
    for op in ops {
        match op {
            Op::AddFile(n) => {
                state.add_file(file(*n));
            }
            Op::RandomFile => {
                if let Some(path) = state.random_file() {
                    assert!(
                        path.starts_with("/pictures"),
                        "a file that was never added: {path:?}"
                    );
                }
            }
            Op::Increment => seen.increments_returned.push(state.increment_connections()),
            Op::Decrement => {
                state.decrement_connections();
            }
            Op::Session { images } => {
                let guard = state.connect("127.0.0.1:1".parse().unwrap());
                guard.set_source("files", None);
                for _ in 0..*images {
                    guard.record_picture(&[1, 1, 0, 2], Duration::from_millis(1));
                }
                assert!(state.sessions().iter().any(|s| s.id == guard.id()));
                assert_eq!(guard.info().images_sent, u64::from(*images));
            }
            Op::Packet { mode, bytes } => state.metrics().record_packet(*mode, usize::from(*bytes)),
            Op::Error(k) => state.metrics().record_error(ErrorKind::ALL[*k]),
            Op::Conversion(us) => state
                .metrics()
                .record_conversion(Duration::from_micros(u64::from(*us))),
        }
    }
}

fn threads() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(proptest::collection::vec(op(), 0..40), 2..5)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_operations_match_the_sequential_model(plan in threads()) {
        let state = ServerState::new();
        let barrier = Barrier::new(plan.len());
        let seen: Vec<Seen> = std::thread::scope(|scope| {
            let handles: Vec<_> = plan
                .iter()
                .map(|ops| {
                    let (state, barrier) = (state.clone(), &barrier);
                    scope.spawn(move || {
                        let mut seen = Seen::default();
                        barrier.wait(); // start together to maximise overlap
                        run(&state, ops, &mut seen);
                        seen
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a thread panicked")).collect()
        });

        let all: Vec<&Op> = plan.iter().flatten().collect();
        let count = |f: &dyn Fn(&Op) -> bool| all.iter().filter(|op| f(op)).count();

        // Files: every distinct added file is present exactly once.
        let added: BTreeSet<PathBuf> = all.iter().filter_map(|op| match op { Op::AddFile(n) => Some(file(*n)), _ => None }).collect();
        let listed: Vec<PathBuf> = state.files().iter().map(PathBuf::from).collect();
        let distinct: BTreeSet<PathBuf> = listed.iter().cloned().collect();
        prop_assert_eq!(listed.len(), distinct.len(), "a file listed twice");
        prop_assert_eq!(&distinct, &added);
        prop_assert_eq!(state.file_count(), added.len());

        // Connections: never below zero, so the final count is at least
        // increments minus decrements and at most increments; sessions
        // always give theirs back.
        let inc = count(&|op| matches!(op, Op::Increment));
        let dec = count(&|op| matches!(op, Op::Decrement));
        let now = state.connections();
        prop_assert!(now <= inc && now >= inc.saturating_sub(dec), "{} connections after +{} -{}", now, inc, dec);
        prop_assert!(seen.iter().flat_map(|s| &s.increments_returned).all(|&n| n >= 1));
        prop_assert!(state.sessions().is_empty(), "guards left sessions behind");

        // Metrics: totals equal what the threads recorded.
        let m = state.metrics().snapshot();
        let sessions = count(&|op| matches!(op, Op::Session { .. }));
        prop_assert_eq!(m.connections_total as usize, inc + sessions);
        let mut packets = BTreeMap::<u8, u64>::new();
        let mut bytes = 0u64;
        for op in &all {
            if let Op::Packet { mode, bytes: b } = op {
                *packets.entry(*mode).or_default() += 1;
                bytes += u64::from(*b);
            }
        }
        for (mode, n) in &m.packets_by_mode.iter().enumerate().filter(|(_, n)| **n > 0).collect::<Vec<_>>() {
            prop_assert_eq!(packets.get(&(*mode as u8)).copied().unwrap_or(0), **n);
        }
        prop_assert_eq!(m.packets_total(), packets.values().sum::<u64>());
        prop_assert_eq!(m.bytes_sent, bytes);
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            prop_assert_eq!(m.errors_of(*kind) as usize, count(&|op| matches!(op, Op::Error(k) if *k == i)));
        }
        let conversions: Vec<u64> = all.iter().filter_map(|op| match op { Op::Conversion(us) => Some(u64::from(*us)), _ => None }).collect();
        prop_assert_eq!(m.conversions.count as usize, conversions.len());
        prop_assert_eq!(m.conversions.sum_micros, conversions.iter().sum::<u64>());
    }

    #[test]
    fn rescans_never_expose_a_partial_catalogue(sizes in proptest::collection::vec(1u8..40, 1..8)) {
        // Catalogues are always `0..n` for some n: a reader must see a
        // whole prefix set, never a mixture of two.
        let state = ServerState::new();
        state.replace_files((0..sizes[0]).map(file).collect());
        std::thread::scope(|scope| {
            let writer = state.clone();
            let sizes = &sizes;
            scope.spawn(move || {
                for &n in sizes {
                    writer.replace_files((0..n).map(file).collect());
                }
            });
            for _ in 0..200 {
                let snapshot = state.files();
                let n = snapshot.len() as u8;
                let expected: Vec<PathBuf> = (0..n).map(file).collect();
                assert_eq!(snapshot.iter().map(PathBuf::from).collect::<Vec<_>>(), expected);
                assert!(state.random_file().is_some());
            }
        });
    }
}

#[test]
fn state_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<ServerState>();
    fn assert_send<T: Send>() {}
    assert_send::<yail_state::ConnectionGuard>();
}

#[test]
fn extra_decrements_stop_at_zero() {
    let state = ServerState::new();
    assert_eq!(state.decrement_connections(), 0);
    assert_eq!(state.increment_connections(), 1);
    assert_eq!(state.decrement_connections(), 0);
    assert_eq!(state.decrement_connections(), 0);
    assert_eq!(state.connections(), 0);
}

#[test]
fn a_panicking_session_still_deregisters() {
    let state = ServerState::new();
    let inside = state.clone();
    let result = std::thread::spawn(move || {
        let _guard = inside.connect("127.0.0.1:9".parse().unwrap());
        panic!("session failed");
    })
    .join();
    assert!(result.is_err());
    assert_eq!(state.connections(), 0);
    assert!(state.sessions().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Sessions on several threads recording pictures and log lines at
    /// once: the rings keep exactly the newest entries, each once, in
    /// order, and every session's count and last picture are its own.
    #[test]
    fn pictures_and_log_lines_from_many_threads_are_all_accounted_for(
        per_thread in proptest::collection::vec(0usize..40, 1..5)
    ) {
        let state = ServerState::new();
        let barrier = Barrier::new(per_thread.len());
        let counts: Vec<(u64, u64, Option<u64>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = per_thread.iter().enumerate().map(|(t, &n)| {
                let (state, barrier) = (&state, &barrier);
                scope.spawn(move || {
                    let guard = state.connect(format!("127.0.0.{}:1", t + 1).parse().unwrap());
                    guard.set_source("files", None);
                    barrier.wait();
                    for i in 0..n {
                        guard.record_picture(&[1, 1, 0, t as u8, i as u8], Duration::from_micros(i as u64));
                        state.logs().push("INFO", "test", &format!("{t}/{i}"));
                    }
                    let info = guard.info();
                    let last = info.last_picture.as_ref().map(|p| u64::from(p.packet[4]));
                    prop_assert!(info.last_picture.iter().all(|p| p.session == guard.id() && p.mode == t as u8));
                    Ok((guard.id(), info.images_sent, last))
                })
            }).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Result<_, TestCaseError>>()
        })?;
        let total: usize = per_thread.iter().sum();
        for ((_, sent, last), &n) in counts.iter().zip(&per_thread) {
            prop_assert_eq!(*sent, n as u64);
            prop_assert_eq!(*last, n.checked_sub(1).map(|l| l as u64));
        }
        let recent = state.recent_pictures().snapshot();
        prop_assert_eq!(recent.len(), total.min(yail_state::RECENT_PICTURES));
        let seqs: Vec<u64> = recent.iter().map(|p| p.seq).collect();
        let expected: Vec<u64> = ((total - recent.len()) as u64 + 1..=total as u64).collect();
        prop_assert_eq!(seqs, expected);
        let lines = state.logs().since(0);
        prop_assert_eq!(lines.len(), total.min(yail_state::LOG_LINES));
        prop_assert!(lines.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
        let files = state.sources().snapshot();
        prop_assert_eq!(files.iter().map(|s| s.successes).sum::<u64>(), total as u64);
        prop_assert_eq!(state.metrics().snapshot().requests.count, total as u64);
    }
}

#[test]
fn mode_values_only_one_client_sends_settle_the_dialect() {
    let state = ServerState::new();
    let guard = state.connect("127.0.0.1:9".parse().unwrap());
    guard.set_mode(2);
    assert_eq!(guard.info().dialect, Dialect::Unknown);
    guard.set_mode(17);
    assert_eq!(guard.info().dialect, Dialect::Legacy);
    guard.set_mode(8); // both clients send 8: the dialect stays
    assert_eq!(
        (guard.info().dialect, guard.info().mode),
        (Dialect::Legacy, Some(8))
    );
    guard.set_mode(10);
    assert_eq!(guard.info().dialect, Dialect::Current);
}

#[test]
fn failures_are_charged_to_the_session_source() {
    let state = ServerState::new();
    let guard = state.connect("127.0.0.1:9".parse().unwrap());
    guard.set_source("search", Some("atari 800"));
    guard.record_failure("engine unreachable");
    let search = state.sources().snapshot();
    assert_eq!(search.len(), 1);
    assert_eq!(search[0].name, "search");
    assert_eq!(search[0].failures, 1);
    assert_eq!(
        search[0].last_error.as_ref().map(|e| e.1.as_str()),
        Some("engine unreachable")
    );
    assert_eq!(guard.info().term.as_deref(), Some("atari 800"));
}

#[test]
fn runtime_settings_are_replaced_whole() {
    let state = ServerState::new();
    assert_eq!(*state.runtime_settings(), RuntimeSettings::default());
    let before = state.runtime_settings();
    let changed = RuntimeSettings {
        default_model: Some("model-b".into()),
        ..RuntimeSettings::default()
    };
    state.set_runtime_settings(changed.clone());
    assert_eq!(*state.runtime_settings(), changed);
    assert_eq!(
        before.default_model, None,
        "an old snapshot does not change under its reader"
    );
}
