# Which flags each sanitizer build uses. Runtime options live beside this file
# (asan.options, ubsan.options, tsan.options, tsan.supp) and are exported to
# tests through PINFUZZ_SANITIZER_ENV.
set(_san_dir ${CMAKE_CURRENT_LIST_DIR})
set(PINFUZZ_SANITIZER_ENV "")
set(PINFUZZ_FUZZER_FLAGS "")

if(PINFUZZ_SANITIZER STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(PINFUZZ_SANITIZER_ENV
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
elseif(PINFUZZ_SANITIZER STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  set(PINFUZZ_SANITIZER_ENV
      "TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=${_san_dir}/tsan.supp")
elseif(PINFUZZ_SANITIZER STREQUAL "fuzzer")
  # Everything is instrumented for coverage; only the fuzz target links the
  # libFuzzer main (-fsanitize=fuzzer), the rest links fuzzer-no-link.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(PINFUZZ_FUZZER_FLAGS -fsanitize=fuzzer)
  set(PINFUZZ_SANITIZER_ENV
      "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
elseif(NOT PINFUZZ_SANITIZER STREQUAL "")
  message(FATAL_ERROR "Unknown PINFUZZ_SANITIZER='${PINFUZZ_SANITIZER}'. "
                      "Use one of: address, thread, fuzzer (or leave it empty).")
endif()
