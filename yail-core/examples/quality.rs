//! Prints the HVS-PSNR of every mode for pictures given on the command line.
//!
//!     cargo run --release -p yail-core --example quality -- assets/photos/*.png
//!
//! Options (before the files): `--srgb` dithers in sRGB, `--blur-srgb`
//! scores with the CRT (sRGB) blur, `--pal` uses the PAL palette,
//! `--kmeans` refines VBXE palettes, `--dither NAME`, `--save DIR` writes
//! each rendering and ideal as PNG, `--served` converts from the decode a
//! server does for the mode (reduced JPEG scale, luma only for grey modes)
//! while the ideal still comes from the full picture.

use yail_core::{
    BlendSpace, Converter, GfxMode, PaletteMethod, Settings, TvStandard, decode, hvs_psnr, render,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut settings = Settings::default();
    let mut blur = BlendSpace::Linear;
    let mut files = Vec::new();
    let mut save: Option<std::path::PathBuf> = None;
    let mut served = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--srgb" => settings.blend = BlendSpace::Srgb,
            "--blur-srgb" => blur = BlendSpace::Srgb,
            "--pal" => settings.tv = TvStandard::Pal,
            "--served" => served = true,
            "--kmeans" => settings.palette_method = PaletteMethod::KMeans,
            "--save" => save = Some(args.next().ok_or("--save needs a folder")?.into()),
            "--dither" => settings.dither = args.next().ok_or("--dither needs a name")?.parse()?,
            _ => files.push(arg),
        }
    }
    let converter = Converter::new();
    let modes = [
        GfxMode::Gr8,
        GfxMode::Gr9,
        GfxMode::Gr15,
        GfxMode::Gr11,
        GfxMode::Gr10,
        GfxMode::Vbxe,
        GfxMode::VbxeHiRes,
    ];
    print!("{:<28}", "picture");
    for mode in modes {
        print!("{:>9}", mode.name());
    }
    println!();
    let mut scores: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    for file in &files {
        let bytes = std::fs::read(file)?;
        let picture = decode(&bytes, &Default::default())?;
        print!(
            "{:<28}",
            std::path::Path::new(file)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
        );
        for (i, mode) in modes.iter().enumerate() {
            let packet = if served {
                converter.convert(&bytes, &settings.with_mode(*mode))?
            } else {
                converter.convert_picture(&picture, &settings.with_mode(*mode))?
            };
            let shown = render(&packet, settings.tv)?;
            let ideal = converter.fit(&picture, *mode, settings.fit)?;
            let score = hvs_psnr(&shown, &ideal, blur)?;
            scores[i].push(score);
            if let Some(dir) = &save {
                let stem = std::path::Path::new(file)
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                std::fs::write(
                    dir.join(format!("{stem}-{}.png", mode.name())),
                    shown.to_png(),
                )?;
                std::fs::write(
                    dir.join(format!("{stem}-{}-ideal.png", mode.name())),
                    ideal.to_png(),
                )?;
            }
            print!("{score:>9.2}");
        }
        println!();
    }
    print!("{:<28}", "median");
    for s in &mut scores {
        s.sort_by(f64::total_cmp);
        let median = if s.is_empty() {
            f64::NAN
        } else {
            s[s.len() / 2]
        };
        print!("{median:>9.2}");
    }
    println!();
    Ok(())
}
