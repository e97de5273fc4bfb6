#!/usr/bin/env bash
# pinfuzz's scheduler (sched_bench) beside Relacy's random scheduler
# (relacy_bench) on the same 3-thread program, one Release build, both
# pinned to one CPU. See bench/relacy/README.md.
#
# Usage: bench/relacy/compare.sh RELACY_DIR [BUILD_DIR]
#   RELACY_DIR  a Relacy checkout (holds relacy/relacy.hpp)
#   BUILD_DIR   default build/relacy (the release preset's flags)
# Environment:
#   CPU=0          the CPU taskset pins both benchmarks to
#   MIN_TIME=1     --benchmark_min_time, seconds (Google Benchmark 1.7 takes
#                  a plain number; "1s" is rejected)
#   REPETITIONS=1  >1: that many repetitions, medians compared
#   JOBS=2         build parallelism
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
relacy=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${2:-$root/build/relacy}")
cpu=${CPU:-0}
min_time=${MIN_TIME:-1}
reps=${REPETITIONS:-1}
jobs=${JOBS:-2}
if [[ ! -f $relacy/relacy/relacy.hpp ]]; then
  echo "compare.sh: $relacy holds no relacy/relacy.hpp" >&2
  exit 2
fi

cd "$root"
cmake --preset release -B "$build" -DPINFUZZ_RELACY_DIR="$relacy" >/dev/null
cmake --build "$build" -j "$jobs" --target sched_bench relacy_bench

bench_args=(--benchmark_format=json "--benchmark_min_time=$min_time")
if ((reps > 1)); then
  bench_args+=("--benchmark_repetitions=$reps" --benchmark_report_aggregates_only=true)
fi
out=$build/compare
mkdir -p "$out"
echo "running sched_bench, then relacy_bench, on CPU $cpu (min_time $min_time s, repetitions $reps)" >&2
taskset -c "$cpu" "$build/bench/sched_bench" \
  '--benchmark_filter=BM_ProgramScheduled/random|BM_ProgramWeak/random' \
  "${bench_args[@]}" >"$out/sched_bench.json"
taskset -c "$cpu" "$build/bench/relacy_bench" "${bench_args[@]}" >"$out/relacy_bench.json"

python3 - "$out/sched_bench.json" "$out/relacy_bench.json" <<'EOF'
import json
import sys


def load(path):
    """run_name -> (execs_per_s, steps_per_exec); medians when repeated."""
    runs = json.load(open(path))["benchmarks"]
    aggregated = any(r.get("run_type") == "aggregate" for r in runs)
    rates = {}
    for r in runs:
        if aggregated and r.get("aggregate_name") != "median":
            continue
        name = r.get("run_name", r["name"]).removesuffix("/real_time")
        if r.get("error_occurred"):
            print(f"{name}: ERROR {r.get('error_message')}", file=sys.stderr)
            continue
        rates[name] = (r["execs_per_s"], r.get("steps_per_exec"))
    return rates


rates = load(sys.argv[1]) | load(sys.argv[2])
print(f"{'benchmark':34} {'execs/s':>12} {'steps/exec':>11}")
for name, (rate, steps) in rates.items():
    steps = "-" if steps is None else f"{steps:.1f}"
    print(f"{name:34} {rate:12.0f} {steps:>11}")

print()
pairs = [
    ("sc", "BM_ProgramScheduled/random", "BM_RelacyRandom/sc"),
    ("relaxed", "BM_ProgramWeak/random_arm", "BM_RelacyRandom/relaxed"),
]
for label, ours, theirs in pairs:
    if ours in rates and theirs in rates:
        ratio = rates[ours][0] / rates[theirs][0]
        print(f"pinfuzz/Relacy {label:8} {ours} / {theirs} = {ratio:.2f}x")
    else:
        missing = [n for n in (ours, theirs) if n not in rates]
        print(f"pinfuzz/Relacy {label:8} n/a (no result for {', '.join(missing)})")
EOF
echo "JSON: $out/sched_bench.json $out/relacy_bench.json" >&2
