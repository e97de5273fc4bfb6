#!/usr/bin/env python3
"""What a campaign worker runs per second per core, against the model's own
speed, in one run (issue 18; figures in docs/search.md).

  libfuzzer  pinfuzz_fuzzer with a campaign's worker flags (--amplify=8,
             --strategy=random) on the default scenario (corpus/seeds/
             three_threads.txt, default design), -runs=N: every run is a
             libFuzzer execution of the input with coverage collected, so
             the figure holds libFuzzer's per-input work and the
             instrumented model (marginal: the CPU time of 2N inputs
             less that of N, so the start-up is left out; the figure
             with it is printed too); against model_bench's
             BM_ModelScheduled/random (the same scenario, same design, no
             instrumentation).
  native     pinfuzz_fuzzer --search=random (a campaign's native worker)
             against `pinfuzz find --strategy random` with the same seed:
             the same scenarios and schedules, so the ratio is the worker's
             overhead alone.

Both are CPU time per run (getrusage of the child), so another process on
the machine slows neither side's figure much; still, run it on a quiet one.

  bench/worker_rate.py --campaign-build build/campaign --release-build build/release \\
      --json out.json
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATS = re.compile(r"pinfuzz: stats execs=(\d+)")


def child_cpu(cmd):
    """Runs cmd; returns (its CPU seconds, its stderr+stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, p.stdout, p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--campaign-build", default=os.path.join(REPO, "build/campaign"))
    ap.add_argument("--release-build", default=os.path.join(REPO, "build/release"))
    ap.add_argument("--amplify", type=int, default=8)
    ap.add_argument("--inputs", type=int, default=20000, help="libFuzzer -runs")
    ap.add_argument("--runs", type=int, default=300000, help="native worker -runs")
    ap.add_argument("--json")
    a = ap.parse_args()
    fuzzer = os.path.join(a.campaign_build, "fuzz/targets/pinfuzz_fuzzer")
    pinfuzz = os.path.join(a.campaign_build, "fuzz/pinfuzz")
    bench = os.path.join(a.release_build, "bench/model_bench")
    for exe in (fuzzer, pinfuzz, bench):
        if not os.access(exe, os.X_OK):
            sys.exit(f"worker_rate: {exe}: not built (cmake --build --preset campaign / release)")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        # model_bench: the model's own speed on the default scenario.
        js = os.path.join(tmp, "mb.json")
        subprocess.run([bench, "--benchmark_filter=^BM_ModelScheduled/random",
                        "--benchmark_min_time=2", f"--benchmark_out={js}",
                        "--benchmark_out_format=json"], check=True, stdout=subprocess.DEVNULL)
        b = json.load(open(js))["benchmarks"][0]
        out["model_bench_random_runs_per_cpu_s"] = 1e9 / b["cpu_time"]

        # The libFuzzer worker on the same scenario.
        seed = os.path.join(tmp, "three.bin")
        subprocess.run([pinfuzz, "encode", os.path.join(REPO, "corpus/seeds/three_threads.txt"),
                        "-o", seed], check=True, stdout=subprocess.DEVNULL)
        # libFuzzer runs a file input -runs times; each is --amplify runs.
        # Twice, with N and 2N inputs: the difference is N inputs without
        # the process's start-up (libFuzzer's own tables, about 0.15 s of
        # page faults, 5% of a 20000-input run), which a campaign worker
        # pays once a slice, not once a run.
        def worker_cpu(inputs):
            return child_cpu([fuzzer, "--design=" + "folio_pincount", "--strategy=random",
                              f"--amplify={a.amplify}", "-use_counters=0",
                              f"-runs={inputs}", seed])[0]
        cpu_n = worker_cpu(a.inputs)
        cpu_2n = worker_cpu(2 * a.inputs)
        runs = a.inputs * a.amplify
        out["libfuzzer_worker_runs_per_cpu_s"] = runs / (cpu_2n - cpu_n)
        out["libfuzzer_worker_with_startup_runs_per_cpu_s"] = runs / cpu_n
        out["libfuzzer_ratio"] = out["libfuzzer_worker_runs_per_cpu_s"] / out[
            "model_bench_random_runs_per_cpu_s"]

        # The native worker against the in-process search, same seed.
        cpu_w, text, _ = child_cpu([fuzzer, "--design=folio_pincount", "--search=random",
                                    "-seed=1", f"-runs={a.runs}", "--keep-going",
                                    f"-artifact_prefix={tmp}/"])
        m = STATS.findall(text)
        native_runs = int(m[-1]) if m else 0
        out["native_worker_runs_per_cpu_s"] = native_runs / cpu_w
        cpu_f, text, _ = child_cpu([pinfuzz, "find", "--design", "folio_pincount", "--strategy",
                                    "random", "--seed", "1", "--seconds", "1e9", "-q",
                                    "--runs", str(native_runs)])
        out["find_runs_per_cpu_s"] = native_runs / cpu_f
        out["native_ratio"] = out["native_worker_runs_per_cpu_s"] / out["find_runs_per_cpu_s"]
    for k, v in out.items():
        print(f"{k:36} {v:12.3f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
