//! `yail convert`: pictures and folders of pictures to packets, on several
//! threads, with a progress bar on a terminal.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use yail_core::{BlendSpace, Converter, Dither, Fit, GfxMode, PaletteMethod, Settings, TvStandard};

use crate::exit::Outcome;
use crate::inputs::{self, Found, Input};
use crate::mode::ModeParser;
use crate::preview::render_png;

#[derive(Debug, Args)]
#[command(after_help = "\
Each picture becomes OUT/NAME.yai (NAME keeps the picture's extension, and
pictures found in a folder keep their path below it), plus OUT/NAME.png with
--png. Folders are searched recursively for .jpg .jpeg .png .gif .webp .bmp.
A picture that fails (a missing file too) is reported and the others are
still converted; the exit code is then 1.

Modes are named (gr8, vbxe-hr...) or given as BASIC's GRAPHICS number
(--gfx 9 is Graphics 9); wire:N names a mode by its number on the wire.

Examples:
  yail convert --gfx gr9 photo.jpg                # ./photo.jpg.yai
  yail convert --gfx vbxe-legacy --png -o out ~/Pictures
  yail convert --gfx 8 --jobs 1 --timings a.jpg b.png > times.jsonl")]
pub struct ConvertArgs {
    /// Graphics mode: a name, a BASIC GRAPHICS number (8 9 10 11 15) or
    /// wire:N for a number as sent on the wire.
    #[arg(long, value_name = "MODE", default_value = "gr8", value_parser = ModeParser)]
    gfx: GfxMode,
    /// Folder for the .yai files (created if missing).
    #[arg(short, long, default_value = ".")]
    out: PathBuf,
    /// Also write the on-screen preview, NAME.png, beside each packet.
    #[arg(long)]
    png: bool,
    /// Pictures converted at once (default: one per core, or 1 with
    /// --timings, so the times are not those of cores shared).
    #[arg(short, long, value_parser = clap::value_parser!(u32).range(1..=256))]
    jobs: Option<u32>,
    /// Print one JSON line per picture on stdout, in input order:
    /// {"input":..., "ms":...} (decode and convert time) or {"input":...,
    /// "error":...} (a picture that failed, or a path that cannot be read).
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
    /// Modes `--gfx random` picks from, named as for --gfx.
    #[arg(long, value_name = "MODE,...", value_delimiter = ',', default_value = "gr8,gr9", value_parser = ModeParser)]
    random_modes: Vec<GfxMode>,
    /// Pictures and folders to convert.
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

    fn jobs(&self) -> usize {
        match self.jobs {
            Some(jobs) => jobs as usize,
            None if self.timings => 1,
            None => std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// One converted picture.
struct Converted {
    packet: PathBuf,
    preview: Option<PathBuf>,
    /// Decoding and converting only: reading the file is the disk's business.
    elapsed: Duration,
}

/// The packet file for `input`: its name with `.yai` appended.
fn output_path(out: &Path, input: &Input) -> PathBuf {
    let mut path = out.join(&input.name).into_os_string();
    path.push(".yai");
    PathBuf::from(path)
}

fn convert_one(
    converter: &Converter,
    settings: &Settings,
    found: &Found,
    args: &ConvertArgs,
) -> anyhow::Result<Converted> {
    let input = match found {
        Ok(input) => input,
        Err(problem) => anyhow::bail!("{}", problem.reason),
    };
    let bytes = std::fs::read(&input.path).context("cannot read it")?;
    let started = Instant::now();
    let packet = converter.convert(&bytes, &settings.with_mode(settings.resolve_mode()))?;
    let elapsed = started.elapsed();
    let path = output_path(&args.out, input);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&path, packet.to_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let preview = if args.png {
        let png_path = path.with_extension("png");
        let preview = render_png(&packet, args.tv, 1)?;
        std::fs::write(&png_path, &preview.png)
            .with_context(|| format!("cannot write {}", png_path.display()))?;
        Some(png_path)
    } else {
        None
    };
    Ok(Converted {
        packet: path,
        preview,
        elapsed,
    })
}

/// Where progress and per-picture lines go: a bar on a terminal, plain
/// lines on stderr otherwise. Failures are shown either way.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} [{elapsed}<{eta}] {wide_msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar }
    }

    fn done(&self, path: &Path, result: &anyhow::Result<Converted>) {
        match (result, &self.bar) {
            (Ok(_), Some(bar)) => {
                bar.set_message(path.display().to_string());
                bar.inc(1);
            }
            (Ok(done), None) => match &done.preview {
                Some(png) => eprintln!(
                    "{} -> {}, {}",
                    path.display(),
                    done.packet.display(),
                    png.display()
                ),
                None => eprintln!("{} -> {}", path.display(), done.packet.display()),
            },
            (Err(e), bar) => {
                let line = format!("yail: {}: {e:#}", path.display());
                match bar {
                    Some(bar) => {
                        bar.println(line);
                        bar.inc(1);
                    }
                    None => eprintln!("{line}"),
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub fn run(args: &ConvertArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let inputs = inputs::collect(&args.inputs);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let converter = Converter::new();
    let settings = args.settings();
    let progress = Progress::new(inputs.len());
    let next = AtomicUsize::new(0);
    let (sender, results) = mpsc::channel();
    let mut failed = 0;

    std::thread::scope(|scope| {
        for _ in 0..args.jobs().min(inputs.len()) {
            let sender = sender.clone();
            let (converter, settings, inputs, next) = (&converter, &settings, &inputs, &next);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(input) = inputs.get(index) else {
                        break;
                    };
                    let result = convert_one(converter, settings, input, args);
                    if sender.send((index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);

        // Results arrive in completion order; timings are printed in input
        // order, so scripts can pair them with what they passed.
        let mut waiting = BTreeMap::new();
        let mut printed = 0;
        for (index, result) in results {
            progress.done(path_of(&inputs[index]), &result);
            if result.is_err() {
                failed += 1;
            }
            waiting.insert(index, result);
            while let Some(result) = waiting.remove(&printed) {
                if args.timings {
                    print_timing(&inputs[printed], &result);
                }
                printed += 1;
            }
        }
    });
    progress.finish();

    let total = inputs.len();
    if total == 0 {
        eprintln!(
            "yail: no pictures found (folders are searched for .{})",
            inputs::EXTENSIONS.join(" .")
        );
    }
    eprintln!(
        "converted {} of {total} pictures to {} in {:.1} s{}",
        total - failed,
        args.gfx,
        started.elapsed().as_secs_f64(),
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    Ok(Outcome::from_ok(failed == 0 && total > 0))
}

/// The path a found entry stands for.
fn path_of(found: &Found) -> &Path {
    match found {
        Ok(input) => &input.path,
        Err(problem) => &problem.path,
    }
}

fn print_timing(found: &Found, result: &anyhow::Result<Converted>) {
    let shown = path_of(found).display().to_string();
    let line = match result {
        Ok(done) => {
            serde_json::json!({"input": shown, "ms": done.elapsed.as_secs_f64() * 1000.0})
        }
        Err(e) => serde_json::json!({"input": shown, "error": format!("{e:#}")}),
    };
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_whole_input_name_and_its_folder_path() {
        let file = Input {
            path: PathBuf::from("/a/b/cat.jpg"),
            name: PathBuf::from("cat.jpg"),
        };
        assert_eq!(
            output_path(Path::new("out"), &file),
            Path::new("out/cat.jpg.yai")
        );
        let found = Input {
            path: PathBuf::from("/a/b/c/dog.png"),
            name: PathBuf::from("c/dog.png"),
        };
        assert_eq!(
            output_path(Path::new("out"), &found),
            Path::new("out/c/dog.png.yai")
        );
    }
}
