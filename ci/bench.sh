#!/usr/bin/env bash
# The benchmark, one command (BENCHMARKS.md).
#
#   ci/bench.sh           full run (~12 min): items 1-5, rewrites dt-bench's block of
#                         BENCHMARKS.md and target/bench-results.json
#   ci/bench.sh --short   CI check (<= 60 s after the build): each item once, 3 s runs,
#                         no 1M world; prints the ratios and fails only when a ratio is
#                         below half its target (never on absolute times)
#
# Extra arguments go to dt-bench (e.g. --skip-1m, --runs 5; `dt-bench --help`).
# It builds the release binaries, installs wrk (Debian) when missing, and fetches
# WireMock's standalone jar (the npm package `wiremock`) into target/bench-cache.
# Load goes over loopback only; every run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

short=0
for a in "$@"; do [ "$a" = "--short" ] && short=1; done

say() { echo "[bench.sh] $*" >&2; }

# 1. wrk (the load generator) and taskset (pinning).
if ! command -v wrk >/dev/null 2>&1; then
    say "installing wrk from Debian's packages"
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null; }
    else
        sudo apt-get install -y wrk >/dev/null
    fi
fi
command -v wrk >/dev/null || { say "wrk is required"; exit 2; }
command -v taskset >/dev/null || say "taskset missing: servers and wrk will not be pinned"

# 2. WireMock's standalone jar, from the npm package `wiremock` (cached).
cache=target/bench-cache
jar=""
missing=""
if ! command -v java >/dev/null 2>&1; then
    missing="java is not installed"
elif ! command -v npm >/dev/null 2>&1; then
    missing="npm is not installed (needed to fetch WireMock's jar)"
else
    jar=$(find "$cache/wiremock-npm/node_modules/wiremock" -name 'wiremock-standalone-*.jar' 2>/dev/null | head -1 || true)
    if [ -z "$jar" ]; then
        say "fetching WireMock (npm install wiremock)"
        mkdir -p "$cache/wiremock-npm"
        if timeout 300 npm install --prefix "$cache/wiremock-npm" --no-audit --no-fund wiremock >/dev/null 2>"$cache/npm.err"; then
            jar=$(find "$cache/wiremock-npm/node_modules/wiremock" -name 'wiremock-standalone-*.jar' | head -1 || true)
        fi
        [ -n "$jar" ] || missing="npm could not fetch WireMock: $(tail -1 "$cache/npm.err" 2>/dev/null)"
    fi
fi
if [ -n "$missing" ]; then
    say "peer comparison skipped: $missing"
    export DT_BENCH_WIREMOCK_MISSING="$missing"
else
    export DT_BENCH_WIREMOCK_JAR="$jar"
fi

# 3. The release binaries (the driver builds nothing itself).
say "cargo build --release -p dt-mock -p dt-bench"
cargo build --release -q -p dt-mock -p dt-bench

# 4. Run.
if [ "$short" = 1 ]; then
    export DT_BENCH_COMMAND="ci/bench.sh --short"
else
    export DT_BENCH_COMMAND="ci/bench.sh $*"
    export DT_BENCH_COMMAND="${DT_BENCH_COMMAND% }"
fi
exec target/release/dt-bench "$@"
