#!/usr/bin/env bash
# Instructions per request added by each axum layer, counted by callgrind:
# (count at 11,000 requests - count at 1,000) / 10,000, per variant.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --profile bench -p monlight-examples --example layer_instructions
bin=target/release/examples/layer_instructions
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-8s %12s %10s\n' variant instr/request vs-bare
bare=0
for variant in bare noop floor metrics errors setup; do
  low=$(count "$variant" 1000)
  high=$(count "$variant" 11000)
  per=$(( (high - low) / 10000 ))
  [ "$variant" = bare ] && bare=$per
  printf '%-8s %12d %9d%%\n' "$variant" "$per" $(( 100 * per / bare ))
done
