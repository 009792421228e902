//! Times decode and conversion per stage (best of N runs) for quick checks
//! during development; `yail convert --timings` is the user-facing tool.
//!
//!     cargo run --release -p yail-core --example timing -- gr8 assets/photos/*.png

use std::time::Instant;

use yail_core::{Converter, Fit, GfxMode, Settings, decode};

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = f();
    let mut best = f64::INFINITY;
    for _ in 0..runs {
        let start = Instant::now();
        out = f();
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
    }
    (best, out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode: GfxMode = args.next().ok_or("usage: timing MODE FILES...")?.parse()?;
    let converter = Converter::new();
    let settings = Settings::new(mode);
    println!(
        "{:<24}{:>10}{:>10}{:>10}{:>10}",
        "picture", "decode", "fit", "convert", "total"
    );
    for file in args {
        let bytes = std::fs::read(&file)?;
        let (decode_ms, picture) = best(20, || converter.decode_for(&bytes, mode, Fit::Letterbox));
        let picture = picture?;
        let (fit_ms, _) = best(20, || converter.fit(&picture, mode, Fit::Letterbox));
        let (convert_ms, _) = best(20, || converter.convert_picture(&picture, &settings));
        let (total_ms, _) = best(20, || converter.convert(&bytes, &settings));
        let _ = decode(&bytes, &Default::default())?;
        let name = std::path::Path::new(&file)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        println!("{name:<24}{decode_ms:>10.3}{fit_ms:>10.3}{convert_ms:>10.3}{total_ms:>10.3}");
    }
    Ok(())
}
