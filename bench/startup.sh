#!/usr/bin/env bash
# Time from `make run` to the first answered /health, on a fresh clone:
# cold (no venv, no pip cache) and then warm (venv present), both with the
# embedded PostgreSQL (PARKING_DATABASE_URL unset). Usage: bench/startup.sh [PORT]
set -euo pipefail
port=${1:-8000}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone"
cd "$work/clone"
sed -i "s/--port 8000/--port $port/; s/127.0.0.1:8000/127.0.0.1:$port/g" Makefile

measure() {
    local label=$1 start end
    start=$(date +%s.%N)
    env -u PARKING_DATABASE_URL -u PARKING_REDIS_URL PIP_NO_CACHE_DIR=${2:-0} make run > "$work/$label.log" 2>&1 &
    local pid=$!
    until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do
        sleep 0.1
        kill -0 $pid 2>/dev/null || { echo "$label: make run exited"; tail -20 "$work/$label.log"; exit 1; }
    done
    end=$(date +%s.%N)
    curl -sf "http://127.0.0.1:$port/schema" | grep -q swagger-ui || { echo "$label: /schema not served"; exit 1; }
    printf '%s: %.1f s from make run to the first answered /health (/schema served)\n' "$label" "$(echo "$end - $start" | bc)"
    pkill -INT -f "parking serve --host 127.0.0.1 --port $port" || true
    wait $pid 2>/dev/null || true
    sleep 1
}

measure cold 1
measure warm 0
