# Start and stop the local API for the scripts that drive it over HTTP (contract fuzzing, timing
# benchmark). Source after scripts/lib.sh. The server listens on 127.0.0.1 only, on a free port
# (--port 0); its address is read from its readiness line, `ready http://127.0.0.1:<port>`, the
# first line it prints (local_api::READY_PREFIX).
#
#   start_local_api LOG [FLAGS...]   sets LOCAL_API_PID and LOCAL_API_URL (env vars pass through)
#   stop_local_api                   stops it (idempotent; call it from an EXIT trap)

LOCAL_API_PID=""
LOCAL_API_URL=""

# The debug binary the tests use; built if missing or older than its sources (a no-op for
# cargo most of the time, so cargo is not even asked then). LOCAL_API_BIN overrides it.
# A failed build fails: `set -e` is off inside the caller's `$(...)`, so every step returns
# its status explicitly, and a stale binary is never started instead.
local_api_bin() {
  local bin="${LOCAL_API_BIN:-$CARGO_TARGET_DIR/debug/local-api}"
  if [ -z "${LOCAL_API_BIN:-}" ] && { [ ! -x "$bin" ] || [ -n "$(find "$ROOT/shared" "$ROOT/local-api" \
    "$ROOT/Cargo.lock" "$ROOT/Cargo.toml" -newer "$bin" -type f -print -quit)" ]; }; then
    step "cargo build --bin local-api" >&2
    (cd "$ROOT" && cargo build --locked --bin local-api >&2) || {
      echo "cargo build --bin local-api failed; not starting a stale local-api" >&2
      return 1
    }
  fi
  printf '%s\n' "$bin"
}

start_local_api() {
  local log="$1" bin
  shift
  bin="$(local_api_bin)" || return 1
  : >"$log.out"
  "$bin" --port 0 "$@" >"$log.out" 2>"$log.err" &
  LOCAL_API_PID=$!
  local first="" i
  for i in $(seq 1 300); do
    first="$(head -n 1 "$log.out" 2>/dev/null || true)"
    case "$first" in "ready "*) break ;; esac
    if ! kill -0 "$LOCAL_API_PID" 2>/dev/null; then
      echo "local-api exited before listening:" >&2
      cat "$log.err" >&2
      LOCAL_API_PID=""
      return 1
    fi
    sleep 0.1
  done
  LOCAL_API_URL="${first#ready }"
  case "$LOCAL_API_URL" in
    http://127.0.0.1:[0-9]*) ;;
    *) echo "local-api printed no address (first line: ${first:-nothing})" >&2; stop_local_api; return 1 ;;
  esac
}

stop_local_api() {
  if [ -n "$LOCAL_API_PID" ]; then
    kill "$LOCAL_API_PID" 2>/dev/null || true
    wait "$LOCAL_API_PID" 2>/dev/null || true
    LOCAL_API_PID=""
  fi
}
