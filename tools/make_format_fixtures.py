#!/usr/bin/env python3
"""Writes the small decoder fixtures in yail-core/tests/data/formats/.

Every file shows the same 32x24 picture: the left half red, the right half
blue (the EXIF case stores it rotated and says so in its orientation tag).
    python3 tools/make_format_fixtures.py
"""
import io
import pathlib

from PIL import Image

out = pathlib.Path(__file__).resolve().parent.parent / "yail-core/tests/data/formats"
out.mkdir(parents=True, exist_ok=True)

picture = Image.new("RGB", (32, 24), (255, 0, 0))
picture.paste((0, 0, 255), (16, 0, 32, 24))

picture.save(out / "baseline.jpg", quality=95)
picture.save(out / "progressive.jpg", quality=95, progressive=True)
picture.convert("CMYK").save(out / "cmyk.jpg", quality=95)
picture.quantize(4).save(out / "palette.png")
picture.save(out / "picture.gif")
picture.save(out / "picture.webp", lossless=True)
picture.save(out / "picture.bmp")
picture.save(out / "picture.tiff")
# Stored rotated 90 degrees counter-clockwise; orientation 6 says "rotate
# 90 clockwise to display", which gives the original picture back.
stored = picture.transpose(Image.Transpose.ROTATE_90)
exif = Image.Exif()
exif[0x0112] = 6
stored.save(out / "exif_rotated.jpg", quality=95, exif=exif.tobytes())
print("wrote", sorted(p.name for p in out.iterdir()))

# A large one, so the DCT-scaled JPEG path (and its orientation handling)
# is taken: 1280x960 as displayed, stored rotated.
big = Image.new("RGB", (1280, 960), (255, 0, 0))
big.paste((0, 0, 255), (640, 0, 1280, 960))
big.transpose(Image.Transpose.ROTATE_90).save(out / "exif_rotated_big.jpg", quality=50, exif=exif.tobytes())
print("wrote exif_rotated_big.jpg")
