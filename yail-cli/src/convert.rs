//! `yail convert` and `yail preview`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use yail_core::{
    BlendSpace, Converter, Dither, Fit, GfxMode, Packet, PaletteMethod, Settings, TvStandard,
};

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Graphics mode: a wire number (2 4 6 8 10 16 17 18 42) or a name
    /// (gr8 gr9 gr10 gr11 gr15 vbxe vbxe-legacy vbxe-hr random).
    #[arg(long)]
    gfx: GfxMode,
    /// Directory for the .yai files (created if missing).
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Print one JSON line per input: {"input":..., "ms":...} or {"input":..., "error":...}.
    #[arg(long)]
    timings: bool,
    /// Space dithering mixes in: linear or srgb.
    #[arg(long, default_value = "linear")]
    dither_space: BlendSpace,
    /// TV standard whose palette colour modes match: ntsc or pal.
    #[arg(long, default_value = "ntsc")]
    tv: TvStandard,
    /// How the picture fits the screen: letterbox, crop or stretch.
    #[arg(long, default_value = "letterbox")]
    fit: Fit,
    /// Dithering: floyd-steinberg, atkinson, ordered or none.
    #[arg(long, default_value = "floyd-steinberg")]
    dither: Dither,
    /// VBXE palette method: wu (fast) or kmeans (better).
    #[arg(long, default_value = "wu")]
    palette: PaletteMethod,
    /// Modes `--gfx random` picks from.
    #[arg(long, value_delimiter = ',', default_value = "2,4")]
    random_modes: Vec<GfxMode>,
    /// Pictures to convert.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

impl ConvertArgs {
    fn settings(&self) -> Settings {
        Settings {
            mode: self.gfx,
            fit: self.fit,
            dither: self.dither,
            blend: self.dither_space,
            tv: self.tv,
            palette_method: self.palette,
            random_modes: self.random_modes.clone(),
        }
    }
}

/// The output file for `input`: its file name with `.yai` appended.
fn output_path(out: &Path, input: &Path) -> PathBuf {
    let mut name = input
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "picture".into());
    name.push(".yai");
    out.join(name)
}

/// Converts every input; a failure is reported and the batch goes on.
/// Returns whether all succeeded.
pub fn convert(args: &ConvertArgs) -> anyhow::Result<bool> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let converter = Converter::new();
    let settings = args.settings();
    let mut all_ok = true;
    for input in &args.inputs {
        // The clock covers decoding and converting only, as the timings
        // promise: reading the file is the disk's business.
        let mut elapsed = std::time::Duration::ZERO;
        let converted = std::fs::read(input)
            .with_context(|| format!("cannot read {}", input.display()))
            .and_then(|bytes| {
                let started = Instant::now();
                let packet =
                    converter.convert(&bytes, &settings.with_mode(settings.resolve_mode()));
                elapsed = started.elapsed();
                packet.map_err(anyhow::Error::from)
            });
        let outcome = converted.and_then(|packet| {
            let path = output_path(&args.out, input);
            std::fs::write(&path, packet.to_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        });
        let shown = input.display().to_string();
        match outcome {
            Ok(path) if args.timings => {
                println!(
                    "{}",
                    serde_json::json!({"input": shown, "ms": elapsed.as_secs_f64() * 1000.0})
                );
                let _ = path;
            }
            Ok(path) => eprintln!("{shown} -> {}", path.display()),
            Err(e) => {
                all_ok = false;
                if args.timings {
                    println!(
                        "{}",
                        serde_json::json!({"input": shown, "error": format!("{e:#}")})
                    );
                } else {
                    eprintln!("yail: {shown}: {e:#}");
                }
            }
        }
    }
    Ok(all_ok)
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// A packet file written by `yail convert` or `yail get`.
    packet: PathBuf,
    /// PNG to write (default: the packet's name with .png).
    #[arg(long)]
    out: Option<PathBuf>,
    /// TV standard of the Atari showing it.
    #[arg(long, default_value = "ntsc")]
    tv: TvStandard,
}

pub fn preview(args: &PreviewArgs) -> anyhow::Result<bool> {
    let bytes = std::fs::read(&args.packet)
        .with_context(|| format!("cannot read {}", args.packet.display()))?;
    let packet = Packet::decode(&bytes)
        .with_context(|| format!("{} is not a YAIL packet", args.packet.display()))?;
    if let Some(message) = packet.error_message() {
        anyhow::bail!("{} is an error packet: {message}", args.packet.display());
    }
    let picture = yail_core::render(&packet, args.tv)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.packet.with_extension("png"));
    std::fs::write(&out, picture.to_png())
        .with_context(|| format!("cannot write {}", out.display()))?;
    let mode = GfxMode::from_wire(packet.gfx())
        .map(|m| m.to_string())
        .unwrap_or_else(|_| packet.gfx().to_string());
    eprintln!(
        "{} ({mode}, {}x{}) -> {}",
        args.packet.display(),
        picture.width(),
        picture.height(),
        out.display()
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_whole_input_name() {
        assert_eq!(
            output_path(Path::new("out"), Path::new("/a/b/cat.jpg")),
            Path::new("out/cat.jpg.yai")
        );
    }
}
