#!/usr/bin/env bash
# A/B: two Huddle binaries side by side, in one run, at a fixed offered load,
# alternating A B A B … so both see the same machine. Reports per run and per
# binary: deliveries per server CPU-second, p50/p99, lost/duplicated.
#
#   bash load-tests/ab.sh OLD_HUDDLE NEW_HUDDLE
#
# Knobs (environment): ROUNDS (3), RATE (3000 msgs/s), ROOMS (100), MEMBERS (20),
# SECS (10), LOAD (huddle-load binary; default target/release/huddle-load),
# REDIS=1 (two instances of each binary sharing a fresh redis-server).
# Loopback only; every run is bounded by SECS.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
A=${1:?usage: ab.sh OLD_HUDDLE NEW_HUDDLE}
B=${2:?usage: ab.sh OLD_HUDDLE NEW_HUDDLE}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-3000}
ROOMS=${ROOMS:-100}
MEMBERS=${MEMBERS:-20}
SECS=${SECS:-10}
LOAD=${LOAD:-$ROOT/target/release/huddle-load}
REDIS=${REDIS:-0}
for t in jq "$A" "$B" "$LOAD"; do
  command -v "$t" >/dev/null || { echo "ab: $t not found" >&2; exit 1; }
done
[[ $REDIS == 1 ]] && { command -v redis-server >/dev/null || { echo "ab: redis-server not found" >&2; exit 1; }; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/huddle-ab.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

start_huddle() { # BIN REDIS_URL → echoes "PID URL"
  local bin=$1 redis=$2 log
  log="$WORK/huddle-$RANDOM.log"
  # Its database in the work dir (env, not flags: older builds ignore them);
  # with Redis the instances share one SQLite file (one host).
  HUDDLE_DATA_DIR="$WORK/data" HUDDLE_DATABASE_URL=${redis:+"sqlite://$WORK/huddle.db"} \
  HUDDLE_MAX_CONNS_PER_IP=0 HUDDLE_CREATE_RATE_PER_MIN=0 RUST_LOG=warn "$bin" --bind 127.0.0.1:0 ${redis:+--redis-url "$redis"} >"$log" 2>&1 &
  local pid=$! url=""
  PIDS+=("$pid")
  for _ in $(seq 1 200); do
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$log" | head -1 || true)
    [[ -n $url ]] && break
    sleep 0.05
  done
  [[ -n $url ]] || { echo "ab: $bin did not start" >&2; cat "$log" >&2; exit 1; }
  echo "$pid $url"
}

one_run() { # LABEL BIN → appends a line to $WORK/results
  local label=$1 bin=$2 redis="" rpid="" pids urls
  if [[ $REDIS == 1 ]]; then
    local port=$(( 20000 + RANDOM % 30000 ))
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
    rpid=$!
    PIDS+=("$rpid")
    sleep 0.3
    redis="redis://127.0.0.1:$port"
    read -r p1 u1 < <(start_huddle "$bin" "$redis")
    read -r p2 u2 < <(start_huddle "$bin" "$redis")
    pids="$p1,$p2"; urls="$u1,$u2"
  else
    read -r p1 u1 < <(start_huddle "$bin" "")
    pids=$p1; urls=$u1
  fi
  sleep 0.3
  "$LOAD" fanout --target huddle --url "$urls" --rooms "$ROOMS" --members "$MEMBERS" \
    --rate "$RATE" --duration "$SECS" --drain 3 --server-pid "$pids" --quiet \
    --json-out "$WORK/r.json" >/dev/null
  jq -r --arg l "$label" '[$l, .delivered, .delivered_per_sec, (.server.cpu_pct // 0),
      (if (.server.cpu_pct // 0) > 0 then .delivered_per_sec / (.server.cpu_pct / 100) else 0 end),
      .latency_ms.p50, .latency_ms.p99, .lost, .duplicated] | @tsv' "$WORK/r.json" >>"$WORK/results"
  for p in ${pids//,/ } $rpid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}

echo "ab: A=$A"
echo "ab: B=$B"
echo "ab: $ROOMS rooms × $MEMBERS members, $RATE msgs/s for $SECS s, $ROUNDS rounds$([[ $REDIS == 1 ]] && echo ', two instances + Redis')"
: >"$WORK/results"
for r in $(seq 1 "$ROUNDS"); do
  one_run A "$A"
  one_run B "$B"
  echo "ab: round $r/$ROUNDS done" >&2
done
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' run delivered deliv/s srv_cpu% deliv/cpu-s p50_ms p99_ms lost dup
cat "$WORK/results"
echo
for l in A B; do
  awk -F'\t' -v l="$l" '$1==l {n++; e+=$5; p+=$7; if ($7>m) m=$7; lost+=$8; dup+=$9}
    END {printf "%s: mean deliveries per server CPU-second %.0f, mean p99 %.2f ms (worst %.2f), lost %d, duplicated %d\n", l, e/n, p/n, m, lost, dup}' "$WORK/results"
done
