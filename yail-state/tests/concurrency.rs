//! Operations run from several threads at once, then checked against what
//! a sequential model says must be true whatever the interleaving.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Barrier;
use std::time::Duration;

use proptest::prelude::*;
use yail_state::{ConnectionGuard, Dialect, ErrorKind, RuntimeSettings, ServerState};

/// One thing a thread does to the shared state.
#[derive(Debug, Clone)]
enum Op {
    /// Replace the catalogue with files `0..n` (a rescan).
    Rescan(u8),
    /// Pick a file other than the one this thread picked last.
    PickFile,
    /// Connect and keep the guard.
    Open,
    /// Drop the oldest guard this thread keeps, if any.
    Close,
    /// Take a guard, record `images` pictures, drop it.
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

/// Every catalogue has at least this many files, so a pick can always
/// avoid the previous one.
const MIN_FILES: u8 = 2;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (MIN_FILES..32).prop_map(Op::Rescan),
        Just(Op::PickFile),
        Just(Op::Open),
        Just(Op::Close),
        (0u8..4).prop_map(|images| Op::Session { images }),
        (any::<u8>(), any::<u16>()).prop_map(|(mode, bytes)| Op::Packet { mode, bytes }),
        (0..ErrorKind::ALL.len()).prop_map(Op::Error),
        any::<u16>().prop_map(Op::Conversion),
    ]
}

fn file(n: u8) -> PathBuf {
    PathBuf::from(format!("/pictures/{n}.png"))
}

/// What a thread still holds when it ends.
#[derive(Default)]
struct Kept {
    guards: Vec<ConnectionGuard>,
}

fn run(state: &ServerState, ops: &[Op]) -> Kept {
    let mut kept = Kept::default();
    let mut last_file: Option<PathBuf> = None;
    for op in ops {
        match op {
            Op::Rescan(n) => state.replace_files((0..*n).map(file).collect()),
            Op::PickFile => {
                let path = state
                    .random_file_except(last_file.as_deref())
                    .expect("the catalogue is never empty");
                assert!(
                    (0..32).map(file).any(|f| f == path),
                    "a file that was never added: {path:?}"
                );
                assert_ne!(Some(&path), last_file.as_ref(), "the same file twice");
                last_file = Some(path);
            }
            Op::Open => {
                kept.guards
                    .push(state.connect("127.0.0.1:1".parse().unwrap()));
                assert!(state.connections() >= kept.guards.len());
            }
            Op::Close => {
                if !kept.guards.is_empty() {
                    drop(kept.guards.remove(0));
                }
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
    kept
}

fn threads() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(proptest::collection::vec(op(), 0..40), 2..5)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_operations_match_the_sequential_model(plan in threads()) {
        let state = ServerState::new();
        state.replace_files((0..MIN_FILES).map(file).collect());
        let barrier = Barrier::new(plan.len());
        let kept: Vec<Kept> = std::thread::scope(|scope| {
            let handles: Vec<_> = plan
                .iter()
                .map(|ops| {
                    let (state, barrier) = (state.clone(), &barrier);
                    scope.spawn(move || {
                        barrier.wait(); // start together to maximise overlap
                        run(&state, ops)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a thread panicked")).collect()
        });

        let all: Vec<&Op> = plan.iter().flatten().collect();
        let count = |f: &dyn Fn(&Op) -> bool| all.iter().filter(|op| f(op)).count();

        // Files: the catalogue is the whole of one rescan (or the first).
        let sizes: BTreeSet<usize> = all
            .iter()
            .filter_map(|op| match op { Op::Rescan(n) => Some(usize::from(*n)), _ => None })
            .chain([usize::from(MIN_FILES)])
            .collect();
        prop_assert!(sizes.contains(&state.file_count()), "{} files", state.file_count());

        // Connections: exactly the guards still kept are registered and
        // counted; sessions that ended gave theirs back.
        let guards: Vec<ConnectionGuard> = kept.into_iter().flat_map(|k| k.guards).collect();
        let kept_ids: BTreeSet<u64> = guards.iter().map(ConnectionGuard::id).collect();
        let registered: BTreeSet<u64> = state.sessions().iter().map(|s| s.id).collect();
        prop_assert_eq!(state.connections(), guards.len());
        prop_assert_eq!(&registered, &kept_ids);
        prop_assert_eq!(kept_ids.len(), guards.len(), "two sessions with one id");
        drop(guards);
        prop_assert_eq!(state.connections(), 0);
        prop_assert!(state.sessions().is_empty(), "guards left sessions behind");

        // Metrics: totals equal what the threads recorded.
        let m = state.metrics().snapshot();
        let opened = count(&|op| matches!(op, Op::Open | Op::Session { .. }));
        prop_assert_eq!(m.connections_total as usize, opened);
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
        let images: u64 = all.iter().map(|op| match op { Op::Session { images } => u64::from(*images), _ => 0 }).sum();
        prop_assert_eq!(m.requests.count, images);
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
