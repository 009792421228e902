#!/usr/bin/env python3
"""Conversion speed of two builds of `yail`, such as the release and the
dist profile (docs/performance.md, "Build profiles"): every picture once
per round, the two binaries alternating round by round (the first line of
each run is a warm-up, as in compare_speed.py); the median and minimum per
picture, and B's time over A's.

    cargo build --release -p yail-cli && cp target/release/yail /tmp/yail-release
    cargo build --profile dist -p yail-cli
    python3 bench/compare_builds.py --mode vbxe --rounds 41 target/dist/yail /tmp/yail-release assets/photos/*

With --instructions, each binary instead runs under valgrind's callgrind,
converting the set once and three times; half the difference is the
instructions of one pass without start-up, the same on every run.
"""
import argparse
import json
import re
import statistics
import subprocess
import tempfile


def timings(args):
    times = {side: {path: [] for path in args.inputs} for side in ("a", "b")}
    with tempfile.TemporaryDirectory() as out:
        for round_number in range(args.rounds):
            order = ("a", "b") if round_number % 2 == 0 else ("b", "a")
            for side in order:
                lines = subprocess.run(
                    [getattr(args, side), "convert", "--gfx", args.mode, "--out", out, "--timings",
                     args.inputs[0], *args.inputs],
                    check=True, capture_output=True, text=True,
                ).stdout.splitlines()
                for line in lines[1:]:
                    record = json.loads(line)
                    times[side][record["input"]].append(record["ms"])
    print(f"mode {args.mode}, {args.rounds} rounds; ms as median (min); B / A by medians (by minimums)")
    sums = {"a": [0.0, 0.0], "b": [0.0, 0.0]}
    for path in args.inputs:
        row = []
        for side in ("a", "b"):
            median, low = statistics.median(times[side][path]), min(times[side][path])
            sums[side][0] += median
            sums[side][1] += low
            row.append((median, low))
        (ma, la), (mb, lb) = row
        print(f"{path.split('/')[-1]:<24}{ma:8.2f} ({la:.2f}){mb:8.2f} ({lb:.2f})  {mb / ma:.3f} ({lb / la:.3f})")
    (ma, la), (mb, lb) = sums["a"], sums["b"]
    print(f"{'all pictures':<24}{ma:8.2f} ({la:.2f}){mb:8.2f} ({lb:.2f})  {mb / ma:.3f} ({lb / la:.3f})")


def instructions(yail, mode, inputs):
    def count(paths):
        with tempfile.TemporaryDirectory() as out:
            err = subprocess.run(
                ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                 yail, "convert", "--gfx", mode, "--out", out, *paths],
                check=True, capture_output=True, text=True,
            ).stderr
        return int(re.search(r"Collected : (\d+)", err).group(1))

    return (count(inputs * 3) - count(inputs)) // 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", default="gr8")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--instructions", action="store_true", help="count instructions with callgrind instead")
    parser.add_argument("a", help="the first yail binary")
    parser.add_argument("b", help="the second yail binary")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    if args.instructions:
        a, b = (instructions(y, args.mode, args.inputs) for y in (args.a, args.b))
        print(f"mode {args.mode}: A {a} instructions, B {b}, B / A {b / a:.3f}")
    else:
        timings(args)


if __name__ == "__main__":
    main()
