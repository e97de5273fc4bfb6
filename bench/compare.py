#!/usr/bin/env python3
"""Compares the benchmarks of two builds as ratios measured in one run.

    bench/compare.py OLD_BUILD_DIR NEW_BUILD_DIR [--rounds 5] [--filter REGEX]
                     [--cpu N] [--json OUT.json]

Runs OLD and NEW's bench/model_bench and bench/sched_bench alternately,
--rounds times each (OLD, NEW, OLD, NEW, ...), pinned to one CPU with taskset
when --cpu is given, and prints per benchmark the median real time per
iteration of each side and the ratio NEW/OLD (below 1: NEW is faster). A noisy,
shared machine moves both sides alike within a round, so the ratio is what to
quote, never the absolute times of separate runs (README, "Builds").

Exit status: 0 (the script judges nothing), 2 when a binary is missing or a
run fails.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

PROGRAMS = ("model_bench", "sched_bench")


def run(binary, cpu, filt):
    cmd = [binary, "--benchmark_format=json"]
    if filt:
        cmd.append(f"--benchmark_filter={filt}")
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"compare.py: {' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
    doc = json.loads(out.stdout)
    return {b["name"]: b["real_time"] for b in doc["benchmarks"] if b.get("run_type") != "aggregate"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--filter", default="", help="--benchmark_filter for both programs")
    ap.add_argument("--cpu", type=int, default=None, help="pin every run to this CPU")
    ap.add_argument("--json", default="", help="write the table as JSON here")
    args = ap.parse_args()

    times = {}  # (program, name) -> {"old": [...], "new": [...]}
    for prog in PROGRAMS:
        bins = {side: os.path.join(getattr(args, side), "bench", prog) for side in ("old", "new")}
        for side, b in bins.items():
            if not os.access(b, os.X_OK):
                sys.exit(f"compare.py: {b}: not found (build the release preset there)")
        for r in range(args.rounds):
            for side in ("old", "new"):
                for name, t in run(bins[side], args.cpu, args.filter).items():
                    times.setdefault((prog, name), {"old": [], "new": []})[side].append(t)
            print(f"compare.py: {prog} round {r + 1}/{args.rounds} done", file=sys.stderr)

    rows = []
    for (prog, name), sides in sorted(times.items()):
        if not sides["old"] or not sides["new"]:
            continue
        old, new = statistics.median(sides["old"]), statistics.median(sides["new"])
        rows.append({"program": prog, "benchmark": name, "old": old, "new": new,
                     "ratio": new / old if old else float("nan")})
    width = max((len(r["benchmark"]) for r in rows), default=10)
    print(f"{'benchmark':<{width}}  {'old':>12}  {'new':>12}  new/old")
    for r in rows:
        print(f"{r['benchmark']:<{width}}  {r['old']:>12.1f}  {r['new']:>12.1f}  {r['ratio']:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"old": args.old, "new": args.new, "rounds": args.rounds, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
