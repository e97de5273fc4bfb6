#!/bin/bash
# Runs .clusterfuzzlite/build.sh the way OSS-Fuzz's builder does, and what it
# leaves in $OUT the way base-runner's run_fuzzer does, without Docker:
#   builder  SRC, WORK and OUT in a fresh temporary directory, the source tree
#            as $SRC/pinfuzz (a symlink: the Dockerfile copies it there),
#            build.sh copied to $SRC, the environment of base-clang and
#            base-builder's `compile` for SANITIZER=address,
#            FUZZING_ENGINE=libfuzzer, then `bash -eux $SRC/build.sh` from
#            $SRC/pinfuzz.
#   checks   the target is instrumented as bad_build_check wants an ASan build
#            (ASan, not UBSan: the project's own presets added nothing) and
#            needs no shared library of the build's packages; the zip holds
#            one entry per corpus/seeds/*.txt; the options file, read as
#            parse_options.py reads it, gives -dict and -max_len; a run of
#            -runs=2000 -seed=1 over the unzipped seeds, with base-runner's
#            ASAN_OPTIONS and FUZZER_ARGS, loads the whole dictionary and ends
#            clean; the same for one target per design (`pinfuzz designs
#            --targets`), each starting under the design its name gives.
# Usage: ossfuzz_build.sh SOURCE_DIR. Exit 0 when every check passes.
set -euo pipefail

source_dir=$(cd "$1" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pinfuzz-ossfuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "ossfuzz_build: FAIL: $*" >&2
  exit 1
}
step() { echo "ossfuzz_build: $*"; }

export SRC=$tmp/src WORK=$tmp/work OUT=$tmp/out
mkdir -p "$SRC" "$WORK" "$OUT"
ln -s "$source_dir" "$SRC/pinfuzz"
cp "$source_dir/.clusterfuzzlite/build.sh" "$SRC/build.sh"

# base-clang's CFLAGS (with clang 14 in place of OSS-Fuzz's own clang: it
# drops -Wno-error=vla-cxx-extension, which clang 14 does not know), and what
# `compile` appends for address + libfuzzer.
export CC=clang-14 CXX=clang++-14 CCC=clang++-14
export SANITIZER=address FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only \
-Wno-error=incompatible-function-pointer-types -Wno-error=int-conversion \
-Wno-error=deprecated-declarations -Wno-error=implicit-function-declaration \
-Wno-error=implicit-int -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION \
-fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export CXXFLAGS_EXTRA="-stdlib=libc++"
export CXXFLAGS="$CFLAGS $CXXFLAGS_EXTRA"
export LIB_FUZZING_ENGINE="-fsanitize=fuzzer"
export UBSAN_OPTIONS="silence_unsigned_overflow=1"
unset ASAN_OPTIONS
# Not OSS-Fuzz's: Debian's libclang_rt.fuzzer is built against libstdc++,
# OSS-Fuzz's carries its own C++ library. CMake reads LDFLAGS when it first
# configures; clang would turn a plain -lstdc++ into -lc++ under libc++.
export LDFLAGS="-l:libstdc++.so.6"

step "building with .clusterfuzzlite/build.sh (SRC=$SRC WORK=$WORK OUT=$OUT)"
(cd "$SRC/pinfuzz" && bash -eux "$SRC/build.sh") || fail "build.sh exited with $?"

fuzzer=$OUT/pinfuzz_fuzzer
for f in pinfuzz_fuzzer pinfuzz_fuzzer_seed_corpus.zip pinfuzz_fuzzer.dict pinfuzz_fuzzer.options; do
  [ -s "$OUT/$f" ] || fail "\$OUT/$f is missing or empty"
done
[ -x "$fuzzer" ] || fail "\$OUT/pinfuzz_fuzzer is not executable"

# bad_build_check's instrumentation check for SANITIZER=address.
asan_calls=$(objdump -dC "$fuzzer" | grep -cE "callq?\s+[0-9a-f]+\s+<__asan" || true)
ubsan_calls=$(objdump -dC "$fuzzer" | grep -cE "callq?\s+[0-9a-f]+\s+<__ubsan" || true)
step "instrumentation: $asan_calls calls to ASan, $ubsan_calls to UBSan"
[ "$asan_calls" -ge 1000 ] || fail "not compiled with ASan ($asan_calls calls, bad_build_check wants 1000)"
[ "$ubsan_calls" -le 200 ] || fail "ASan build compiled with UBSan too ($ubsan_calls calls, at most 200)"

# The fuzzer runs on base-runner, without the build image's packages: only
# the C and C++ runtimes may be shared libraries.
needed=$(readelf -d "$fuzzer" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
step "shared libraries: $(echo $needed)"
for lib in $needed; do
  case $lib in
    libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | libgcc_s.so.* | \
      ld-linux-*.so.* | libc++.so.* | libc++abi.so.* | libunwind.so.* | libstdc++.so.*) ;;
    *) fail "pinfuzz_fuzzer needs $lib at run time; base-runner does not have it" ;;
  esac
done

# Seed corpus: exactly one entry per seed scenario, none empty.
expected=$(for f in "$source_dir"/corpus/seeds/*.txt; do basename "$f" .txt; done | sort)
[ -n "$expected" ] || fail "no corpus/seeds/*.txt in $source_dir"
entries=$(unzip -Z1 "$OUT/pinfuzz_fuzzer_seed_corpus.zip" | sort)
[ "$entries" = "$expected" ] || fail "seed corpus entries differ from corpus/seeds:
$(diff <(echo "$expected") <(echo "$entries") || true)"
corpus=$tmp/corpus
mkdir -p "$corpus"
unzip -o -q -d "$corpus" "$OUT/pinfuzz_fuzzer_seed_corpus.zip"
for f in "$corpus"/*; do [ -s "$f" ] || fail "empty seed $(basename "$f")"; done
nseeds=$(echo "$expected" | wc -l)
step "seed corpus: $nseeds entries"

# The options file, as base-runner's parse_options.py reads its libfuzzer
# section.
options=$(python3 - "$OUT/pinfuzz_fuzzer.options" <<'EOF'
import configparser, sys
parser = configparser.ConfigParser()
parser.read(sys.argv[1])
if parser.has_section('libfuzzer'):
    print(' '.join('-%s=%s' % (k, v) for k, v in parser['libfuzzer'].items()))
EOF
) || fail "pinfuzz_fuzzer.options does not parse"
step "options: $options"
case " $options " in *" -dict=pinfuzz_fuzzer.dict "*) ;; *) fail "options give no -dict=pinfuzz_fuzzer.dict" ;; esac
case " $options " in *" -max_len="*) ;; *) fail "options give no -max_len" ;; esac

# run_fuzzer's command line, from $OUT, with base-runner's environment.
dict_entries=$(grep -cE '^[^#[:space:]].*=' "$OUT/pinfuzz_fuzzer.dict")
log=$tmp/run.log
export ASAN_OPTIONS="alloc_dealloc_mismatch=0:allocator_may_return_null=1:allocator_release_to_os_interval_ms=500:check_malloc_usable_size=0:detect_container_overflow=1:detect_odr_violation=0:detect_leaks=1:detect_stack_use_after_return=1:fast_unwind_on_fatal=0:handle_abort=1:handle_segv=1:handle_sigill=1:max_uar_stack_size_log=16:print_scariness=1:quarantine_size_mb=10:strict_memcmp=1:symbolize=1:use_sigaltstack=1:dedup_token_length=3"
export UBSAN_OPTIONS="print_stacktrace=1:print_summary=1:silence_unsigned_overflow=1:symbolize=1:dedup_token_length=3"
FUZZER_ARGS="-rss_limit_mb=2560 -timeout=25"
step "running: pinfuzz_fuzzer $FUZZER_ARGS -runs=2000 -seed=1 CORPUS $options"
set +e
(cd "$OUT" && unset OUT && ./pinfuzz_fuzzer $FUZZER_ARGS -runs=2000 -seed=1 \
  -artifact_prefix="$tmp/" "$corpus" $options </dev/null) >"$log" 2>&1
rc=$?
set -e
grep -vE '^#[0-9]+.*(NEW|REDUCE|pulse)|NEW_FUNC|# Uses:' "$log" | tail -n 30
[ "$rc" -eq 0 ] || fail "pinfuzz_fuzzer exited with $rc"
grep -q "^Dictionary: $dict_entries entries" "$log" ||
  fail "libFuzzer did not load the $dict_entries entries of pinfuzz_fuzzer.dict"
grep -q "max_len is not provided" "$log" && fail "the options file's -max_len did not reach libFuzzer"
grep -q "INFO: *$nseeds files found in $corpus" "$log" || fail "libFuzzer did not read the $nseeds seeds"
grep -qE "INITED .*corp: [1-9]" "$log" || fail "no seed was a scenario the target kept"
grep -q "^Done 2000 runs" "$log" || fail "the run did not finish its 2000 runs"

# One target per design, each reading its design from its name: every name
# `pinfuzz designs --targets` lists has its four files, and a short run of
# each starts under its own design. A correct design's must end clean; a
# catalog row's may stop at its bug, which must then be a buggy design's.
targets=$(cd "$WORK" && ASAN_OPTIONS=detect_leaks=0 "$WORK/pinfuzz-build/fuzz/pinfuzz" designs --targets)
[ "$(echo "$targets" | wc -w)" -ge 2 ] || fail "pinfuzz designs --targets listed: $targets"
catalog=$(cd "$WORK" && ASAN_OPTIONS=detect_leaks=0 "$WORK/pinfuzz-build/fuzz/pinfuzz" designs)
correct=$(awk '$2 == "correct" { print $1 }' <<<"$catalog" | tr '\n' ' ')
[ -n "$correct" ] || fail "pinfuzz designs lists no correct design"
for name in $targets; do
  for f in "$name" "${name}_seed_corpus.zip" "$name.dict" "$name.options"; do
    [ -s "$OUT/$f" ] || fail "\$OUT/$f is missing or empty"
  done
  grep -q "^dict = $name.dict$" "$OUT/$name.options" || fail "$name.options does not name $name.dict"
  set +e
  (cd "$OUT" && unset OUT && ./"$name" $FUZZER_ARGS -runs=300 -seed=1 -artifact_prefix="$tmp/$name-" \
    -dict="$name.dict" -max_len=4096 "$corpus" </dev/null) >"$log" 2>&1
  rc=$?
  set -e
  grep -q "^pinfuzz_fuzzer: design=.* (from its name)" "$log" || {
    tail -n 5 "$log"
    fail "$name did not take its design from its name"
  }
  design=$(sed -n 's/^pinfuzz_fuzzer: design=\([^ ]*\) (from its name).*/\1/p' "$log")
  # ... and runs under the memory model its catalog row needs, else sc.
  want=$(awk -v row="${name#pinfuzz_fuzzer_}" '$1 == row { getline; if (match($0, /under --memory=[a-z]+/)) print substr($0, RSTART + 15, RLENGTH - 15) }' <<<"$catalog")
  grep -q "^pinfuzz_fuzzer: design=.* memory=${want:-sc} " "$log" || {
    head -n 3 "$log"
    fail "$name does not run under memory=${want:-sc}"
  }
  if [ "$rc" -ne 0 ]; then
    grep -q "^pinfuzz: VIOLATION .* design=$design " "$log" || {
      tail -n 20 "$log"
      fail "$name exited with $rc without a violation of its design"
    }
    case " $correct " in *" ${name#pinfuzz_fuzzer_} "*) fail "$name: the correct design $design violated" ;; esac
  fi
  step "$name: design=$design, exit $rc"
done
cp "$OUT/pinfuzz_fuzzer" "$tmp/pinfuzz_fuzzer_no_such_design"
set +e
"$tmp/pinfuzz_fuzzer_no_such_design" -runs=1 >"$log" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "names no catalog row or correct design" "$log" ||
  fail "a target named after no design: exit $rc, $(head -c 300 "$log")"
step "ok"
