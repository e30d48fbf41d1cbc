#!/usr/bin/env bash
# Fuzzes monlight-core's HTTP response parser, metric batch encoder and
# error report encoder with libFuzzer, each for a bounded time (default
# 60 s; `fuzz/run.sh 20` for 20 s). Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`); CI installs both.
# A crash stops the run, leaves its input in fuzz/artifacts/<target>/ and
# exits non-zero; replay it with `cargo +nightly fuzz run <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
mkdir -p target
for target in http_response metric_batches error_report; do
  echo "==> fuzz $target for ${seconds}s"
  log="target/$target.log"
  if ! cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    exit 1
  fi
  grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$log" || tail -3 "$log"
done
