#!/usr/bin/env python3
"""Writes the varied benchmark set: every kind of picture a YAIL server is
sent, made from the public-domain photos in assets/photos and from
textures and line art drawn here with a fixed random seed.

    python3 bench/make_pictures.py              # the committed set, bench/pictures/
    python3 bench/make_pictures.py --large DIR  # plus the large files, into DIR

The committed set stays small (about 2 MB); the large pictures (a 4000x3000
progressive colour JPEG, a 1411x1411 lossy WebP, a 3000x2000 PNG) are made
on demand because they would weigh more than everything else together.
Pillow writes the files, so another Pillow version may write other bytes:
the committed files are the reference, this script says how they were made.
Needs Pillow (with WebP) and numpy.
"""
import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
PHOTOS = HERE.parent / "assets/photos"


def photo(name):
    return Image.open(PHOTOS / name).convert("RGB")


def gravel(rng, size):
    """Round stones of random greys and browns on dark ground, then grain."""
    w, h = size
    image = Image.new("RGB", size, (40, 36, 30))
    draw = ImageDraw.Draw(image)
    for _ in range(w * h // 60):
        x, y = rng.integers(0, w), rng.integers(0, h)
        r = int(rng.integers(2, 7))
        shade = int(rng.integers(70, 210))
        tint = rng.integers(-15, 16, 3)
        colour = tuple(int(np.clip(shade + t, 0, 255)) for t in tint)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return add_grain(rng, image, 12)


def grass(rng, size):
    """Thin blades of many greens over dark soil."""
    w, h = size
    image = Image.new("RGB", size, (34, 48, 20))
    draw = ImageDraw.Draw(image)
    for _ in range(w * h // 25):
        x, y = rng.integers(0, w), rng.integers(0, h)
        length = int(rng.integers(6, 24))
        lean = int(rng.integers(-5, 6))
        g = int(rng.integers(80, 220))
        colour = (int(g * rng.uniform(0.3, 0.7)), g, int(g * rng.uniform(0.1, 0.4)))
        draw.line((x, y, x + lean, y - length), fill=colour, width=1)
    return add_grain(rng, image, 8)


def brick(rng, size):
    """A brick wall: mortar lines, bricks of slightly different reds, grain."""
    w, h = size
    image = Image.new("RGB", size, (190, 185, 175))
    draw = ImageDraw.Draw(image)
    bw, bh = 48, 20
    for row in range(h // bh + 1):
        offset = (bw // 2) * (row % 2)
        for col in range(-1, w // bw + 1):
            x, y = col * bw + offset, row * bh
            red = int(rng.integers(130, 190))
            colour = (red, int(red * rng.uniform(0.35, 0.5)), int(red * rng.uniform(0.25, 0.4)))
            draw.rectangle((x + 2, y + 2, x + bw - 2, y + bh - 2), fill=colour)
    return add_grain(rng, image, 20)


def add_grain(rng, image, amount):
    pixels = np.asarray(image).astype(np.int16)
    noise = rng.integers(-amount, amount + 1, pixels.shape[:2])[..., None]
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def line_art(size):
    """Black lines, circles and a few flat fills on white, as a drawing."""
    w, h = size
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for i in range(0, w, 37):
        draw.line((i, 0, w - i, h - 1), fill=(0, 0, 0), width=2)
    for r in range(20, min(w, h) // 2, 30):
        draw.ellipse((w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r), outline=(0, 0, 0), width=3)
    draw.rectangle((20, 20, w // 4, h // 4), fill=(220, 30, 30), outline=(0, 0, 0), width=3)
    draw.polygon([(w - 30, 30), (w - 150, 160), (w - 20, 200)], fill=(30, 90, 220), outline=(0, 0, 0))
    return image


def with_alpha(image):
    """A circular window: opaque in the middle, fading to transparent."""
    w, h = image.size
    y, x = np.mgrid[0:h, 0:w]
    d = np.hypot((x - w / 2) / (w / 2), (y - h / 2) / (h / 2))
    alpha = np.clip((1.1 - d) * 400, 0, 255).astype(np.uint8)
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha))
    return rgba


def deep_png(image, path):
    """A 16-bit-per-channel RGB PNG (Pillow only writes 16-bit through numpy)."""
    import zlib
    import struct

    pixels = np.asarray(image).astype(np.uint16) * 257
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def animated(frames, path, **options):
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=200, loop=0, **options)


def committed(out):
    rng = np.random.default_rng(20261204)
    chelsea, coffee = photo("chelsea.png"), photo("coffee.png")
    astronaut, rocket = photo("astronaut.png"), Image.open(PHOTOS / "rocket.jpg").convert("RGB")
    written = {}

    def save(name, image, **options):
        image.save(out / name, **options)
        written[name] = (out / name).stat().st_size

    # Sizes: a single pixel, a thumbnail, odd aspects.
    save("tiny_1x1.png", Image.new("RGB", (1, 1), (200, 120, 40)))
    save("thumb_64x48.png", chelsea.resize((64, 48), Image.LANCZOS))
    save("wide_1200x150.jpg", coffee.resize((1200, 800), Image.LANCZOS).crop((0, 300, 1200, 450)), quality=88)
    save("tall_160x900.png", astronaut.resize((900, 900), Image.LANCZOS).crop((370, 0, 530, 900)))
    # Textures, where dithering has the most to lose.
    save("gravel_512.png", gravel(rng, (512, 512)))
    save("grass_640x480.jpg", grass(rng, (640, 480)), quality=90)
    save("brick_600x400.png", brick(rng, (600, 400)))
    # Line art and a scan of text.
    save("lineart_800x600.png", line_art((800, 600)).convert("P", palette=Image.ADAPTIVE, colors=8))
    save("scan_text.png", Image.open(PHOTOS / "text.png"))
    # Pixel formats.
    save("transparent_rgba.png", with_alpha(chelsea))
    deep_png(coffee.resize((400, 267), Image.LANCZOS), out / "deep16_rgb.png")
    written["deep16_rgb.png"] = (out / "deep16_rgb.png").stat().st_size
    save("grey_camera.png", Image.open(PHOTOS / "camera.png").convert("L"))
    save("cmyk.jpg", astronaut.convert("CMYK"), quality=90)
    # JPEG kinds and photos.
    save("progressive_1024.jpg", rocket.resize((1024, 683), Image.LANCZOS), quality=88, progressive=True)
    save("photo_chelsea.png", chelsea)
    save("photo_rocket.jpg", rocket, quality=90)
    # WebP: lossy, lossless, animated (first frame shown); GIF still and animated.
    save("lossy_800.webp", astronaut.resize((800, 800), Image.LANCZOS), quality=80)
    save("lossless_400x300.webp", coffee.resize((400, 300), Image.LANCZOS), lossless=True)
    save("alpha_lossy.webp", with_alpha(chelsea.resize((300, 200), Image.LANCZOS)), quality=80)
    frames = [chelsea.resize((320, 200), Image.LANCZOS), coffee.resize((320, 200), Image.LANCZOS)]
    animated(frames, out / "animated_320x200.webp", quality=80)
    written["animated_320x200.webp"] = (out / "animated_320x200.webp").stat().st_size
    save("still.gif", chelsea.convert("P", palette=Image.ADAPTIVE, colors=256))
    animated([f.convert("P", palette=Image.ADAPTIVE) for f in frames], out / "animated.gif")
    written["animated.gif"] = (out / "animated.gif").stat().st_size
    return written


def large(out):
    rng = np.random.default_rng(4000)
    astronaut = photo("astronaut.png")
    big = astronaut.resize((4000, 3000), Image.LANCZOS)
    big.save(out / "large_4000x3000_prog.jpg", quality=90, progressive=True)
    astronaut.resize((1411, 1411), Image.LANCZOS).save(out / "large_1411.webp", quality=80)
    add_grain(rng, photo("coffee.png").resize((3000, 2000), Image.LANCZOS), 6).save(out / "large_3000x2000.png")
    return {p.name: p.stat().st_size for p in out.glob("large_*")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(HERE / "pictures"))
    parser.add_argument("--large", help="also write the large pictures into this folder")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = committed(out)
    if args.large:
        Path(args.large).mkdir(parents=True, exist_ok=True)
        sizes.update(large(Path(args.large)))
    for name, size in sorted(sizes.items()):
        print(f"{name:<28}{size:>10}")
    print(f"{'total':<28}{sum(sizes.values()):>10}")


if __name__ == "__main__":
    main()
