#!/usr/bin/env python3
"""The mutation benchmark: how many plausible mistakes in the model's correct
code paths each search method finds, and how fast (issue 18; docs/mutation.md).

For each mutant of bench/mutation/mutants.py: apply it to a scratch copy of
the committed tree, rebuild `pinfuzz` incrementally, and run every method on
the correct design for a fixed budget. A mutant is killed by a method when the
method reports any design violation (known kernel limitations do not count).
The unmutated build runs first with the same budget and must stay clean,
otherwise the figures would be about the model, not the mutants.

  bench/mutation/run.py --budget 60 --methods pct,random --json out.json --markdown out.md
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from mutants import EQUIVALENT, MUTANTS  # noqa: E402

FOUND = re.compile(r"found after (\d+) executions in ([0-9.]+) s")
VIOLATION = re.compile(r"^pinfuzz: VIOLATION (\S+) .*?(?:cause=(\S+) )?in (\S+)\(\)", re.M)


def sh(cmd, cwd, log):
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        return subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT).returncode


def prepare(work, log, preset):
    """A clean copy of HEAD in work/src, configured and built (`preset`)."""
    src = os.path.join(work, "src")
    if os.path.isdir(src):
        shutil.rmtree(src)
    os.makedirs(src)
    archive = subprocess.run(["git", "-C", REPO, "archive", "HEAD"], check=True,
                             stdout=subprocess.PIPE).stdout
    subprocess.run(["tar", "-x", "-C", src], input=archive, check=True)
    if sh(["cmake", "--preset", preset], src, log) != 0:
        sys.exit(f"mutation: configuring {src} failed; see {log}")
    if build(src, preset, log) != 0:
        sys.exit(f"mutation: building {src} failed; see {log}")
    return src


def parse_only(args, tool):
    """--only ID,ID ... (repeatable) as a list of known mutant ids; exits on an unknown one."""
    only = [o for arg in args for o in arg.split(",") if o]
    known = {m["id"] for m in MUTANTS}
    for o in only:
        if o not in known:
            sys.exit(f"{tool}: no mutant '{o}' in bench/mutation/mutants.py")
    return only


def new_log(work):
    """An empty build log in `work` (created if need be)."""
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "build.log")
    open(log, "w").close()
    return log


def build(src, preset, log):
    """Builds pinfuzz, and pinfuzz_fuzzer where the preset has it."""
    targets = ["pinfuzz"] + (["pinfuzz_fuzzer"] if preset == "campaign" else [])
    return sh(["cmake", "--build", f"build/{preset}", "--target"] + targets, src, log)


def run_campaign(src, seed, budget, design):
    """`pinfuzz campaign --stop-at-first` on the design, one job, no seed
    corpus, for the budget: it ends itself at its first violation. Time and
    executions are the campaign's fuzzing time and runs until it (its
    workers count from their first execution). Known kernel limitations are
    listed apart by the campaign, never as findings."""
    exe = os.path.join(src, "build/campaign/fuzz/pinfuzz")
    fuzzer = os.path.join(src, "build/campaign/fuzz/targets/pinfuzz_fuzzer")
    d = os.path.join(os.path.dirname(src), f"campaign-{seed}")
    shutil.rmtree(d, ignore_errors=True)
    cmd = [exe, "campaign", "--dir", d, "--design", design, "-j", "1", "--duration",
           f"{int(budget) + 5}s", "--no-seeds", "--stop-at-first", "-q", "--fuzzer", fuzzer,
           f"--fuzzer-arg=-seed={seed}"]
    out = open(os.path.join(os.path.dirname(src), "campaign.log"), "w")
    p = subprocess.Popen(cmd, cwd=src, stdout=out, stderr=subprocess.STDOUT)
    try:
        p.wait(timeout=budget + 60)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)  # as a user would, if it overruns by far
        p.wait()
    try:
        state = json.load(open(os.path.join(d, "campaign.json")))
    except (OSError, ValueError):
        return False, float(budget), 0, f"exit {p.returncode}: no campaign.json (see campaign.log)"
    c = next((c for c in state.get("configs", []) if c["design"] == design), {})
    if p.returncode not in (0, 1):
        return False, float(budget), 0, f"campaign exit {p.returncode} (see campaign.log)"
    if c.get("first_seconds") is None or c["first_seconds"] > budget:
        return False, float(budget), c.get("execs", 0), ""
    f = min(state.get("findings", []), key=lambda f: f.get("first_seen", 0), default={})
    what = f"{f.get('kind', 'violation')} in {f.get('fn', '?')}()" if f else "violation"
    shutil.rmtree(d, ignore_errors=True)
    return True, float(c["first_seconds"]), int(c.get("first_execs") or 0), what


def run_method(src, method, seed, budget, design, preset):
    """One search: (killed, seconds, executions, violation text)."""
    if method == "campaign":
        return run_campaign(src, seed, budget, design)
    exe = os.path.join(src, f"build/{preset}/fuzz/pinfuzz")
    cmd = [exe, "find", "--design", design, "--strategy", method, "--seed", str(seed),
           "--seconds", str(budget), "-q"]
    start = time.monotonic()
    p = subprocess.run(cmd, cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=budget * 4 + 120)
    wall = time.monotonic() - start
    m = FOUND.search(p.stdout)
    v = VIOLATION.search(p.stdout)
    if p.returncode == 1 and m:
        what = f"{v.group(1)} in {v.group(3)}()" if v else "violation"
        return True, float(m.group(2)), int(m.group(1)), what
    if p.returncode not in (0, 1):
        return False, wall, 0, f"exit {p.returncode}: {p.stdout.strip().splitlines()[-1:]}"
    return False, float(budget), 0, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default="pct,random",
                    help="comma-separated: pct, random, mix (pinfuzz find --strategy), campaign "
                    "(pinfuzz campaign, one job; "
                    "then every method runs the campaign preset's build)")
    ap.add_argument("--budget", type=float, default=60, help="seconds per mutant and method")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per mutant and method (median)")
    ap.add_argument("--design", default="folio_pincount", help="the correct design to run")
    ap.add_argument("--only", action="append", default=[],
                    help="only these mutant ids (repeat it, or give ID,ID,...)")
    ap.add_argument("--work", default="/tmp/pinfuzz-mutation", help="scratch directory")
    ap.add_argument("--json", help="write the results as JSON here")
    ap.add_argument("--markdown", help="write the results as a markdown table here")
    ap.add_argument("--check", action="store_true",
                    help="only check that every mutant's `old` text occurs exactly once in the "
                    "source tree it lives in (no build, no run); exit 1 naming the stale ones")
    a = ap.parse_args()
    if a.check:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        stale = [f"{m['id']}: `old` occurs {open(os.path.join(root, m['file'])).read().count(m['old'])}"
                 f" times in {m['file']}" for m in MUTANTS
                 if open(os.path.join(root, m["file"])).read().count(m["old"]) != 1]
        for line in stale:
            print(f"mutation: stale mutant {line}", file=sys.stderr)
        print(f"mutation: {len(MUTANTS) - len(stale)} of {len(MUTANTS)} mutants apply")
        sys.exit(1 if stale else 0)
    methods = [m for m in a.methods.split(",") if m]
    for m in methods:
        if m not in ("pct", "random", "mix", "campaign"):
            sys.exit(f"mutation: unknown method '{m}' (pct, random, mix, campaign)")
    preset = "campaign" if "campaign" in methods else "release"
    a.only = parse_only(a.only, "mutation")
    log = new_log(a.work)
    src = prepare(a.work, log, preset)

    rows = []
    baseline = {m: [run_method(src, m, s, a.budget, a.design, preset)
                    for s in range(1, a.seeds + 1)]
                for m in methods}
    for m, trials in baseline.items():
        for killed, _, _, what in trials:
            if killed:
                sys.exit(f"mutation: the unmutated model violates under {a.design} ({m}: {what}): "
                         "fix the model before measuring mutants")
    print(f"baseline: {a.design} clean under {', '.join(methods)} for {a.budget:g} s", flush=True)

    for mut in MUTANTS:
        if a.only and mut["id"] not in a.only:
            continue
        path = os.path.join(src, mut["file"])
        text = open(path).read()
        if text.count(mut["old"]) != 1:
            rows.append(dict(id=mut["id"], breaks=mut["breaks"], status="stale",
                             note=f"`old` occurs {text.count(mut['old'])} times in {mut['file']}"))
            print(f"{mut['id']}: STALE (the code it mutates changed)", flush=True)
            continue
        open(path, "w").write(text.replace(mut["old"], mut["new"]))
        try:
            if build(src, preset, log) != 0:
                rows.append(dict(id=mut["id"], breaks=mut["breaks"], status="no_compile"))
                print(f"{mut['id']}: does not compile", flush=True)
                continue
            row = dict(id=mut["id"], breaks=mut["breaks"], status="ran", methods={})
            for m in methods:
                trials = [run_method(src, m, s, a.budget, a.design, preset)
                          for s in range(1, a.seeds + 1)]
                kills = [t for t in trials if t[0]]
                times = sorted(t[1] if t[0] else a.budget for t in trials)
                row["methods"][m] = dict(
                    killed=len(kills) * 2 > len(trials), kills=len(kills), seeds=len(trials),
                    median_seconds=statistics.median(times),
                    violation=kills[0][3] if kills else "")
                cell = row["methods"][m]
                print(f"{mut['id']:<32} {m:<7} "
                      f"{'killed' if cell['killed'] else 'survived'} "
                      f"({cell['kills']}/{cell['seeds']}, median {cell['median_seconds']:.2f} s) "
                      f"{cell['violation']}", flush=True)
            rows.append(row)
        finally:
            open(path, "w").write(text)
    # Rebuild the unmutated binaries, so the scratch copy is left as it was.
    build(src, preset, log)

    ran = [r for r in rows if r["status"] == "ran" and r["id"] not in EQUIVALENT]
    score = {m: sum(r["methods"][m]["killed"] for r in ran) for m in methods}
    table = "| mutant | what it breaks | " + " | ".join(methods) + " |\n"
    table += "|---|---|" + "---|" * len(methods) + "\n"
    for r in rows:
        if r["status"] != "ran":
            table += f"| `{r['id']}` | {r['breaks']} | " + " | ".join([r["status"]] * len(methods)) + " |\n"
            continue
        cells = []
        for m in methods:
            c = r["methods"][m]
            cells.append(f"{c['median_seconds']:.2f} s ({c['kills']}/{c['seeds']}): {c['violation']}"
                         if c["killed"] else f"survived ({c['kills']}/{c['seeds']})")
        mark = " (equivalent)" if r["id"] in EQUIVALENT else ""
        table += f"| `{r['id']}`{mark} | {r['breaks']} | " + " | ".join(cells) + " |\n"
    summary = "\n".join(f"- {m}: {score[m]} of {len(ran)} non-equivalent mutants killed"
                        for m in methods)
    summary += "\n\nJudged equivalent (run, not scored):\n" + "".join(
        f"- `{k}`: {v}\n" for k, v in EQUIVALENT.items())
    print(table + "\n" + summary)
    cmd = "bench/mutation/run.py " + " ".join(sys.argv[1:])
    if a.json:
        json.dump(dict(command=cmd, date=time.strftime("%Y-%m-%d"), design=a.design,
                       budget_seconds=a.budget, seeds=a.seeds, methods=methods, rows=rows,
                       score=score, equivalent=EQUIVALENT), open(a.json, "w"), indent=2)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(f"Measured {time.strftime('%Y-%m-%d')} by `{cmd}` on {a.design}.\n\n")
            f.write(table + "\n" + summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
