#!/usr/bin/env bash
# The C++ programs' command lines (bench/command_line.h): --help prints the usage and exits 0;
# an unknown flag, a bad value and an unknown positional argument are refused (exit != 0) with a
# message naming them. Usage: command_line_test.sh STRATA_BENCH TIER_BENCH CHECKPOINT_BENCH
# PRIORITIZED_REPLAY
set -uo pipefail
fail=0
expect() {  # want_rc_class (0 | nonzero), pattern, command...
  local want=$1 pattern=$2; shift 2
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $want == 0 && $rc -ne 0 ]] || [[ $want == nonzero && $rc -eq 0 ]]; then
    echo "FAIL: '$*' exited $rc (want $want)"; fail=1
  elif ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL: '$*' printed no '$pattern':"; head -3 <<<"$out"; fail=1
  fi
}
strata_bench=$1 tier_bench=$2 checkpoint_bench=$3 prioritized_replay=$4
for p in "$strata_bench" "$tier_bench" "$checkpoint_bench" "$prioritized_replay"; do
  name=$(basename "$p")
  expect 0 "usage: $name" "$p" --help
  expect nonzero "Unknown command line flag 'bogus'" "$p" --bogus
done
expect nonzero "unknown workload 'w9'" "$strata_bench" w9
expect nonzero "Illegal value 'abc' specified for flag 'seconds'" "$tier_bench" --seconds abc
expect nonzero "seconds must be a positive number" "$tier_bench" --toy --seconds 0 t1
expect nonzero "threads takes thread counts" "$tier_bench" --toy --threads 1,x t1
expect nonzero "Illegal value '-5' specified for flag 'items'" "$checkpoint_bench" --items -5
expect nonzero "checkpoints must be at least 1" "$checkpoint_bench" --checkpoints 0
expect nonzero "unexpected argument 'extra'" "$checkpoint_bench" extra
expect nonzero "items must be at least 1" "$prioritized_replay" --items 0
exit $fail
