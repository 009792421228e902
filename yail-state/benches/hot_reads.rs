//! Hot-path reads while other threads hammer the same state.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use yail_state::ServerState;

fn with_background<F: FnMut()>(state: &ServerState, writers: usize, mut measure: F) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..writers {
            let (state, stop) = (state.clone(), &stop);
            scope.spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    // A realistic mix: packets, conversions, sessions.
                    state.metrics().record_packet(2, 8807);
                    state
                        .metrics()
                        .record_conversion(Duration::from_micros(n % 5000));
                    if n.is_multiple_of(64) {
                        drop(state.connect("127.0.0.1:1".parse().unwrap()));
                    }
                }
            });
        }
        measure();
        stop.store(true, Ordering::Relaxed);
    });
}

fn hot_reads(c: &mut Criterion) {
    let state = ServerState::new();
    state.replace_files(
        (0..10_000)
            .map(|i| format!("/pictures/{i}.jpg").into())
            .collect(),
    );
    for writers in [0usize, 1, 3] {
        let mut group = c.benchmark_group(format!("hot_reads/{writers}_busy_threads"));
        with_background(&state, writers, || {
            group.bench_function("random_file", |b| b.iter(|| state.random_file_except(None)));
            group.bench_function("connections", |b| b.iter(|| state.connections()));
            group.bench_function("record_packet", |b| {
                b.iter(|| state.metrics().record_packet(4, 8807))
            });
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = hot_reads
}
criterion_main!(benches);
