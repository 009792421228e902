#!/usr/bin/env python3
"""Speed against the Python servers' Pillow pipeline and quality, for every
picture of the varied set and the three modes the Python servers offer,
measured side by side in one run: each round converts every picture in
GR.8, GR.9 and VBXE with `yail convert --timings` (one process per mode,
its first conversion a warm-up) and then with Pillow, so a busy machine
slows both sides alike. Quality is the HVS-PSNR of every yail mode as
served (`quality --served`). Prints Markdown tables.

    cargo build --release -p yail-cli
    cargo build --release -p yail-core --example quality
    python3 bench/make_pictures.py --large /tmp/large   # the on-demand large files
    python3 bench/varied.py --rounds 9 bench/pictures/* /tmp/large/* > varied.md

Times are the median of the rounds per picture; the speed-up is Pillow's
median over ours. The summary row gives the median of the per-picture
speed-ups. On a shared two-core machine single figures move by 10-20 %
between runs: compare medians over many pictures, not one row.
Needs Pillow (with WebP) and numpy.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import json

HERE = os.path.dirname(os.path.abspath(__file__))
# pillow_baseline.py lives beside this script (or, before the lab scripts
# moved, in tools/).
sys.path[:0] = [HERE, os.path.join(os.path.dirname(HERE), "tools")]
import pillow_baseline  # noqa: E402

MODES = ["gr8", "gr9", "vbxe"]


def yail_round(yail, mode, inputs, out):
    """One conversion of every input; {path: ms or None on error}."""
    run = subprocess.run(
        [yail, "convert", "--gfx", mode, "--out", out, "--timings", inputs[0], *inputs],
        capture_output=True, text=True,
    )
    times = {}
    for line in run.stdout.splitlines()[1:]:
        record = json.loads(line)
        times[record["input"]] = record.get("ms")
    return times


def pillow_time(data, mode):
    start = time.perf_counter()
    try:
        pillow_baseline.pipeline(data, mode)
    except Exception:  # noqa: BLE001 - a picture Pillow's pipeline cannot take
        return None
    return (time.perf_counter() - start) * 1000


def quality(example, inputs):
    """{path: {mode: dB}} and the mode names, from the quality example."""
    lines = subprocess.run([example, "--served", *inputs], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    names = lines[0].split()[1:]
    scores = {}
    for path, line in zip(inputs, lines[1:]):
        values = line.split()[-len(names):]
        scores[path] = dict(zip(names, (float(v) for v in values)))
    return names, scores


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--yail", default="target/release/yail")
    parser.add_argument("--quality", default="target/release/examples/quality")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated subset of " + ",".join(MODES))
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m in MODES]
    inputs = sorted(set(args.inputs), key=os.path.basename)
    data = {p: open(p, "rb").read() for p in inputs}
    ours = {(m, p): [] for m in modes for p in inputs}
    theirs = {(m, p): [] for m in modes for p in inputs}
    for mode in modes:
        for d in data.values():
            pillow_time(d, mode)  # warm-up
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.rounds):
            for mode in modes:
                for path, ms in yail_round(args.yail, mode, inputs, out).items():
                    if ms is not None:
                        ours[(mode, path)].append(ms)
                for path, d in data.items():
                    ms = pillow_time(d, mode)
                    if ms is not None:
                        theirs[(mode, path)].append(ms)
    names, scores = quality(args.quality, inputs)

    med = {k: statistics.median(v) if v else None for k, v in ours.items()}
    pil = {k: statistics.median(v) if v else None for k, v in theirs.items()}
    ratio = {k: pil[k] / med[k] if med[k] and pil[k] else None for k in med}

    print(f"### Speed, {args.rounds} rounds (ms, median per picture; speed-up = Pillow / yail)\n")
    header = "| picture | bytes |" + "".join(f" {m} yail | {m} Pillow | {m} × |" for m in modes)
    print(header)
    print("|---|---:|" + "---:|---:|---:|" * len(modes))
    for p in inputs:
        row = f"| {os.path.basename(p)} | {len(data[p])} |"
        for m in modes:
            k = (m, p)
            row += f" {fmt(med[k], '.2f')} | {fmt(pil[k], '.2f')} | {fmt(ratio[k], '.1f')} |"
        print(row)
    row = "| **median** | |"
    for m in modes:
        rs = [ratio[(m, p)] for p in inputs if ratio[(m, p)]]
        ts = [med[(m, p)] for p in inputs if med[(m, p)]]
        ps = [pil[(m, p)] for p in inputs if pil[(m, p)]]
        row += (f" {statistics.median(ts):.2f} | {statistics.median(ps):.2f} |"
                f" **{statistics.median(rs):.1f}** |")
    print(row)

    print("\n### Quality (HVS-PSNR in dB, as served)\n")
    print("| picture |" + "".join(f" {n} |" for n in names))
    print("|---|" + "---:|" * len(names))
    for p in inputs:
        print(f"| {os.path.basename(p)} |" + "".join(
            f" {scores[p][n]:.2f} |" for n in names))
    print("| **median** |" + "".join(
        f" **{statistics.median(scores[p][n] for p in inputs):.2f}** |" for n in names))


if __name__ == "__main__":
    main()
