# Which flags each sanitizer build uses, and the runtime options its binaries
# carry. Runtime options and TSan suppressions are compiled into every
# executable (defaults.cc.in, tsan.supp), so that a sanitizer binary run by
# hand behaves exactly as it does under ctest; the environment can still add
# to them or override them (ASAN_OPTIONS=..., TSAN_OPTIONS=...).
set(_san_dir ${CMAKE_CURRENT_LIST_DIR})
set(PINFUZZ_FUZZER_FLAGS "")
set(PINFUZZ_ASAN_OPTIONS "")
set(PINFUZZ_UBSAN_OPTIONS "")
set(PINFUZZ_TSAN_OPTIONS "")

if(PINFUZZ_SANITIZER STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(PINFUZZ_ASAN_OPTIONS "detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0")
  set(PINFUZZ_UBSAN_OPTIONS "print_stacktrace=1:halt_on_error=1")
elseif(PINFUZZ_SANITIZER STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # exitcode=66 (TSan's default, spelled out): tests expect it for a report.
  set(PINFUZZ_TSAN_OPTIONS "halt_on_error=1:exitcode=66:second_deadlock_stack=1")
elseif(PINFUZZ_SANITIZER STREQUAL "fuzzer")
  # Everything outside coverage.ignore (below) is instrumented for coverage;
  # only the fuzz target links the libFuzzer main (-fsanitize=fuzzer), the
  # rest links fuzzer-no-link.
  # Coverage is edges (8-bit counters, PC table), not trace-cmp: its
  # callback on every comparison in the model took 40% of an execution
  # (perf), and only libFuzzer's byte-level mutations use what it records,
  # while pinfuzz_fuzzer mutates scenarios. Nor indirect-calls: libFuzzer
  # feeds caller-callee pairs only to -use_value_profile=1, which pinfuzz
  # does not use, and the callback on every call through a pointer (the
  # scheduler's observer and strategy, designs' hooks) took 16% of an
  # execution (perf). The campaign preset (CMakePresets.json) uses the same
  # coverage flags.
  add_compile_options(-fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp,indirect-calls
                      -fsanitize=address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(PINFUZZ_FUZZER_FLAGS -fsanitize=fuzzer)
  set(PINFUZZ_ASAN_OPTIONS "detect_leaks=1:abort_on_error=0")
  set(PINFUZZ_UBSAN_OPTIONS "print_stacktrace=1:halt_on_error=1")
elseif(NOT PINFUZZ_SANITIZER STREQUAL "")
  message(FATAL_ERROR "Unknown PINFUZZ_SANITIZER='${PINFUZZ_SANITIZER}'. "
                      "Use one of: address, thread, fuzzer (or leave it empty).")
endif()

# Edge coverage where it says what the model did: sanitizers/coverage.ignore
# leaves the scheduler, the sync hooks and code the target never runs
# without counters (a campaign worker 1.2x faster, docs/search.md). Every
# libFuzzer build: the fuzz and campaign presets and OSS-Fuzz's, whose
# $CXXFLAGS carry -fsanitize=fuzzer-no-link. The list's hash goes on every
# compile line, so editing it rebuilds what it covers.
if(PINFUZZ_SANITIZER STREQUAL "fuzzer" OR CMAKE_CXX_FLAGS MATCHES "-fsanitize=fuzzer-no-link")
  set(_cov_ignore ${_san_dir}/coverage.ignore)
  file(SHA1 ${_cov_ignore} _cov_ignore_sha1)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_cov_ignore})
  add_compile_options(-fsanitize-coverage-ignorelist=${_cov_ignore})
  add_compile_definitions(PINFUZZ_COVERAGE_IGNORE_SHA1=${_cov_ignore_sha1})
endif()

file(READ ${_san_dir}/tsan.supp PINFUZZ_TSAN_SUPPRESSIONS)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_san_dir}/tsan.supp)
set(PINFUZZ_SANITIZER_DEFAULTS ${CMAKE_BINARY_DIR}/sanitizer_defaults.cc)
configure_file(${_san_dir}/defaults.cc.in ${PINFUZZ_SANITIZER_DEFAULTS} @ONLY)

# Every executable calls this: in a sanitizer build it gets the built-in
# options above; elsewhere it is a no-op.
function(pinfuzz_sanitizer_defaults target)
  if(PINFUZZ_SANITIZER)
    target_sources(${target} PRIVATE ${PINFUZZ_SANITIZER_DEFAULTS})
  endif()
endfunction()
