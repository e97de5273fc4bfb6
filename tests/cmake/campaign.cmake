# `pinfuzz campaign` end to end (issue 6), through tests/cli/campaign_test.sh.
# `errors` and `workers` need no real fuzzer (workers runs a fake one that
# crashes or hangs on purpose), so every preset runs them; the cases that
# drive the real pinfuzz_fuzzer (libFuzzer) run in the fuzz preset.
set(_campaign_sh ${PROJECT_SOURCE_DIR}/tests/cli/campaign_test.sh)
set(_campaign_tests "")
foreach(case errors workers lock import)
  add_test(NAME pinfuzz_campaign_${case} COMMAND ${_campaign_sh} $<TARGET_FILE:pinfuzz> ${case})
  list(APPEND _campaign_tests pinfuzz_campaign_${case})
endforeach()
if(TARGET pinfuzz_fuzzer)
  foreach(case smoke kill-resume interrupt distill native-pct native-mix stop-at-first)
    add_test(NAME pinfuzz_campaign_${case}
             COMMAND ${_campaign_sh} $<TARGET_FILE:pinfuzz> ${case}
                     $<TARGET_FILE:pinfuzz_fuzzer>)
    list(APPEND _campaign_tests pinfuzz_campaign_${case})
  endforeach()
endif()
# The campaign runs two workers: give ctest's scheduler the cores it uses.
set_tests_properties(${_campaign_tests} PROPERTIES TIMEOUT 300 PROCESSORS 2)
