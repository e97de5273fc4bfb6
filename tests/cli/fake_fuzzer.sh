#!/bin/bash
# A stand-in for pinfuzz_fuzzer that misbehaves on purpose, for the campaign
# tests: PINFUZZ_FAKE_MODE=crash dies like a sanitizer report (a bug in the
# tool, not a violation), =hang goes silent forever, =limitation meets a
# known kernel limitation (as pinfuzz_fuzzer prints it) and ends cleanly.
echo "INFO: fake fuzzer ($PINFUZZ_FAKE_MODE): $*"
echo "#1	INITED cov: 1 ft: 1 corp: 1/1b exec/s: 0 rss: 1Mb"
case ${PINFUZZ_FAKE_MODE:-} in
crash) echo "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1"; exit 1 ;;
hang) exec sleep 1000 ;;
limitation)
  echo "pinfuzz: KNOWN KERNEL LIMITATION teardown_hang design=folio_pincount in memunmap_pages(): memunmap_pages() of pagemap 0 waits forever for pfn 0 (still mapped) (see 249881232e14)"
  echo "pinfuzz:   pinfuzz-scenario 1"
  exit 0 ;;
*) exit 0 ;;
esac
