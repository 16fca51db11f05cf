#!/usr/bin/env bash
# Browser test of dt-mock's live journal page (/_mock/) in headless Chromium.
#
# Needs chromium and chromium-driver (Debian packages; .ci/run installs them) and
# python3 (standard library only). Uses $DT_BIN_DIR/dt-mock when set, else builds it
# (debug). The screenshot goes to $1 (default ci/out/journal.png); its path is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-ci/out/journal.png}"
for tool in chromium chromedriver python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "browser test: $tool not found (apt-get install -y chromium chromium-driver python3)" >&2
    exit 2
  fi
done

if [[ -n "${DT_BIN_DIR:-}" ]]; then
  bin="$DT_BIN_DIR/dt-mock"
else
  cargo build -q -p dt-mock
  bin="${CARGO_TARGET_DIR:-target}/debug/dt-mock"
fi
[[ -x "$bin" ]] || { echo "browser test: no dt-mock binary at $bin" >&2; exit 2; }

exec python3 ci/browser-test.py --mock-bin "$bin" --out "$out"
