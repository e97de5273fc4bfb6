#!/bin/bash
# A stand-in for pinfuzz_fuzzer that misbehaves on purpose, for the campaign
# tests: PINFUZZ_FAKE_MODE=crash dies like a sanitizer report (a bug in the
# tool, not a violation), =hang goes silent forever.
echo "INFO: fake fuzzer ($PINFUZZ_FAKE_MODE): $*"
echo "#1	INITED cov: 1 ft: 1 corp: 1/1b exec/s: 0 rss: 1Mb"
case ${PINFUZZ_FAKE_MODE:-} in
crash) echo "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x1"; exit 1 ;;
hang) exec sleep 1000 ;;
*) exit 0 ;;
esac
