# Shared by the ci/ scripts (sourced, not run): start dt-mock on a free port and
# stop it again, whatever way the calling script exits.
#
#   mock_bin_dir               sets DT_BIN_DIR, building release binaries when unset
#   start_mock DIR [ARGS...]   starts $DT_BIN_DIR/dt-mock --listen 127.0.0.1:0 ARGS,
#                              stdout to DIR/dt-mock.out, stderr to DIR/dt-mock.err;
#                              waits (30 s at most) for its `listening on` line and
#                              sets mock_pid and mock_url; exits 2 if it never listens
#   stop_mock                  stops it; never fails (safe under `set -e` in a trap)
#   pip_venv VENV PKG VERSION  makes the virtual environment VENV (when missing) and
#                              installs PKG==VERSION from PyPI into it (when not there)
#
# The environment of start_mock's caller reaches the mock (DT_MOCK_TOKENS, ...).

mock_pid=""
mock_url=""

mock_bin_dir() { # mock_bin_dir PACKAGE...
  if [ -z "${DT_BIN_DIR:-}" ]; then
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    local args=()
    for p in "$@"; do args+=(-p "$p"); done
    (cd "$root" && cargo build --release -q "${args[@]}")
    DT_BIN_DIR="$root/target/release"
  fi
}

start_mock() { # start_mock DIR [ARGS...]
  local dir="$1"
  shift
  "$DT_BIN_DIR/dt-mock" --listen 127.0.0.1:0 "$@" >"$dir/dt-mock.out" 2>"$dir/dt-mock.err" &
  mock_pid=$!
  for _ in $(seq 1 300); do
    mock_url="$(sed -n 's/^listening on //p' "$dir/dt-mock.out" | head -n 1)"
    [ -n "$mock_url" ] && return 0
    if ! kill -0 "$mock_pid" 2>/dev/null; then
      echo "dt-mock exited before listening:" >&2
      cat "$dir/dt-mock.err" >&2
      mock_pid=""
      exit 2
    fi
    sleep 0.1
  done
  echo "dt-mock did not print 'listening on' within 30 s" >&2
  exit 2
}

stop_mock() {
  if [ -n "$mock_pid" ]; then
    # The mock exits 143 on SIGTERM; that is the expected end, not a failure.
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
    mock_pid=""
  fi
  return 0
}

pip_venv() { # pip_venv VENV PACKAGE VERSION
  local venv="$1" pkg="$2" version="$3"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$pkg') != '$version')" 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$pkg==$version"
  fi
  echo "$pkg $version in $venv"
}
