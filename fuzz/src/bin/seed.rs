//! Writes the starting corpora into `fuzz/corpus/<target>/`: real client
//! command streams, real packets, and small pictures of every kind made
//! from the sample photos (`assets/photos`). Run from `fuzz/`:
//! `cargo run --release --bin seed`.
//!
//! Also prints, for every JPEG seed, how far our luma-only decode lies from
//! the `image` crate's colour decode turned into luma (the basis of
//! `JPEG_LUMA_TOLERANCE`).

use std::fs;
use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, imageops::FilterType};
use yail_core::{Converter, DecodeOptions, Fit, Settings, Target};
use yail_fuzz::{RawPng, depths};
use yail_proto::{GfxMode, Packet};

const CLIENT_STREAMS: [&[u8]; 14] = [
    // Legacy client: six-byte gfx, then the request, then next/quit.
    b"gfx 2 filesnextnextquit",
    b"gfx 17filesnext",
    b"gfx 18search \"atari 800 xl\"nextnextquit",
    b"gfx 4 gen dall-e-3 \"a red balloon over a lake\"nextquit",
    b"gfx 8 showurl http://127.0.0.1:8080/a.jpg",
    b"gfx 16videonextnextnext",
    // Current client: gfx with its trailing space, `gen "..."`, random slideshow.
    b"gfx 9 search \"cats\"nextnextnextnextgfx 9 nextquit",
    b"gfx 10 gen \"a castle at dusk\"next",
    b"gfx 42 filesnextgfx 42 next",
    // nc and telnet users.
    b"gfx 2\r\nfiles\r\nnext\r\nquit\r\n",
    b"openai-config\nopenai-config model gpt-image-1.5\nopenai-config size 1024x1024\n",
    b"generate a cat\ngen-gemini a dog\ncamera\n",
    // Scanners.
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
];

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).expect("write a seed");
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode a seed");
    out.into_inner()
}

fn jpeg(image: &DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encode a JPEG seed");
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    let dirs = [
        "command_decoder",
        "packet_decoder",
        "convert",
        "diff_png",
        "diff_jpeg",
    ];
    for dir in dirs {
        fs::create_dir_all(corpus.join(dir)).expect("corpus directory");
    }
    let dir = |name: &str| corpus.join(name);

    for (i, stream) in CLIENT_STREAMS.iter().enumerate() {
        for (limit, seed) in [(0u8, 7u8), (24, 200)] {
            let mut bytes = vec![limit, seed];
            bytes.extend_from_slice(stream);
            write(
                &dir("command_decoder"),
                &format!("client-{i}-{limit}"),
                &bytes,
            );
        }
    }

    let photos = root.join("../assets/photos");
    let mut small = Vec::new();
    for entry in fs::read_dir(&photos).expect("assets/photos") {
        let path = entry.expect("directory entry").path();
        let Ok(image) = image::open(&path) else {
            continue;
        };
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("photo")
            .to_owned();
        // Odd sizes on purpose: partial SIMD groups and partial JPEG blocks.
        small.push((
            format!("{name}-65"),
            image.resize_exact(65, 49, FilterType::Triangle),
        ));
        small.push((
            format!("{name}-9"),
            image.resize_exact(9, 7, FilterType::Triangle),
        ));
    }
    small.sort_by(|a, b| a.0.cmp(&b.0));

    let converter = Converter::new();
    if let Some((_, picture)) = small.first() {
        let file = encoded(picture, ImageFormat::Png);
        for mode in GfxMode::ALL {
            if let Ok(packet) = converter.convert(&file, &Settings::new(mode)) {
                let mut bytes = vec![0];
                bytes.extend(packet.to_bytes());
                write(
                    &dir("packet_decoder"),
                    &format!("mode-{}", u8::from(mode)),
                    &bytes,
                );
            }
        }
    }
    let mut error = vec![0];
    error.extend(Packet::error(GfxMode::Gr8, "no pictures found").to_bytes());
    write(&dir("packet_decoder"), "error", &error);

    for (i, (name, image)) in small.iter().enumerate() {
        let mode = i as u8;
        let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
        let files = [
            ("png", encoded(image, ImageFormat::Png)),
            (
                "rgba.png",
                encoded(
                    &DynamicImage::ImageRgba8(image.to_rgba8()),
                    ImageFormat::Png,
                ),
            ),
            (
                "grey.png",
                encoded(
                    &DynamicImage::ImageLuma8(image.to_luma8()),
                    ImageFormat::Png,
                ),
            ),
            ("jpg", jpeg(image, 75)),
            (
                "grey.jpg",
                jpeg(&DynamicImage::ImageLuma8(image.to_luma8()), 90),
            ),
            ("gif", encoded(&rgb, ImageFormat::Gif)),
            ("bmp", encoded(&rgb, ImageFormat::Bmp)),
            ("webp", encoded(&rgb, ImageFormat::WebP)),
        ];
        for (ext, bytes) in files {
            let mut seed = vec![mode];
            seed.extend_from_slice(&bytes);
            write(&dir("convert"), &format!("{name}.{ext}"), &seed);
            if ext.ends_with("png") {
                let mut seed = vec![0];
                seed.extend_from_slice(&bytes);
                write(&dir("diff_png"), &format!("{name}.{ext}"), &seed);
            }
            if ext.ends_with("jpg") {
                write(&dir("diff_jpeg"), &format!("{name}.{ext}"), &bytes);
            }
        }
    }
    let formats = root.join("../yail-core/tests/data/formats");
    for entry in fs::read_dir(&formats).expect("yail-core/tests/data/formats") {
        let path = entry.expect("directory entry").path();
        let (Some(name), Ok(bytes)) = (path.file_name().and_then(|s| s.to_str()), fs::read(&path))
        else {
            continue;
        };
        let mut seed = vec![2];
        seed.extend_from_slice(&bytes);
        write(&dir("convert"), name, &seed);
        if name.ends_with(".jpg") {
            write(&dir("diff_jpeg"), name, &bytes);
        }
    }

    // Every colour type and depth, with and without palette transparency,
    // plain and interlaced, random filter bytes, odd sizes, split IDAT.
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for colour in [0u8, 2, 3, 4, 6] {
        for &depth in depths(colour) {
            for interlaced in [false, true] {
                for transparency in [false, true] {
                    if transparency && colour >= 4 {
                        continue;
                    }
                    let entries = 1usize << depth.min(8);
                    let png = RawPng {
                        width: 13,
                        height: 11,
                        colour,
                        depth,
                        interlaced,
                        palette: (colour == 3).then(|| noise[..entries * 3].to_vec()),
                        transparency: transparency.then(|| match colour {
                            3 => noise[100..100 + entries / 2 + 1].to_vec(),
                            0 => vec![0, 7],
                            _ => vec![0, 7, 0, 9, 0, 11],
                        }),
                        idat_parts: if interlaced { 3 } else { 1 },
                        filter: None,
                        data: noise.clone(),
                    };
                    let (file, _) = png.file();
                    let mut seed = vec![0];
                    seed.extend_from_slice(&file);
                    let name = format!(
                        "raw-c{colour}-d{depth}-i{}-t{}.png",
                        u8::from(interlaced),
                        u8::from(transparency)
                    );
                    write(&dir("diff_png"), &name, &seed);
                }
            }
        }
    }

    // How far the luma path lies from the reference on the JPEG seeds.
    let options = DecodeOptions {
        target: Some(Target {
            width: u32::MAX,
            height: u32::MAX,
            fit: Fit::default(),
            grey: true,
        }),
        ..yail_fuzz::fuzz_limits()
    };
    let mut worst = 0;
    for entry in fs::read_dir(dir("diff_jpeg")).expect("diff_jpeg corpus") {
        let path = entry.expect("directory entry").path();
        let bytes = fs::read(&path).expect("read a seed");
        let ours = yail_core::decode(&bytes, &options);
        let reference = yail_fuzz::reference_decode(&bytes, ImageFormat::Jpeg, &options);
        if let (Ok(picture), Some((_, _, yail_core::PixelFormat::Rgb, data))) = (ours, reference) {
            let distance = yail_fuzz::luma_distance(&data, picture.data());
            worst = worst.max(distance);
            println!("{}: luma distance {distance}", path.display());
        }
    }
    println!("largest luma distance over the JPEG seeds: {worst}");
}
