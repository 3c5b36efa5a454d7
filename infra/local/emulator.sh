# Sourced by infra/local/run and tests/run: starts the pinned AWS emulator (moto server,
# one request at a time: see emulator_server.py) on a free loopback port, exports
# AWS_ENDPOINT_URL, and stops it when the caller exits.

start_emulator() {
  local root="$1"
  local venv="$root/.tools/venv"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  EMULATOR_DIR=$(mktemp -d)
  # moto writes its request recording into this file; tests read SMS back from it.
  (cd "$EMULATOR_DIR" && MOTO_RECORDER_FILEPATH="$EMULATOR_DIR/recording" \
     exec "$venv/bin/python" "$root/infra/local/emulator_server.py" 127.0.0.1 "$port" >"$EMULATOR_DIR/moto.log" 2>&1) &
  EMULATOR_PID=$!
  trap stop_emulator EXIT
  trap 'exit 130' INT TERM
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_REGION=ca-central-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  local tries=0
  until python3 - "$AWS_ENDPOINT_URL" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
except Exception:
    sys.exit(1)
PY
  do
    tries=$((tries + 1))
    if ! kill -0 "$EMULATOR_PID" 2>/dev/null || [ "$tries" -gt 100 ]; then
      echo "the AWS emulator did not start; its log:" >&2
      cat "$EMULATOR_DIR/moto.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "AWS emulator (moto server) on $AWS_ENDPOINT_URL"
}

stop_emulator() {
  if [ -n "${EMULATOR_PID:-}" ]; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
    EMULATOR_PID=
  fi
  [ -n "${EMULATOR_DIR:-}" ] && rm -rf "$EMULATOR_DIR"
  EMULATOR_DIR=
}
