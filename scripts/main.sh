#!/bin/bash
# The main job: install what is missing, build the fuzz preset (libFuzzer +
# ASan + UBSan), and run a short fuzzing run of pinfuzz_fuzzer on every design
# of the catalog, starting from the seed corpus in corpus/seeds. Prints one
# line per design: what it found, or that it ran clean.
#   PINFUZZ_SECONDS  seconds per design (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
seconds=${PINFUZZ_SECONDS:-10}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target pinfuzz pinfuzz_fuzzer
bin=build/fuzz/fuzz
work=build/fuzz/main
rm -rf "$work" && mkdir -p "$work/seeds"
"$bin/pinfuzz" encode corpus/seeds/*.txt -o "$work/seeds"
"$bin/pinfuzz" selfcheck >/dev/null || { echo "main: pinfuzz selfcheck failed; run it for details" >&2; exit 1; }

designs=(get_only page_flag lru_count pin_bias folio_pincount)
printf '%-16s %-8s %-22s %s\n' design status violation details
for d in "${designs[@]}"; do
  mkdir -p "$work/$d/corpus" "$work/$d/crashes"
  log="$work/$d/fuzz.log"
  set +e
  ASAN_OPTIONS=detect_leaks=0 "$bin/targets/pinfuzz_fuzzer" --design="$d" \
    -max_total_time="$seconds" -dict=corpus/pinfuzz.dict -print_final_stats=1 \
    -artifact_prefix="$work/$d/crashes/" "$work/$d/corpus" "$work/seeds" >"$log" 2>&1
  set -e
  runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' || true)
  sig=$(grep -m1 -oE 'pinfuzz: VIOLATION [a-z_]+' "$log" | awk '{print $3}' || true)
  if [ -n "$sig" ]; then
    replay=$(grep -m1 -oE 'pinfuzz: replay: .*' "$log" | sed 's/^pinfuzz: replay: //')
    printf '%-16s %-8s %-22s %s\n' "$d" found "$sig" "replay: $bin/$replay"
  else
    printf '%-16s %-8s %-22s %s\n' "$d" clean - "${runs:-?} executions in ${seconds}s"
  fi
done
echo
echo "Logs and crash inputs are under $work/<design>/. 'pinfuzz repro FILE' explains one."
