#!/usr/bin/env bash
# monlight-core's checks on an emulated Cortex-M4F (QEMU mps2-an386,
# semihosting), then monlight-embassy's crash slot across real resets
# (a panic, then a hard fault).
# Prints "N passed, N failed" and "N failed"; exits non-zero on a failure.
#
# QEMU comes from Debian's qemu-system-arm package, fetched with
# `apt-get download` and unpacked into target/qemu (installing it with apt
# would replace this machine's newer qemu-utils). Once fetched, it is reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD/target/qemu"
qemu="$root/usr/bin/qemu-system-arm"
libs="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"

if [ ! -x "$qemu" ]; then
  debs="$PWD/target/qemu-debs"
  mkdir -p "$debs" "$root"
  # qemu-system-arm and whatever of its dependencies this machine lacks.
  wanted=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances --no-pre-depends qemu-system-arm |
    grep '^[a-z0-9]' | sort -u)
  missing=""
  for package in $wanted; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
  done
  # shellcheck disable=SC2086 # one word per package
  (cd "$debs" && { apt-get download $missing 2>/dev/null ||
    { apt-get update -qq && apt-get download $missing; }; })
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
fi
if LD_LIBRARY_PATH="$libs" ldd "$qemu" | grep 'not found'; then
  echo "qemu-system-arm is missing the libraries above" >&2
  exit 1
fi

cargo build -p monlight-cortex-m4-tests --target thumbv7em-none-eabihf
for program in monlight-cortex-m4-tests crash_resets; do
  LD_LIBRARY_PATH="$libs" timeout 300 "$qemu" -machine mps2-an386 -cpu cortex-m4 -nographic \
    -semihosting-config enable=on,target=native \
    -kernel "target/thumbv7em-none-eabihf/debug/$program"
done
