#!/usr/bin/env bash
# Run each fuzz target for a while and report executions and crashes.
#
#   host/fuzz/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 600 (10 minutes); TARGET defaults to all of
# them (manifest config scrubber extjson store_filter celery_events routes).
# Needs cargo-fuzz (`cargo install cargo-fuzz`). libFuzzer wants nightly
# flags; on the stable toolchain RUSTC_BOOTSTRAP=1 allows them.
#
# The targets check only safe Rust, so they build without a sanitizer
# (`--sanitizer none`, much faster): what they hunt is panics, wrong answers
# (each target asserts properties, see host/fuzz/src), hangs and runaway
# memory. Corpora and crash artifacts are kept under target/fuzz-work/ (or
# $VIGIL_FUZZ_DIR); copy a crash into host/fuzz/regressions/<target>/ once
# fixed so the test suite replays it.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
seconds=${1:-600}
shift || true
if [ $# -gt 0 ]; then targets=("$@"); else
  targets=(manifest config scrubber extjson store_filter celery_events routes)
fi
work=${VIGIL_FUZZ_DIR:-$root/target/fuzz-work}
mkdir -p "$work"/{logs,artifacts}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 2
fi
export RUSTC_BOOTSTRAP=1
fuzz=(cargo fuzz)
build_flags=(--fuzz-dir host/fuzz --features libfuzzer --sanitizer none --debug-assertions --target-dir "$root/target/fuzz")

cargo run -q -p vigil-fuzz --bin fuzz-seeds -- "$work/seeds" >/dev/null
# One target at a time: the crate's other binary (fuzz-seeds) has no
# libFuzzer to link against.
for target in "${targets[@]}"; do
  "${fuzz[@]}" build "${build_flags[@]}" "$target" >"$work/logs/build.log" 2>&1 || {
    tail -30 "$work/logs/build.log" >&2
    exit 1
  }
done

printf '%-14s %12s %10s %8s  %s\n' target executions exec/s crashes artifacts
status=0
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target" artifacts="$work/artifacts/$target"
  mkdir -p "$corpus" "$artifacts" "$work/seeds/$target"
  before=$(find "$artifacts" -type f | wc -l)
  set +e
  "${fuzz[@]}" run "${build_flags[@]}" "$target" "$corpus" "$work/seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=16384 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$work/logs/$target.log" 2>&1
  set -e
  executions=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/logs/$target.log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/logs/$target.log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(( $(find "$artifacts" -type f | wc -l) - before ))
  [ "$crashes" -eq 0 ] || status=1
  printf '%-14s %12s %10s %8s  %s\n' "$target" "${executions:-?}" "${rate:-?}" "$crashes" "$artifacts"
done
exit $status
