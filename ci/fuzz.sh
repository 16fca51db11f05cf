#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 20), one after
# the other, and fails if any target finds a crash (a panic, a failed assertion,
# a timeout or running out of memory). Prints the executions per target.
#
# Usage: ci/fuzz.sh [SECONDS]
#   DT_FUZZ_TARGETS    space-separated targets to run (default: all of them)
#   DT_FUZZ_TOOLCHAIN  nightly|stable (default: nightly when installed, else the
#                      machine's stable toolchain with RUSTC_BOOTSTRAP=1)
#   DT_FUZZ_SANITIZER  address|none (default: address on nightly, none on stable)
#   DT_FUZZ_REPORT     also append "target<TAB>seconds<TAB>execs<TAB>crashes" here
#   DT_FUZZ_NO_BUILD   set to 1 to run the binaries already built
#
# Seeds are read from fuzz/corpus/<target>/ (checked in, never written); what the
# fuzzer finds goes to fuzz/work/corpus/<target>/, crashes to
# fuzz/artifacts/<target>/ (both ignored by git). Reproduce a crash with
#   cargo fuzz run <target> fuzz/artifacts/<target>/crash-...
# Exit status: 0 no crash, 1 a crash, 2 the targets do not build.
set -euo pipefail

seconds="${1:-20}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TERM_COLOR=never

toolchain=()
sanitizer="${DT_FUZZ_SANITIZER:-}"
want="${DT_FUZZ_TOOLCHAIN:-}"
if [ "$want" = nightly ] || { [ -z "$want" ] && cargo +nightly --version >/dev/null 2>&1; }; then
  toolchain=(+nightly)
  sanitizer="${sanitizer:-address}"
else
  # The instrumentation takes -Z flags; RUSTC_BOOTSTRAP lets a stable compiler take them.
  export RUSTC_BOOTSTRAP=1
  sanitizer="${sanitizer:-none}"
fi

# The targets are the [[bin]]s of fuzz/Cargo.toml.
all_targets=$(sed -n '/^\[\[bin\]\]/,/^path/s/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml)
targets="${DT_FUZZ_TARGETS:-$all_targets}"

# The build `cargo fuzz build` does (same flags, same output directory), without
# installing cargo-fuzz: an explicit --target keeps build scripts and proc macros
# uninstrumented. `cargo fuzz run <target>` works on the result too.
host="$(rustc "${toolchain[@]}" -vV | sed -n 's/^host: //p')"
flags="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
flags="$flags -Cllvm-args=-sanitizer-coverage-inline-8bit-counters"
flags="$flags -Cllvm-args=-sanitizer-coverage-pc-table"
flags="$flags -Cllvm-args=-sanitizer-coverage-trace-compares"
[ "$sanitizer" != none ] && flags="$flags -Zsanitizer=$sanitizer"
echo "== building fuzz targets (sanitizer: $sanitizer, toolchain: ${toolchain[*]:-default})"
if [ "${DT_FUZZ_NO_BUILD:-}" != 1 ] && ! RUSTFLAGS="$flags" nice -n 10 cargo "${toolchain[@]}" build \
    --manifest-path fuzz/Cargo.toml --release --target "$host" --bins; then
  echo "fuzz: the targets do not build" >&2
  exit 2
fi
bin_dir="${CARGO_TARGET_DIR:-fuzz/target}/$host/release"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"

logs="fuzz/work/logs"
mkdir -p "$logs"
failed=0
printf '%-16s %8s %14s %10s %s\n' target seconds executions exec/s result
for t in $targets; do
  mkdir -p "fuzz/work/corpus/$t" "fuzz/artifacts/$t"
  log="$logs/$t.log"
  status=0
  nice -n 10 "$bin_dir/$t" "fuzz/work/corpus/$t" "fuzz/corpus/$t" \
    -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  if [ "$status" -eq 0 ]; then
    result=ok
    crashes=0
  else
    result="CRASH (exit $status)"
    crashes=1
    failed=1
  fi
  printf '%-16s %8s %14s %10s %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "$result"
  if [ -n "${DT_FUZZ_REPORT:-}" ]; then
    printf '%s\t%s\t%s\t%s\n' "$t" "$seconds" "${execs:-?}" "$crashes" >>"$DT_FUZZ_REPORT"
  fi
  if [ "$status" -ne 0 ]; then
    echo "---- $t: last lines of $log" >&2
    tail -n 40 "$log" >&2
    ls -1 "fuzz/artifacts/$t" >&2 || true
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target crashed (artifacts in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds}s without a crash"
