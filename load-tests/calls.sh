#!/usr/bin/env bash
# Calls' signalling relay under load (issue 16): `huddle-load call-signalling` against a
# release Huddle, single instance, then two instances sharing a fresh redis-server
# (members of each room split across both). Prints one Markdown table row per run, the
# exact commands and the load average, for load-tests/BENCHMARKS.md.
#
#   bash load-tests/calls.sh
#
# Knobs (environment): ROOMS ("50 100"), MEMBERS (6), NEG (1 negotiation per second per
# pair), SECS (10), LOAD / HUDDLE (binaries; default target/release/...).
# Loopback only; every run is bounded by SECS + drain + setup timeouts.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ROOMS=${ROOMS:-"50 100"}
MEMBERS=${MEMBERS:-6}
NEG=${NEG:-1}
SECS=${SECS:-10}
LOAD=${LOAD:-$ROOT/target/release/huddle-load}
HUDDLE=${HUDDLE:-$ROOT/target/release/huddle}
for t in jq redis-server "$LOAD" "$HUDDLE"; do
  command -v "$t" >/dev/null || { echo "calls: $t not found (cargo build --release -p huddle-server -p huddle-load)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/huddle-calls.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

start_huddle() { # REDIS_URL → echoes "PID URL"
  local redis=$1 log
  log="$WORK/huddle-$RANDOM.log"
  HUDDLE_DATA_DIR="$WORK/data" HUDDLE_DATABASE_URL=${redis:+"sqlite://$WORK/huddle.db"} \
  HUDDLE_MAX_CONNS_PER_IP=0 HUDDLE_CREATE_RATE_PER_MIN=0 RUST_LOG=warn \
    "$HUDDLE" --bind 127.0.0.1:0 ${redis:+--redis-url "$redis"} >"$log" 2>&1 &
  local pid=$! url=""
  for _ in $(seq 1 200); do
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$log" | head -1 || true)
    [[ -n $url ]] && break
    sleep 0.05
  done
  [[ -n $url ]] || { echo "calls: huddle did not start" >&2; cat "$log" >&2; kill "$pid"; exit 1; }
  echo "$pid $url"
}

start_redis() { # → echoes "PID URL"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis-$port.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "$pid redis://127.0.0.1:$port"; return 0; }
    sleep 0.05
  done
  echo "calls: redis-server did not start" >&2
  exit 1
}

echo "| setup | rooms × members | pairs | negotiations/s per pair | signals delivered | signals/s | relay p50 ms | p99 ms | max ms | lost / dup / out of order | server CPU % | gen CPU % | other CPU % |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
: >"$WORK/commands"
for setup in single redis; do
  for rooms in $ROOMS; do
    local_pids=()
    if [[ $setup == single ]]; then
      read -r p1 u1 < <(start_huddle "")
      PIDS+=("$p1"); local_pids+=("$p1")
      pids=$p1; urls=$u1; label="1 instance"
    else
      read -r rp ru < <(start_redis)
      PIDS+=("$rp"); local_pids+=("$rp")
      read -r p1 u1 < <(start_huddle "$ru")
      read -r p2 u2 < <(start_huddle "$ru")
      PIDS+=("$p1" "$p2"); local_pids+=("$p1" "$p2")
      pids="$p1,$p2"; urls="$u1,$u2"; label="2 instances + Redis"
    fi
    sleep 0.3
    args=(call-signalling --url "$urls" --rooms "$rooms" --members "$MEMBERS"
      --negotiations-per-sec "$NEG" --duration "$SECS" --drain 5 --server-pid "$pids")
    echo "huddle-load ${args[*]}" | sed -E 's#http://127\.0\.0\.1:[0-9]+#URL#g; s#--server-pid [0-9,]+#--server-pid PID#' >>"$WORK/commands"
    if timeout $(( SECS + 120 )) "$LOAD" "${args[@]}" --quiet --json-out "$WORK/r.json" >"$WORK/r.txt" 2>"$WORK/r.err"; then
      jq -r --arg l "$label" '"| \($l) | \(.rooms) × \(.members_per_room) | \(.pairs) | \(.negotiations_per_pair_sec) | \(.delivered) of \(.signals_sent) | \(.signals_per_sec | floor) | \(.latency_ms.p50) | \(.latency_ms.p99) | \(.latency_ms.max) | \(.lost) / \(.duplicated) / \(.out_of_order) | \(.server_cpu_pct // "-") | \(.client_cpu_pct // "-") | \(.other_cpu_pct // "-") |"' "$WORK/r.json"
    else
      echo "| $label | $rooms × $MEMBERS | run failed: $(tail -n 1 "$WORK/r.err") |"
    fi
    for p in "${local_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  done
done
echo
echo "Frame sizes: $(jq -r '"offer \(.offer_frame_bytes) B, answer \(.answer_frame_bytes) B, candidates (3) \(.candidates_frame_bytes) B"' "$WORK/r.json" 2>/dev/null || echo -)."
echo
echo '```'
cat "$WORK/commands"
echo '```'
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores."
