#!/usr/bin/env python3
"""Executions per kill of each kind of schedule, per mutant (bench/schedule_arms
on a mutant's build): which schedules find mistakes nobody planted. The
counterpart of `schedule_arms --bug ...` for the catalog; search.h's mix is
chosen from both.

  bench/mutation/arms.py --only ID,ID --seconds 90 --work /tmp/arms-mut
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mutants import MUTANTS  # noqa: E402
from run import new_log, parse_only, prepare, sh  # noqa: E402

PRESET = "release"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], help="mutant ids (ID,ID,...)")
    ap.add_argument("--seconds", type=float, default=90, help="seconds per mutant")
    ap.add_argument("--design", default="folio_pincount", help="the correct design to run")
    ap.add_argument("--work", default="/tmp/pinfuzz-arms", help="scratch directory")
    a = ap.parse_args()
    only = parse_only(a.only, "arms")
    log = new_log(a.work)
    src = prepare(a.work, log, PRESET)
    exe = os.path.join(src, f"build/{PRESET}/bench/schedule_arms")
    header = False
    for mut in MUTANTS:
        if only and mut["id"] not in only:
            continue
        path = os.path.join(src, mut["file"])
        text = open(path).read()
        if text.count(mut["old"]) != 1:
            print(f"{mut['id']}: STALE (the code it mutates changed)", flush=True)
            continue
        open(path, "w").write(text.replace(mut["old"], mut["new"]))
        try:
            if sh(["cmake", "--build", f"build/{PRESET}", "--target", "schedule_arms"],
                  src, log) != 0:
                print(f"{mut['id']}: does not compile; see {log}", flush=True)
                continue
            run = subprocess.run([exe, "--design", a.design, "--seconds", str(a.seconds),
                                  "--min-hits", "40"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            out = run.stdout.splitlines()
            if run.returncode != 0 or len(out) < 3:
                # A mutant may break what the model itself asserts.
                last = (run.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"{mut['id']}: schedule_arms exited {run.returncode}: {last}", flush=True)
                continue
            if not header:
                print("\n".join(out[:2]))
                header = True
            print(out[2].replace(f"`{a.design}`", f"`{mut['id']}`", 1), flush=True)
        finally:
            open(path, "w").write(text)


if __name__ == "__main__":
    main()
