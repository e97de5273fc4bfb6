# docs/designs.md embeds what `pinfuzz repro` prints for every entry of
# corpus/regressions/. This test fails, with a diff, when the doc has drifted
# from the corpus or the model; regenerate the blocks with
#   python3 scripts/update-designs-doc.py build/dev/fuzz/pinfuzz
# (then reread the hand-written walkthroughs, which name steps). Not under the
# sanitizers: the text is the same there, only slower to produce.
if(NOT PINFUZZ_SANITIZER)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME pinfuzz_designs_doc
             COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/update-designs-doc.py
                     --check $<TARGET_FILE:pinfuzz>
             WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  else()
    # Fail loudly rather than skip: a skipped drift check is a silent one.
    add_test(NAME pinfuzz_designs_doc
             COMMAND sh -c "echo 'pinfuzz_designs_doc: python3 not found (apt-get install python3)' >&2; exit 1")
  endif()
  set_tests_properties(pinfuzz_designs_doc PROPERTIES TIMEOUT 120)
endif()
