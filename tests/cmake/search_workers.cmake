# pinfuzz_fuzzer's two ways of running more than one schedule per unit of
# libFuzzer's work (fuzz preset only): --amplify and the native --search.
if(TARGET pinfuzz_fuzzer)
  # --amplify: a violation under a derived schedule is saved with that
  # schedule, and `pinfuzz repro` replays the saved file as it is (the
  # input's own schedule runs clean, so the original would not).
  add_test(NAME pinfuzz_fuzzer_amplify_saves_derived
           COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:pinfuzz> encode -o $d/in \
${CMAKE_CURRENT_SOURCE_DIR}/data/amplify-no-gup-fast-recheck.txt && \
{ $<TARGET_FILE:pinfuzz> repro --strategy=any $d/in >/dev/null; [ $? -eq 0 ]; } && \
{ $<TARGET_FILE:pinfuzz_fuzzer> --strategy=any --amplify=16 -artifact_prefix=$d/ $d/in >$d/out 2>&1; true; } && \
f=$(sed -n 's/^pinfuzz: found under a schedule derived by --amplify=16; saved with it as \\([^ ]*\\) .*/\\1/p' $d/out) && \
[ -n \"$f\" ] && { $<TARGET_FILE:pinfuzz> repro --strategy=any $f >/dev/null; [ $? -eq 1 ]; }; \
rc=$?; cat $d/out; rm -rf $d; exit $rc")
  # --search: the in-process search in libFuzzer's clothes finds a catalog
  # row's bug, saves a crash file that replays, and stays clean on a correct
  # design.
  add_test(NAME pinfuzz_fuzzer_native_search_finds
           COMMAND sh -c "d=$(mktemp -d) && \
{ $<TARGET_FILE:pinfuzz_fuzzer> --design=folio_pincount,no_gup_fast_recheck=on --search=random \
-seed=1 -max_total_time=60 -artifact_prefix=$d/ >$d/out 2>&1; [ $? -eq 1 ]; } && \
f=$(sed -n 's/^pinfuzz: replay: pinfuzz repro .* \\([^ ]*\\)$/\\1/p' $d/out) && [ -n \"$f\" ] && \
{ $<TARGET_FILE:pinfuzz> repro --design=folio_pincount,no_gup_fast_recheck=on --strategy=random $f \
>/dev/null; [ $? -eq 1 ]; }; rc=$?; cat $d/out; rm -rf $d; exit $rc")
  add_test(NAME pinfuzz_fuzzer_native_search_clean
           COMMAND sh -c "d=$(mktemp -d) && $<TARGET_FILE:pinfuzz_fuzzer> --design=folio_pincount \
--search=pct -seed=1 -runs=20000 -artifact_prefix=$d/ $d '${PINFUZZ_SEED_CORPUS}' >$d/out 2>&1; \
rc=$?; cat $d/out; grep -q 'corpus=[1-9][0-9]* inputs' $d/out || rc=3; rm -rf $d; exit $rc")
  set_tests_properties(pinfuzz_fuzzer_native_search_clean PROPERTIES FIXTURES_REQUIRED seed_corpus)
  set_tests_properties(pinfuzz_fuzzer_amplify_saves_derived pinfuzz_fuzzer_native_search_finds
                       pinfuzz_fuzzer_native_search_clean PROPERTIES TIMEOUT 300)
endif()
