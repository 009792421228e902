//! Development aid: repeats one stage many times so a profiler sees it.
//!     cargo run --release -p yail-core --example stages -- STAGE MODE FILE [N]
use yail_core::{Converter, Fit, GfxMode, Settings};
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (stage, mode, file) = (&args[1], args[2].parse::<GfxMode>()?, &args[3]);
    let n: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(500);
    let bytes = std::fs::read(file)?;
    let converter = Converter::new();
    let picture = converter.decode_for(&bytes, mode, Fit::Letterbox)?;
    let settings = Settings::new(mode);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = std::time::Instant::now();
        match stage.as_str() {
            "decode" => drop(converter.decode_for(&bytes, mode, Fit::Letterbox)?),
            "decode-full" => drop(yail_core::decode(&bytes, &Default::default())?),
            "fit" => drop(converter.fit(&picture, mode, Fit::Letterbox)?),
            "convert" => drop(converter.convert_picture(&picture, &settings)?),
            _ => drop(converter.convert(&bytes, &settings)?),
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{stage}: min {:.3} ms, median {:.3} ms",
        times[0],
        times[n / 2]
    );
    Ok(())
}
