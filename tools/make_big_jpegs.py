#!/usr/bin/env python3
"""Writes the two 4000x3000 JPEGs of docs/performance.md ("A 4000x3000 JPEG
to GR.8"): astronaut.png stretched with Lanczos, quality 90, baseline
(big.jpg, 1 038 378 bytes) and progressive (big_prog.jpg, 1 004 000 bytes).

    python3 tools/make_big_jpegs.py /tmp
"""
import sys
from pathlib import Path

from PIL import Image

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
here = Path(__file__).resolve().parent
source = Image.open(here.parent / "assets/photos/astronaut.png").convert("RGB")
big = source.resize((4000, 3000), Image.LANCZOS)
big.save(out / "big.jpg", quality=90)
big.save(out / "big_prog.jpg", quality=90, progressive=True)
print(f"wrote {out / 'big.jpg'} and {out / 'big_prog.jpg'}")
