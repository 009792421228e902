#!/usr/bin/env python3
"""Times the Python YAIL servers' conversion pipeline (Pillow defaults) on
this machine, for comparison with `yail convert --timings`.

    python3 bench/pillow_baseline.py --mode gr8 assets/photos/*.png

For each input prints one JSON line {"input", "ms"} (decode + convert, wall
time, best of --repeat runs after one warm-up), like the Rust CLI. The steps
follow the 1.x/2.0 servers: grey modes convert to L, letterbox to 320x220,
Lanczos resize, then `convert("1")` (GR.8) or a 16-colour quantise and
`>> 4` (GR.9); VBXE fits into 320x240 with bilinear resizing, converts to
an adaptive 256-colour palette and shifts every index up by one.
Needs Pillow and numpy. With --out DIR, also writes the payloads (.raw).
"""
import argparse
import io
import json
import time

import numpy as np
from PIL import Image

W, H = 320, 220


def letterbox(image):
    aspect = W / H
    w, h = image.size
    if w / h > aspect:
        background = Image.new(image.mode, (w, int(w / aspect)))
        background.paste(image, (0, int((int(w / aspect) - h) / 2)))
    else:
        background = Image.new(image.mode, (int(h * aspect), h))
        background.paste(image, (int((int(h * aspect) - w) / 2), 0))
    return background


def grey_pipeline(data, mode):
    image = Image.open(io.BytesIO(data))
    grey = letterbox(image.convert("L")).resize((W, H), Image.LANCZOS)
    if mode == "gr8":
        return np.packbits(np.array(grey.convert("1")), axis=1).tobytes()
    shades = grey.resize((W // 4, H), Image.LANCZOS).convert(dither=Image.FLOYDSTEINBERG, colors=16)
    values = np.array(shades)
    return (((values[:, ::2] >> 4) << 4) + (values[:, 1::2] >> 4)).astype("uint8").tobytes()


def vbxe_pipeline(data):
    image = Image.open(io.BytesIO(data)).convert("RGB")
    ratio = image.width / image.height
    if ratio > 320 / 240:
        size = (320, int(320 / ratio))
    else:
        size = (int(240 * ratio), 240)
    image = image.resize(size, Image.BILINEAR)
    background = Image.new("RGB", (320, 240))
    background.paste(image, ((320 - image.width) // 2, (240 - image.height) // 2))
    indexed = background.convert("P", palette=Image.ADAPTIVE, colors=256)
    palette = indexed.getpalette()
    pixels = bytes((b + 1) % 256 for b in indexed.tobytes())
    return bytes([0, 0, 0] + palette[:-3]) + pixels


MODES = ["gr8", "gr9", "vbxe"]


def pipeline(data, mode):
    """The payload the Python servers make of `data` for `mode` (one of MODES)."""
    return vbxe_pipeline(data) if mode == "vbxe" else grey_pipeline(data, mode)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=MODES, default="gr8")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    for path in args.inputs:
        data = open(path, "rb").read()
        payload = pipeline(data, args.mode)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            pipeline(data, args.mode)
            best = min(best, time.perf_counter() - start)
        if args.out:
            name = path.rsplit("/", 1)[-1]
            open(f"{args.out}/{name}.{args.mode}.raw", "wb").write(payload)
        print(json.dumps({"input": path, "ms": round(best * 1000, 3)}))


if __name__ == "__main__":
    main()
