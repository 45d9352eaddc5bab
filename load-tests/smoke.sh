#!/usr/bin/env bash
# Seconds-long load smoke test for the test suite.
#
# Builds huddle-load and huddle (debug), starts huddle on a free loopback port,
# runs a small fan-out (3 rooms × 4 members, 6 msgs/s for 3 s) and fails unless
# every client joined, something was delivered, and nothing was lost or duplicated;
# then a small call-signalling run (2 rooms × 6 members in a video call, 2 s) that
# fails unless everyone got into the call and every signal arrived once, in order.
#
#   bash load-tests/smoke.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

cargo build -q -p huddle-load -p huddle-server

WORK=$(mktemp -d "${TMPDIR:-/tmp}/huddle-smoke.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Port 0: the server picks a free port and prints its URL.
HUDDLE_MAX_CONNS_PER_IP=0 RUST_LOG=${RUST_LOG:-warn} \
  HUDDLE_DATA_DIR="$WORK/data" "$TARGET_DIR/debug/huddle" --bind 127.0.0.1:0 >"$WORK/huddle.log" 2>&1 &
SERVER_PID=$!

URL=""
for _ in $(seq 1 100); do
  URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/huddle.log" | head -1 || true)
  [[ -n "$URL" ]] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "smoke: huddle exited early:" >&2
    cat "$WORK/huddle.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$URL" ]]; then
  echo "smoke: huddle did not print its URL within 10 s:" >&2
  cat "$WORK/huddle.log" >&2
  exit 1
fi

echo "smoke: huddle at $URL (pid $SERVER_PID)"
set +e
timeout 60 "$TARGET_DIR/debug/huddle-load" fanout \
  --target huddle --url "$URL" \
  --rooms 3 --members 4 --rate 6 --duration 3 --drain 5 \
  --server-pid "$SERVER_PID" --json-out "$WORK/smoke.json" --quiet --check
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  echo "smoke: FAILED (huddle-load exit $rc)" >&2
  tail -n 20 "$WORK/huddle.log" >&2 || true
  exit 1
fi
set +e
timeout 60 "$TARGET_DIR/debug/huddle-load" call-signalling \
  --url "$URL" --rooms 2 --members 6 --negotiations-per-sec 1 --duration 2 --drain 5 \
  --server-pid "$SERVER_PID" --json-out "$WORK/calls.json" --quiet --check
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  echo "smoke: call-signalling FAILED (huddle-load exit $rc)" >&2
  tail -n 20 "$WORK/huddle.log" >&2 || true
  exit 1
fi
echo "smoke: ok"
