//! Per-stage benchmarks of the pipeline on the photo set:
//! decode, fit + resize, dither + encode, and the whole conversion.
//!
//!     cargo bench -p yail-core --bench pipeline
//!
//! Results are written down in docs/performance.md.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use yail_core::{Converter, Fit, GfxMode, Settings};

const PHOTOS: [&str; 3] = ["astronaut.png", "coffee.png", "rocket.jpg"];
const MODES: [GfxMode; 4] = [GfxMode::Gr8, GfxMode::Gr9, GfxMode::Gr10, GfxMode::Vbxe];

fn photo(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/photos")
        .join(name);
    std::fs::read(path).expect("photo")
}

fn stages(c: &mut Criterion) {
    let converter = Converter::new();
    for name in PHOTOS {
        let bytes = photo(name);
        let mut group = c.benchmark_group(format!("pipeline/{name}"));
        // Decoding depends on the mode only through the target size (JPEG
        // DCT scaling), so one grey and one colour target suffice.
        for mode in [GfxMode::Gr8, GfxMode::Vbxe] {
            group.bench_function(BenchmarkId::new("decode", mode), |b| {
                b.iter(|| {
                    converter
                        .decode_for(&bytes, mode, Fit::Letterbox)
                        .expect("decode")
                })
            });
        }
        for mode in MODES {
            let picture = converter
                .decode_for(&bytes, mode, Fit::Letterbox)
                .expect("decode");
            let settings = Settings::new(mode);
            group.bench_function(BenchmarkId::new("fit_resize", mode), |b| {
                b.iter(|| converter.fit(&picture, mode, Fit::Letterbox).expect("fit"))
            });
            // Fitting to the exact screen size is a copy, so this measures
            // dithering and encoding.
            let fitted = converter.fit(&picture, mode, Fit::Letterbox).expect("fit");
            group.bench_function(BenchmarkId::new("dither_encode", mode), |b| {
                b.iter(|| {
                    converter
                        .convert_picture(&fitted, &settings)
                        .expect("encode")
                })
            });
            group.bench_function(BenchmarkId::new("total", mode), |b| {
                b.iter(|| converter.convert(&bytes, &settings).expect("convert"))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(1)).warm_up_time(Duration::from_millis(300));
    targets = stages
}
criterion_main!(benches);
