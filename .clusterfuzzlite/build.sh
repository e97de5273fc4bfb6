#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build of pinfuzz_fuzzer. The builder (the
# `compile` script of gcr.io/oss-fuzz-base/base-builder) runs this as
# `bash -eux $SRC/build.sh` from $SRC/pinfuzz, with CC, CXX, CFLAGS, CXXFLAGS
# (its sanitizer and coverage flags, and -stdlib=libc++), LIB_FUZZING_ENGINE,
# SANITIZER, FUZZING_ENGINE, ARCHITECTURE, SRC, WORK and OUT set.
# It leaves in $OUT, for pinfuzz_fuzzer and for every name `pinfuzz designs
# --targets` lists (pinfuzz_fuzzer_<row> per catalog row, _<design> per
# correct design: a copy of the target that reads its design from its name):
#   NAME                   the target, linked with $LIB_FUZZING_ENGINE
#   NAME_seed_corpus.zip   corpus/seeds/*.txt in byte form, one entry each
#   NAME.dict              corpus/pinfuzz.dict
#   NAME.options           .clusterfuzzlite/pinfuzz_fuzzer.options (its dict
#                          line names NAME.dict)
# Everything else goes to $WORK; nothing is written into the source tree.
# tests/cli/ossfuzz_build.sh runs this script the same way, outside Docker.

src=$SRC/pinfuzz
build=$WORK/pinfuzz-build

# What OSS-Fuzz's libc++ needs from a distribution's packages: Boost.Context
# up to at least 1.74 calls std::result_of, which libc++ drops in C++20
# unless asked to keep it.
libcxx_compat="-D_LIBCPP_ENABLE_CXX20_REMOVED_TYPE_TRAITS"

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

# The project is C++ only (project(... LANGUAGES CXX)), so $CC and $CFLAGS
# have nothing to compile. No CMAKE_BUILD_TYPE: $CXXFLAGS carry the
# optimisation level, and PINFUZZ_SANITIZER stays empty so that the
# sanitizer presets add no flags of their own. Fuzzers must not need the
# build image's shared libraries at run time: Boost.Context links
# statically, fmt is used header-only (which also keeps libstdc++'s
# std::string out of a libc++ build).
cmake -S "$src" -B "$build" "${generator[@]}" \
  -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_CXX_FLAGS="$CXXFLAGS $libcxx_compat" \
  -DPINFUZZ_FUZZING_ENGINE="$LIB_FUZZING_ENGINE" \
  -DPINFUZZ_BUILD_TESTS=OFF \
  -DPINFUZZ_BUILD_BENCH=OFF \
  -DPINFUZZ_FMT_HEADER_ONLY=ON \
  -DBoost_USE_STATIC_LIBS=ON
# pinfuzz itself only to encode the seeds below.
cmake --build "$build" --target pinfuzz_fuzzer pinfuzz -j"$(nproc)"

cp "$build/fuzz/targets/pinfuzz_fuzzer" "$OUT/"
cp "$src/corpus/pinfuzz.dict" "$OUT/pinfuzz_fuzzer.dict"
cp "$src/.clusterfuzzlite/pinfuzz_fuzzer.options" "$OUT/"

# The seed corpus: the text scenarios in byte form, one file each, named
# after the scenario. pinfuzz is built with the sanitizer flags too: no leak
# checking for a build step (LeakSanitizer needs ptrace, which a container
# may not allow), and run from $WORK so that nothing lands in the sources.
seeds=$WORK/pinfuzz-seeds
rm -rf "$seeds" && mkdir -p "$seeds"
(cd "$WORK" && ASAN_OPTIONS=detect_leaks=0 "$build/fuzz/pinfuzz" encode "$src"/corpus/seeds/*.txt -o "$seeds")
rm -f "$OUT/pinfuzz_fuzzer_seed_corpus.zip"
zip -j -q "$OUT/pinfuzz_fuzzer_seed_corpus.zip" "$seeds"/*

# One target per design: the same binary under each name (a hard link where
# $OUT allows one, else a copy), with its own seed corpus, dictionary and
# options, as OSS-Fuzz pairs them by name.
targets=$(cd "$WORK" && ASAN_OPTIONS=detect_leaks=0 "$build/fuzz/pinfuzz" designs --targets)
for name in $targets; do
  ln -f "$OUT/pinfuzz_fuzzer" "$OUT/$name" 2>/dev/null || cp "$OUT/pinfuzz_fuzzer" "$OUT/$name"
  cp "$OUT/pinfuzz_fuzzer_seed_corpus.zip" "$OUT/${name}_seed_corpus.zip"
  cp "$OUT/pinfuzz_fuzzer.dict" "$OUT/$name.dict"
  sed "s/^dict = pinfuzz_fuzzer.dict$/dict = $name.dict/" "$OUT/pinfuzz_fuzzer.options" >"$OUT/$name.options"
done
