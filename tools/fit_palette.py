#!/usr/bin/env python3
"""Fits the constants of yail-core's Atari palette model (src/palette.rs) to
reference palettes (256 x RGB files, entry = Atari colour byte).

    python3 tools/fit_palette.py yail-core/tests/data/altirra_ntsc_xl.pal ntsc
    python3 tools/fit_palette.py yail-core/tests/data/altirra_pal_xl.pal pal

Needs numpy and scipy. Prints the fitted parameters and the errors.
"""
import sys

import numpy as np
from scipy.optimize import least_squares

RAMPS = {
    "ntsc": [0, 1, 22, 42, 62, 81, 103, 122, 131, 149, 170, 188, 205, 223, 243, 255],
    "pal": [0, 17, 37, 53, 70, 87, 107, 124, 131, 148, 168, 185, 202, 218, 238, 255],
}
# Phase steps of hues 1..15 from hue 1 (PAL GTIA's table has uneven gaps).
STEPS = {
    "ntsc": list(range(15)),
    "pal": [0, 1, 3, 5, 6, 7, 9, 10, 11, 13, 16, 17, 18, 19, 20],
}
INITIAL = {"ntsc": [179.8, -27.1, 0.2], "pal": [135.4, -18.0, 0.29]}


def to_linear(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def to_srgb(c):
    c = np.clip(c, 0, 1)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def model(params, standard):
    start, step, saturation = params[:3]
    matrix = np.array(params[3:12]).reshape(3, 3)
    out = np.zeros((16, 16, 3))
    for hue in range(16):
        for lum in range(16):
            y = RAMPS[standard][lum] / 255.0
            if hue == 0:
                u = v = 0.0
            else:
                angle = np.radians(start + step * STEPS[standard][hue - 1])
                u, v = saturation * np.cos(angle), saturation * np.sin(angle)
            encoded = np.array([y + 1.13983 * v, y - 0.39465 * u - 0.58060 * v, y + 2.03211 * u])
            out[hue, lum] = to_srgb(matrix @ to_linear(encoded)) * 255
    return out


def main():
    path, standard = sys.argv[1], sys.argv[2]
    reference = np.frombuffer(open(path, "rb").read(), dtype=np.uint8).reshape(16, 16, 3).astype(float)
    fit = least_squares(
        lambda p: (model(p, standard) - reference).ravel(),
        INITIAL[standard] + list(np.eye(3).ravel()),
    )
    error = np.abs(np.round(model(fit.x, standard)) - reference)
    print("parameters:", [round(float(x), 5) for x in fit.x])
    print(f"max error {error.max():.1f}, mean {error.mean():.2f}, greys max {error[0].max():.1f}")


if __name__ == "__main__":
    main()
