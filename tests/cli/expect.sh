#!/bin/bash
# expect.sh EXIT REGEX -- COMMAND...: runs COMMAND, passes if it exits with
# EXIT and its output (stdout and stderr) matches the extended REGEX.
# Prints the output either way, so a failing ctest shows what happened.
set -u
want_exit=$1 regex=$2
shift 2
[ "${1:-}" = "--" ] && shift
out=$("$@" 2>&1)
got_exit=$?
printf '%s\n' "$out"
if [ "$got_exit" -ne "$want_exit" ]; then
  echo "expect.sh: exit status $got_exit, wanted $want_exit: $*" >&2
  exit 1
fi
if ! grep -Eq -- "$regex" <<<"$out"; then
  echo "expect.sh: output does not match /$regex/: $*" >&2
  exit 1
fi
exit 0
