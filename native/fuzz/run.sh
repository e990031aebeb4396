#!/usr/bin/env bash
# Fuzzes the polygon core: builds native/fuzz/driver.cc with the core sources under
# AddressSanitizer + UndefinedBehaviorSanitizer (any report aborts the run) and feeds it random
# masks, probability maps and label maps for a bounded time.
#
#   SIGHTLINE_FUZZ_SECONDS  how long to run (default 60)
#   SIGHTLINE_FUZZ_SEED     PRNG seed (default: random; printed, so a failure can be replayed)
#   CXX                     compiler (default g++, or clang++ when g++ is missing)
#
# Exits non-zero on any finding: a sanitizer report, a violated invariant or a crash.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
native="$(dirname "$here")"
seconds="${SIGHTLINE_FUZZ_SECONDS:-60}"
seed="${SIGHTLINE_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
cxx="${CXX:-$(command -v g++ || command -v clang++ || true)}"
if [[ -z "$cxx" ]]; then
  echo "polygon fuzz: no C++ compiler found (set CXX)" >&2
  exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/sightline-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

sources=(
  "$here/driver.cc"
  "$native/border_tracer.cc"
  "$native/contour_extraction.cc"
  "$native/polygon_core.cc"
  "$native/region_assembly.cc"
  "$native/ring_offset.cc"
  "$native/ring_simplify.cc"
  "$native/run_components.cc"
)
echo "polygon fuzz: building with $cxx -fsanitize=address,undefined"
"$cxx" -std=c++17 -O1 -g -fno-omit-frame-pointer -ffp-contract=off \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -I"$native" "${sources[@]}" -o "$work/polygon_fuzz"

echo "polygon fuzz: running for ${seconds}s, seed $seed"
status=0
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87" \
  "$work/polygon_fuzz" --seconds "$seconds" --seed "$seed" || status=$?

case "$status" in
  0) ;;
  1) echo "polygon fuzz: invariant findings above (replay with SIGHTLINE_FUZZ_SEED=$seed)" >&2 ;;
  86) echo "polygon fuzz: 1 finding — AddressSanitizer report above (replay with SIGHTLINE_FUZZ_SEED=$seed)" >&2 ;;
  87) echo "polygon fuzz: 1 finding — UndefinedBehaviorSanitizer report above (replay with SIGHTLINE_FUZZ_SEED=$seed)" >&2 ;;
  *) echo "polygon fuzz: 1 finding — the driver died with status $status (replay with SIGHTLINE_FUZZ_SEED=$seed)" >&2 ;;
esac
exit "$status"
