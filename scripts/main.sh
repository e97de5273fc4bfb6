#!/bin/bash
# The main job: install what is missing, build the campaign preset (libFuzzer,
# no sanitizers), and run a short `pinfuzz campaign` over every design of the
# catalog, starting from the seed corpus. At the end it prints, per design,
# how long it was fuzzed, the first violation and the first violation of the
# kind the catalog expects (time to bug), and a verdict; the report is in
# $PINFUZZ_DIR/report/report.html.
#   PINFUZZ_DURATION  campaign length (default 2m)
#   PINFUZZ_DIR       campaign directory (default build/campaign/main; a new
#                     run starts from scratch, keeping only the corpus)
#   PINFUZZ_JOBS      parallel workers (default: the number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
duration=${PINFUZZ_DURATION:-2m}
dir=${PINFUZZ_DIR:-build/campaign/main}
jobs=${PINFUZZ_JOBS:-$(nproc)}
cmake --preset campaign >/dev/null
cmake --build --preset campaign --target pinfuzz pinfuzz_fuzzer
bin=build/campaign/fuzz
"$bin/pinfuzz" selfcheck >/dev/null || { echo "main: pinfuzz selfcheck failed; run it for details" >&2; exit 1; }
# Keep what the last run learned (its corpus), not its findings.
if [ -d "$dir" ]; then
  find "$dir" -mindepth 1 -maxdepth 1 ! -name corpus -exec rm -rf {} +
fi
set +e
"$bin/pinfuzz" campaign --all-designs --duration "$duration" -j "$jobs" --dir "$dir" \
  --fuzzer "$bin/targets/pinfuzz_fuzzer"
rc=$?
set -e
# 1 = violations found, which is what the buggy designs are for; the table
# above says whether each was expected. 2 = the campaign itself failed.
[ $rc -le 1 ] || exit $rc
if grep -q "FALSE POSITIVE" "$dir/report/report.json"; then
  echo "main: a correct design reported a violation: a bug in the model (see the table)" >&2
  exit 1
fi
echo
echo "Findings: $dir/crashes/<id>/ (scenario.txt replays with '$bin/pinfuzz repro')."
echo "Report:   $dir/report/report.html"
