#!/usr/bin/env bash
# What monlight adds to the firmware example, in release (opt-level "z", LTO):
# builds it eight ways and prints section sizes and the differences.
#   baseline      the same program pushing its reading over TCP by hand
#   monlight      + monlight-core and monlight-embassy (metrics, errors)
#   crash-report  + panics and hard faults persisted across reset, reported
#                 after boot
#   crash-lite    instead of crash-report: panics recorded as such, hard
#                 faults by PC and LR, nothing formatted
#   boot-reason   + boots counted by reset reason (RCC_CSR, the crash slot)
#   persist-reports + error reports kept across a reset; the example's default
#   heartbeat     monlight + hourly health gauges (without crash reports)
#   tls           monlight + TLS 1.3 with embedded-tls (without crash reports)
# Needs: rustup target add thumbv7em-none-eabihf; cargo install cargo-binutils;
#        rustup component add llvm-tools
set -euo pipefail
cd "$(dirname "$0")/../.."
target=thumbv7em-none-eabihf
elf=target/$target/release/monlight-firmware-example

sizes() { # prints: text rodata data bss uninit
  cargo build -q --release -p monlight-firmware-example --target $target "$@"
  rust-size -A "$elf" | awk '
    $1 == ".text" {t=$2} $1 == ".rodata" {r=$2} $1 == ".data" {d=$2}
    $1 == ".bss" {b=$2} $1 == ".uninit" {u=$2}
    END {printf "%d %d %d %d %d\n", t, r, d, b, u+0}'
}

read -r bt br bd bb bu < <(sizes --no-default-features)
read -r mt mr md mb mu < <(sizes --no-default-features --features monlight)
read -r ct cr cd cb cu < <(sizes --no-default-features --features crash-report)
read -r lt lr ld lb lu < <(sizes --no-default-features --features crash-lite)
read -r rt rr rd rb ru < <(sizes --no-default-features --features crash-report,boot-reason)
read -r pt pr pd pb pu < <(sizes)
read -r ht hr hd hb hu < <(sizes --no-default-features --features heartbeat)
read -r tt tr td tb tu < <(sizes --no-default-features --features tls)

printf '%-28s %8s %8s %8s %8s\n' build .text .rodata .bss+data .uninit
printf '%-28s %8d %8d %8d %8d\n' baseline "$bt" "$br" $((bb + bd)) "$bu"
printf '%-28s %8d %8d %8d %8d\n' "+ monlight" "$mt" "$mr" $((mb + md)) "$mu"
printf '%-28s %8d %8d %8d %8d\n' "+ crash-report" "$ct" "$cr" $((cb + cd)) "$cu"
printf '%-28s %8d %8d %8d %8d\n' "+ crash-lite (instead)" "$lt" "$lr" $((lb + ld)) "$lu"
printf '%-28s %8d %8d %8d %8d\n' "+ boot-reason" "$rt" "$rr" $((rb + rd)) "$ru"
printf '%-28s %8d %8d %8d %8d\n' "+ persist-reports (default)" "$pt" "$pr" $((pb + pd)) "$pu"
printf '%-28s %8d %8d %8d %8d\n' "monlight's share" $((mt - bt)) $((mr - br)) $((mb + md - bb - bd)) $((mu - bu))
printf '%-28s %8d %8d %8d %8d\n' "crash-report's share" $((ct - mt)) $((cr - mr)) $((cb + cd - mb - md)) $((cu - mu))
printf '%-28s %8d %8d %8d %8d\n' "crash-lite's share" $((lt - mt)) $((lr - mr)) $((lb + ld - mb - md)) $((lu - mu))
printf '%-28s %8d %8d %8d %8d\n' "boot-reason's share" $((rt - ct)) $((rr - cr)) $((rb + rd - cb - cd)) $((ru - cu))
printf '%-28s %8d %8d %8d %8d\n' "persist-reports' share" $((pt - rt)) $((pr - rr)) $((pb + pd - rb - rd)) $((pu - ru))
printf '%-28s %8d %8d %8d %8d\n' "heartbeat's share" $((ht - mt)) $((hr - mr)) $((hb + hd - mb - md)) $((hu - mu))
printf '%-28s %8d %8d %8d %8d\n' "tls' share" $((tt - mt)) $((tr - mr)) $((tb + td - mb - md)) $((tu - mu))
