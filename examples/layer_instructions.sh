#!/usr/bin/env bash
# What each axum layer adds to a request, counted by valgrind (repeatable,
# unlike wall time on a shared machine); per request = (count at the larger
# number of requests - count at 1,000) / the difference.
#
# 1. Instructions (callgrind), all threads.
# 2. Cache lines fetched from beyond L2 with cold caches (cachegrind, this
#    machine's caches: 32 KiB L1i and L1d, 512 KiB L2 as the last level;
#    1 MiB written between two requests). On a server the kernel's TCP work
#    between two requests leaves the layer's code and data cold, and on this
#    machine the cost of a layer follows these misses more than its
#    instructions.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --profile bench -p monlight-examples --example layer_instructions
bin=target/release/examples/layer_instructions
variants=(bare noop floor floor-labels metrics errors setup prometheus sentry sentry-tx otel)

instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-8s %12s %10s\n' variant instr/request vs-bare
bare=0
for variant in "${variants[@]}"; do
  low=$(instructions "$variant" 1000)
  high=$(instructions "$variant" 11000)
  per=$(( (high - low) / 10000 ))
  [ "$variant" = bare ] && bare=$per
  printf '%-8s %12d %9d%%\n' "$variant" "$per" $(( 100 * per / bare ))
done

# "<code misses> <data misses>" beyond the last level (LLi, LLd).
misses() {
  valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file=/dev/null \
    --I1=32768,8,64 --D1=32768,8,64 --LL=524288,8,64 \
    "$bin" "$1" "$2" $((1 << 20)) 2>&1 |
    sed -n 's/.*LL[id] misses: *\([0-9,]*\).*/\1/p' | tr -d , | tr '\n' ' '
}
echo
printf '%-8s %12s %12s %12s\n' variant code-lines data-lines over-bare
bare=0
for variant in "${variants[@]}"; do
  read -r code_low data_low <<<"$(misses "$variant" 1000)"
  read -r code_high data_high <<<"$(misses "$variant" 3000)"
  code=$(( (code_high - code_low) / 2000 ))
  data=$(( (data_high - data_low) / 2000 ))
  [ "$variant" = bare ] && bare=$(( code + data ))
  printf '%-8s %12d %12d %12d\n' "$variant" "$code" "$data" $(( code + data - bare ))
done
