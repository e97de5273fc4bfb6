# `pinfuzz stress`: the model on real threads (issue 7).
#
# Every preset: a short clean run of generated scenarios on each correct
# design, and the CLI's bad-input paths. Under the tsan preset the same runs
# must be report-free (the sanitizer exits 66 on a report), and the
# weakened-ordering knob (mmap_lock_no_acquire, e1b98fa31664) must give a
# ThreadSanitizer report on the munmap-vs-GUP scenario, while the correct
# design on the same scenario gives none. Both with --chaos: without it, on
# one core (ctest -j2 on two), the threads of a round ran in creation order,
# munmap never went first, and the report came in one run of three.
set(_stress_expect ${PROJECT_SOURCE_DIR}/tests/cli/expect.sh)
set(_stress_scn ${PROJECT_SOURCE_DIR}/tests/data/stress-munmap-vs-gup.txt)
set(_stress_tests "")

if(PINFUZZ_SANITIZER STREQUAL "thread")
  set(_stress_seconds 30s)
else()
  set(_stress_seconds 5s)
endif()
foreach(design ${PINFUZZ_CORRECT_DESIGNS})
  add_test(NAME pinfuzz_stress_clean_${design}
           COMMAND ${_stress_expect} 0 "executions/s.*: clean" --
                   $<TARGET_FILE:pinfuzz> stress --design ${design} --chaos
                   --duration ${_stress_seconds} -o ${CMAKE_CURRENT_BINARY_DIR})
  list(APPEND _stress_tests pinfuzz_stress_clean_${design})
endforeach()

# A buggy design is caught on real threads too (by the oracles, not TSan):
# the seed's crash, get_only against writeback, from generated scenarios.
add_test(NAME pinfuzz_stress_finds_get_only
         COMMAND ${_stress_expect} 1 "VIOLATION" --
                 $<TARGET_FILE:pinfuzz> stress --design get_only --duration 60s -q
                 -o ${CMAKE_CURRENT_BINARY_DIR})
add_test(NAME pinfuzz_stress_bad_design
         COMMAND ${_stress_expect} 2 "unknown design" --
                 $<TARGET_FILE:pinfuzz> stress --design no_such_design --duration 1s)
list(APPEND _stress_tests pinfuzz_stress_finds_get_only pinfuzz_stress_bad_design)

if(PINFUZZ_SANITIZER STREQUAL "thread")
  add_test(NAME pinfuzz_stress_tsan_weak_order_reported
           COMMAND ${_stress_expect} 66 "ThreadSanitizer: data race" --
                   $<TARGET_FILE:pinfuzz> stress --design folio_pincount,mmap_lock_no_acquire
                   --chaos --duration 30s ${_stress_scn})
  add_test(NAME pinfuzz_stress_tsan_correct_order_clean
           COMMAND ${_stress_expect} 0 "executions/s.*: clean" --
                   $<TARGET_FILE:pinfuzz> stress --design folio_pincount
                   --chaos --duration 10s ${_stress_scn})
  list(APPEND _stress_tests pinfuzz_stress_tsan_weak_order_reported
       pinfuzz_stress_tsan_correct_order_clean)
endif()
set_tests_properties(${_stress_tests} PROPERTIES TIMEOUT 300)
