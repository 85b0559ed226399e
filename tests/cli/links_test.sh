#!/usr/bin/env bash
# The tools that only serve models link libautorec_infer and autorec-data, never the trainer: none of their
# symbols is from namespace autorec::train. The trainer's own tool is the control (it must have such symbols,
# or the check would pass on a stripped or renamed build). Usage: links_test.sh BIN_DIR
set -euo pipefail
bin=$1
count() { nm -C "$bin/$1" | grep -c 'autorec::train::' || true; }
[ "$(count autorec-train)" -gt 0 ] || { echo "FAIL autorec-train has no autorec::train symbols: the check cannot see them"; exit 1; }
status=0
for t in autorec-verify autorec-inspect autorec-recommend autorec-split autorec-synth; do
  n=$(count "$t")
  if [ "$n" -ne 0 ]; then echo "FAIL $t links the trainer ($n autorec::train symbols)"; status=1; else echo "ok   $t: no trainer code"; fi
done
exit $status
