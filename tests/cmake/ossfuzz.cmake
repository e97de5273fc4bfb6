# The OSS-Fuzz / ClusterFuzzLite build (.clusterfuzzlite/build.sh), run the
# way OSS-Fuzz's builder runs it (tests/cli/ossfuzz_build.sh: its environment,
# OUT in a temporary directory, libc++), and its outputs checked and run as
# base-runner would. Once, in the fuzz preset: it is a separate build of the
# fuzzer, independent of the preset's own flags.
if(PINFUZZ_SANITIZER STREQUAL "fuzzer")
  add_test(NAME pinfuzz_ossfuzz_build
           COMMAND ${PROJECT_SOURCE_DIR}/tests/cli/ossfuzz_build.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(pinfuzz_ossfuzz_build PROPERTIES TIMEOUT 1200 PROCESSORS 2)
endif()
