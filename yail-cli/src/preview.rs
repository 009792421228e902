//! `yail preview`: packets back to the picture an Atari shows, as PNG.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use yail_core::{Packet, Picture, PixelFormat, TvStandard};

use crate::exit::{Outcome, UsageError};

/// The largest `--scale`: 640x240 at 8 is already 5120x1920.
const MAX_SCALE: u32 = 8;

#[derive(Debug, Args)]
#[command(after_help = "\
Each screen is drawn at the monitor's proportions: 320x220 for Graphics 8
to 15 (wide pixels repeated), 320x240 for VBXE, and 640x480 for VBXE hi-res,
whose 640x240 pixels are twice as tall as wide. Pictures (JPEG, PNG...)
are not packets: `yail convert --png` makes both.

Examples:
  yail preview out/cat.jpg.yai                  # writes out/cat.jpg.png
  yail preview cat.yai -o cat-pal.png --tv pal --scale 2
  yail preview out/*.yai                         # one PNG beside each packet")]
pub struct PreviewArgs {
    /// Packet files written by `yail convert` or `yail fetch`.
    #[arg(required = true, value_hint = clap::ValueHint::FilePath)]
    packets: Vec<PathBuf>,
    /// PNG to write (only with a single packet; default: each packet's name
    /// with .png).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Enlarge each screen pixel to NxN PNG pixels (1 to 8).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_SCALE as i64))]
    scale: u32,
    /// TV standard of the Atari showing it: ntsc or pal.
    #[arg(long, default_value = "ntsc")]
    tv: TvStandard,
}

/// A rendered packet ready to write.
pub struct Preview {
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// Its size in pixels.
    pub width: u32,
    /// Its size in pixels.
    pub height: u32,
}

/// Renders an image packet as the monitor shows it (see
/// `yail_core::render_at_aspect`), each pixel enlarged `scale` times, as PNG.
pub fn render_png(packet: &Packet, tv: TvStandard, scale: u32) -> anyhow::Result<Preview> {
    let picture = yail_core::render_at_aspect(packet, tv)?;
    let picture = if scale > 1 {
        enlarge(&picture, scale)?
    } else {
        picture
    };
    Ok(Preview {
        png: picture.to_png(),
        width: picture.width(),
        height: picture.height(),
    })
}

/// Nearest-neighbour enlargement: every pixel becomes a `scale`-square
/// block, so the Atari's pixels stay sharp.
fn enlarge(picture: &Picture, scale: u32) -> anyhow::Result<Picture> {
    let rgb = picture.to_rgb();
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    let s = scale as usize;
    let mut data = Vec::with_capacity(width * s * height * s * 3);
    for row in rgb.data().chunks_exact(width * 3) {
        let mut wide = Vec::with_capacity(width * s * 3);
        for pixel in row.chunks_exact(3) {
            for _ in 0..s {
                wide.extend_from_slice(pixel);
            }
        }
        for _ in 0..s {
            data.extend_from_slice(&wide);
        }
    }
    Ok(Picture::new(
        rgb.width() * scale,
        rgb.height() * scale,
        PixelFormat::Rgb,
        data,
    )?)
}

pub fn run(args: &PreviewArgs) -> anyhow::Result<Outcome> {
    if args.out.is_some() && args.packets.len() > 1 {
        return Err(UsageError {
            kind: clap::error::ErrorKind::ArgumentConflict,
            message: "--out names one PNG; give a single packet, or leave --out out".into(),
        }
        .into());
    }
    let mut all_ok = true;
    for path in &args.packets {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| path.with_extension("png"));
        match preview_one(path, &out, args) {
            Ok(line) => println!("{line}"),
            Err(e) => {
                all_ok = false;
                eprintln!("yail: {}: {e:#}", path.display());
            }
        }
    }
    Ok(Outcome::from_ok(all_ok))
}

/// The picture format `bytes` start with, by the signature each format's
/// files begin with, for the formats `yail convert` reads.
fn picture_format(bytes: &[u8]) -> Option<&'static str> {
    let signatures: [(&[u8], &str); 6] = [
        (b"\xFF\xD8\xFF", "JPEG"),
        (b"\x89PNG\r\n\x1A\n", "PNG"),
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"BM", "BMP"),
        (b"RIFF", "WebP"),
    ];
    let (_, format) = signatures
        .iter()
        .find(|(signature, _)| bytes.starts_with(signature))?;
    // RIFF holds other things too; WebP says so at offset 8.
    if *format == "WebP" && bytes.get(8..12) != Some(b"WEBP") {
        return None;
    }
    Some(format)
}

fn preview_one(path: &PathBuf, out: &PathBuf, args: &PreviewArgs) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).context("cannot read it")?;
    if let Some(format) = picture_format(&bytes) {
        anyhow::bail!(
            "a {format} picture, not a YAIL packet: `yail convert --png {}` makes its packet \
             and the preview",
            path.display()
        );
    }
    let packet = Packet::decode(&bytes).context("not a YAIL packet")?;
    if let Some(message) = packet.error_message() {
        anyhow::bail!("an error packet: {message}");
    }
    let preview = render_png(&packet, args.tv, args.scale)?;
    std::fs::write(out, &preview.png).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(format!(
        "{} {} {}x{} {}",
        path.display(),
        packet.mode(),
        preview.width,
        preview.height,
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_told_from_packets_by_their_signature() {
        let photos = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/photos");
        let png = std::fs::read(photos.join("chelsea.png")).expect("photo");
        let jpeg = std::fs::read(photos.join("rocket.jpg")).expect("photo");
        assert_eq!(picture_format(&png), Some("PNG"));
        assert_eq!(picture_format(&jpeg), Some("JPEG"));
        assert_eq!(picture_format(b"GIF89a\x01\x00"), Some("GIF"));
        assert_eq!(picture_format(b"RIFF\0\0\0\0WEBPVP8 "), Some("WebP"));
        assert_eq!(picture_format(b"RIFF\0\0\0\0WAVEfmt "), None);
        let packet = Packet::error(yail_core::GfxMode::Gr8, "no pictures").to_bytes();
        assert_eq!(picture_format(&packet), None);
        assert_eq!(picture_format(b""), None);
    }

    #[test]
    fn enlarging_repeats_each_pixel_in_a_square() {
        let picture =
            Picture::new(2, 1, PixelFormat::Rgb, vec![1, 2, 3, 4, 5, 6]).expect("picture");
        let big = enlarge(&picture, 2).expect("enlarged");
        assert_eq!((big.width(), big.height()), (4, 2));
        let row = [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6];
        assert_eq!(big.data(), [row, row].concat());
    }
}
