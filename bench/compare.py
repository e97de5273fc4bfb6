#!/usr/bin/env python3
"""Compares the benchmarks of two builds as ratios measured in one run.

    bench/compare.py OLD_BUILD_DIR NEW_BUILD_DIR [--rounds 9] [--filter REGEX]
                     [--cpu N] [--min-time S] [--json OUT.json]

Runs OLD's and NEW's bench/model_bench and bench/sched_bench in rounds, each
round both sides back to back (the order alternates between rounds), pinned
to one CPU with taskset when --cpu is given. For every benchmark it prints the
median real time per iteration of each side and the median, over rounds, of
the round's ratio NEW/OLD (below 1: NEW is faster), with the smallest and
largest round ratio. A shared machine's noise comes in bursts that move both
sides of one round alike, so the per-round ratio is the figure to quote, never
the absolute times of separate runs (README, "Builds").

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


def run(binary, cpu, filt, min_time):
    cmd = [binary, "--benchmark_format=json", f"--benchmark_min_time={min_time}"]
    if filt:
        cmd.append(f"--benchmark_filter={filt}")
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"compare.py: {' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}",
              file=sys.stderr)
        sys.exit(2)
    if not out.stdout.strip():
        return {}  # the filter matched nothing in this program
    doc = json.loads(out.stdout)
    return {b["name"]: b["real_time"] for b in doc["benchmarks"] if b.get("run_type") != "aggregate"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--filter", default="", help="--benchmark_filter for both programs")
    ap.add_argument("--cpu", type=int, default=None, help="pin every run to this CPU")
    ap.add_argument("--min-time", default="0.2", help="--benchmark_min_time of every run")
    ap.add_argument("--json", default="", help="write the table as JSON here")
    args = ap.parse_args()

    # (program, name) -> per round {"old": t, "new": t}
    rounds = {}
    for prog in PROGRAMS:
        bins = {side: os.path.join(getattr(args, side), "bench", prog) for side in ("old", "new")}
        for side, b in bins.items():
            if not os.access(b, os.X_OK):
                print(f"compare.py: {b}: not found (build the release preset there)",
                      file=sys.stderr)
                sys.exit(2)
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            got = {side: run(bins[side], args.cpu, args.filter, args.min_time) for side in order}
            for name in got["old"]:
                if name in got["new"]:
                    rounds.setdefault((prog, name), []).append(
                        {"old": got["old"][name], "new": got["new"][name]})
            print(f"compare.py: {prog} round {r + 1}/{args.rounds} done", file=sys.stderr)

    rows = []
    for (prog, name), rs in sorted(rounds.items()):
        ratios = [x["new"] / x["old"] for x in rs if x["old"] > 0]
        rows.append({"program": prog, "benchmark": name,
                     "old": statistics.median(x["old"] for x in rs),
                     "new": statistics.median(x["new"] for x in rs),
                     "ratio": statistics.median(ratios), "min": min(ratios), "max": max(ratios)})
    width = max((len(r["benchmark"]) for r in rows), default=10)
    print(f"median real time per iteration over {args.rounds} rounds; "
          f"new/old: median of the rounds' ratios [smallest, largest]")
    print(f"{'benchmark':<{width}}  {'old':>10}  {'new':>10}  new/old")
    for r in rows:
        print(f"{r['benchmark']:<{width}}  {r['old']:>10.1f}  {r['new']:>10.1f}  "
              f"{r['ratio']:.3f} [{r['min']:.3f}, {r['max']:.3f}]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"old": args.old, "new": args.new, "rounds": args.rounds, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
