#!/usr/bin/env python3
"""Instructions executed per conversion, ours against the Pillow pipeline,
counted by valgrind's callgrind. Unlike wall time on a shared machine the
count is the same on every run, and it is what sets the time when the
processor core is shared with another busy thread (docs/performance.md,
"What the slow phases are").

    cargo build --release -p yail-core --example stages
    python3 bench/count_instructions.py --mode gr8 assets/photos/chelsea.png

Each side is counted twice, converting the picture once and 1 + ROUNDS
times; the difference over ROUNDS is one conversion, without start-up
and one-time set-up. Needs valgrind, and Pillow and numpy for the
baseline (run it with the Python that has them).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pillow_baseline  # noqa: E402

# Converts argv[3] argv[1] + 1 times the way the Python servers do.
PILLOW = """
import sys
sys.path.insert(0, {here!r})
import pillow_baseline
data = open(sys.argv[3], "rb").read()
for _ in range(int(sys.argv[1]) + 1):
    pillow_baseline.pipeline(data, sys.argv[2])
"""


def count(command):
    """Instructions valgrind counted for `command`, start to exit."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *command],
            check=True, capture_output=True,
        )
        with open(out) as f:
            for line in f:
                if line.startswith("summary:"):
                    return int(line.split()[1])
    raise RuntimeError(f"no summary in callgrind's output for {command}")


def per_conversion(command_for, rounds):
    """One conversion's instructions: `command_for(n)` converts n + 1 times."""
    return (count(command_for(rounds)) - count(command_for(0))) / rounds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=pillow_baseline.MODES, default="gr8")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stages", default="target/release/examples/stages")
    parser.add_argument("inputs", nargs="+")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt install valgrind)")
    if not os.path.exists(args.stages):
        sys.exit(f"{args.stages} is missing: "
                 "cargo build --release -p yail-core --example stages")
    script = PILLOW.format(here=HERE)
    print(f"mode {args.mode}; millions of instructions per conversion")
    print(f"{'picture':<16}{'yail':>10}{'Pillow':>10}{'ratio':>10}")
    for path in args.inputs:
        # `stages all` decodes once before its loop and converts N times.
        ours = per_conversion(
            lambda n: [args.stages, "all", args.mode, path, str(n + 1)], args.rounds)
        theirs = per_conversion(
            lambda n: [sys.executable, "-c", script, str(n), args.mode, path], args.rounds)
        name = os.path.basename(path)
        print(f"{name:<16}{ours / 1e6:>10.2f}{theirs / 1e6:>10.2f}{theirs / ours:>9.2f}x")


if __name__ == "__main__":
    main()
