# `pinfuzz verify` (docs/verify.md): bounded exhaustive checking.
#
# Every seed scenario is clean under every correct design with up to two
# preemptions: one test per seed and design, so that ctest -j spreads them
# and a failure names its seed. In the dev build (RelWithDebInfo) the group
# takes ~15 s with -j2 (~30 s of CPU); two seeds with three threads of ~300
# steps each are most of it: three_threads (459045 schedules, ~8 s per
# design) and sync_many (287863 schedules, ~5 s). The sanitizer builds run
# the model ~10x (ASan) and ~36x (TSan, every fiber switch announced)
# slower: those two would take ~5 min each under TSan, so there, and only
# there, they run at K=1 (tests named _k1); every other seed stays at K=2.
set(_verify_expect ${PROJECT_SOURCE_DIR}/tests/cli/expect.sh)
set(_verify_tests "")
set(_verify_heavy three_threads sync_many)
file(GLOB _verify_seeds CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/corpus/seeds/*.txt)
foreach(seed ${_verify_seeds})
  get_filename_component(_name ${seed} NAME_WE)
  set(_k 2)
  set(_suffix "")
  if(PINFUZZ_SANITIZER AND _name IN_LIST _verify_heavy)
    set(_k 1)
    set(_suffix _k1)
  endif()
  foreach(design ${PINFUZZ_CORRECT_DESIGNS})
    set(_test pinfuzz_verify_seed_${_name}_${design}${_suffix})
    add_test(NAME ${_test}
             COMMAND ${_verify_expect} 0 "^no violation with <= ${_k} preemptions?" --
                     $<TARGET_FILE:pinfuzz> verify ${seed} --design ${design} --preemptions ${_k})
    list(APPEND _verify_tests ${_test})
  endforeach()
endforeach()

# Every catalog row's regression scenario: iterative bounding reaches the
# row's expected violation (--expect: other kinds are passed, as
# devmap_base_one meets use_after_free first) at the smallest bound that has
# it, which is at most what its minimized schedule used. All 22 take ~3 s
# in the dev build; the largest is no_gup_fast_pmd_recheck, 1417 schedules
# at bound 2.
file(GLOB _verify_regressions CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/corpus/regressions/*/*.txt)
foreach(entry ${_verify_regressions})
  # A row that only a weak memory model shows (memory tso|arm) is beyond
  # verify, which explores sc schedules (docs/verify.md); find covers it.
  file(STRINGS ${entry} _memory REGEX "^memory (tso|arm)")
  if(_memory)
    continue()
  endif()
  get_filename_component(_row ${entry} DIRECTORY)
  get_filename_component(_row ${_row} NAME)
  get_filename_component(_kind ${entry} NAME_WE)
  string(REGEX REPLACE "-[0-9a-f]+$" "" _kind ${_kind})
  set(_test pinfuzz_verify_regression_${_row})
  add_test(NAME ${_test}
           COMMAND ${_verify_expect} 1 "^found at bound [0-3] after" --
                   $<TARGET_FILE:pinfuzz> verify ${entry} -k 3 --expect ${_kind} -q
                   --max-schedules 200000)
  list(APPEND _verify_tests ${_test})
endforeach()

# --expect passes other kinds and says so: devmap_base_one's scenario shows
# use_after_free at bound 1 before its page_free_count at bound 2.
file(GLOB _verify_devmap ${PROJECT_SOURCE_DIR}/corpus/regressions/devmap_base_one/*.txt)
add_test(NAME pinfuzz_verify_expect_passes_others
         COMMAND ${_verify_expect} 1
                 "other violations \\(not page_free_count, passed by --expect\\): use_after_free" --
                 $<TARGET_FILE:pinfuzz> verify ${_verify_devmap} -k 2 --expect page_free_count -q)
list(APPEND _verify_tests pinfuzz_verify_expect_passes_others)

# A catalog bug: found at the bound its regression schedule needs (one
# preemption), written out with -o, and `pinfuzz repro` replays the written
# scenario to the same violation line.
set(_verify_bug ${PROJECT_SOURCE_DIR}/corpus/regressions/no_gup_fast_recheck/pinned_page_replaced-e9879272.txt)
add_test(NAME pinfuzz_verify_finds_and_replays
         COMMAND sh -c "d=$(mktemp -d) && p=$<TARGET_FILE:pinfuzz> && \
$p verify ${_verify_bug} -k 2 -q -o $d/cex.txt >$d/out; rc=$?; cat $d/out; \
grep -q '^found at bound 1 .* 1 preemption$' $d/out && grep -q '^schedule input ' $d/cex.txt && \
v=$(grep '^pinfuzz: VIOLATION' $d/out) && r=$($p repro -q $d/cex.txt | grep '^pinfuzz: VIOLATION'); \
ok=$?; echo \"verify: $v\"; echo \"repro:  $r\"; rm -rf $d; \
[ $rc -eq 1 ] && [ $ok -eq 0 ] && [ -n \"$v\" ] && [ \"$v\" = \"$r\" ]")
# With fewer preemptions than it needs: clean.
add_test(NAME pinfuzz_verify_bound_too_small
         COMMAND ${_verify_expect} 0 "^no violation with <= 0 preemptions" --
                 $<TARGET_FILE:pinfuzz> verify ${_verify_bug} -k 0)
# Reduced and unreduced agree, and the factor is printed.
add_test(NAME pinfuzz_verify_compare
         COMMAND ${_verify_expect} 0 "^reduction factor: [0-9.]+ " --
                 $<TARGET_FILE:pinfuzz> verify ${PROJECT_SOURCE_DIR}/corpus/seeds/truncate_vs_dirty.txt
                 -k 2 --compare)
# The budget: exit 3, and the bound it stopped in.
add_test(NAME pinfuzz_verify_budget
         COMMAND ${_verify_expect} 3 "^budget exhausted at bound [0-9]+ after 50 executions" --
                 $<TARGET_FILE:pinfuzz> verify ${PROJECT_SOURCE_DIR}/corpus/seeds/three_threads.txt
                 -k 2 --max-schedules 50)
# Bad input: exit 2, naming the file.
add_test(NAME pinfuzz_verify_bad_input
         COMMAND ${_verify_expect} 2 "data/bad-version: format version 31; this build reads versions 1 to" --
                 $<TARGET_FILE:pinfuzz> verify ${PROJECT_SOURCE_DIR}/tests/data/bad-version -k 1)
list(APPEND _verify_tests pinfuzz_verify_finds_and_replays pinfuzz_verify_bound_too_small
     pinfuzz_verify_compare pinfuzz_verify_budget pinfuzz_verify_bad_input)

set_tests_properties(${_verify_tests} PROPERTIES TIMEOUT 300)
