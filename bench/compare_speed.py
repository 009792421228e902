#!/usr/bin/env python3
"""Per-image speed of `yail convert --timings` against the Python servers'
Pillow pipeline (bench/pillow_baseline.py), measured the same way on both
sides: every picture converted once per round, ROUNDS rounds, pictures
interleaved; the median and minimum per picture are reported.

    cargo build --release -p yail-cli
    python3 bench/compare_speed.py --mode gr8 --rounds 15 assets/photos/{astronaut,camera,chelsea,coffee}.png assets/photos/rocket.jpg

The two sides alternate round by round so a busy machine slows both alike;
each side's process is warmed up with one conversion first.
Needs Pillow and numpy (for the baseline).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pillow_baseline  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=pillow_baseline.MODES, default="gr8")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--yail", default="target/release/yail")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    ours = {path: [] for path in args.inputs}
    theirs = {path: [] for path in args.inputs}
    data = {path: open(path, "rb").read() for path in args.inputs}
    for d in data.values():
        pillow_baseline.pipeline(d, args.mode)  # warm-up
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.rounds):
            lines = subprocess.run(
                [args.yail, "convert", "--gfx", args.mode, "--out", out, "--timings",
                 args.inputs[0], *args.inputs],
                check=True, capture_output=True, text=True,
            ).stdout.splitlines()
            # The first line is a warm-up (one-time set-up such as the
            # palette tables), as the Pillow side gets one too.
            for line in lines[1:]:
                record = json.loads(line)
                ours[record["input"]].append(record["ms"])
            for path, d in data.items():
                start = time.perf_counter()
                pillow_baseline.pipeline(d, args.mode)
                theirs[path].append((time.perf_counter() - start) * 1000)
    print(f"mode {args.mode}, {args.rounds} rounds; ms as median (min); "
          "speed-up by medians (by minimums)")
    print(f"{'picture':<16}{'yail':>16}{'Pillow':>16}{'speed-up':>16}")
    medians_ours, medians_theirs, by_minimums = [], [], []
    for path in args.inputs:
        a, b = statistics.median(ours[path]), statistics.median(theirs[path])
        low_a, low_b = min(ours[path]), min(theirs[path])
        medians_ours.append(a)
        medians_theirs.append(b)
        by_minimums.append(low_b / low_a)
        name = os.path.basename(path)
        print(f"{name:<16}{a:>9.2f} ({low_a:.2f}){b:>9.2f} ({low_b:.2f})"
              f"{b / a:>9.1f}x ({low_b / low_a:.1f}x)")
    # The goal's figure: the median picture's time on each side. Beside it,
    # the median of the per-picture speed-ups by minimums, which the
    # machine's noise disturbs least.
    a, b = statistics.median(medians_ours), statistics.median(medians_theirs)
    print(f"{'median':<16}{a:>9.2f}{'':>7}{b:>9.2f}{'':>7}{b / a:>9.1f}x "
          f"({statistics.median(by_minimums):.1f}x)")


if __name__ == "__main__":
    main()
