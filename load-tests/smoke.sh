#!/usr/bin/env bash
# A short run of every load scenario against throw-away hubs (debug builds): one SQLite node,
# then two nodes on PostgreSQL + Redis with one of them killed mid-run. It asserts only that
# each run completes with nothing lost or duplicated (the tool exits non-zero otherwise);
# the numbers are printed, not judged. `.ci/run` calls it; it needs the debug binaries built.
#
# Ends with one line: `load smoke: N passed, M failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

bin="${CARGO_TARGET_DIR:-target}/debug"
postgres="${SWITCHBOARD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
redis="${SWITCHBOARD_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
work=$(mktemp -d)
pids=()
passed=0
failed=0

cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_node NAME DATABASE_URL [VAR=VALUE ...]: serves on a free port; sets $port and $pid.
start_node() {
  local name=$1 database=$2
  shift 2
  port=$(free_port)
  env SWITCHBOARD__DATABASE__URL="$database" SWITCHBOARD__SERVER__LISTEN="127.0.0.1:$port" \
    SWITCHBOARD__WHATSAPP__MEDIA_DIR="$work/media-$name" RUST_LOG=warn "$@" \
    "$bin/switchboard" >"$work/$name.log" 2>&1 &
  pid=$!
  disown "$pid" # killed on purpose below: no "Killed" notices from the shell
  pids+=("$pid")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "node $name did not become ready:" >&2
  cat "$work/$name.log" >&2
  return 1
}

# run NAME ARGS...: one scenario run, counted.
run() {
  local name=$1
  shift
  echo "== load smoke: $name"
  if "$bin/switchboard-load" "$@" --json "$work/runs.json"; then
    passed=$((passed + 1))
  else
    echo "load smoke: $name FAILED" >&2
    failed=$((failed + 1))
  fi
}

# One node on SQLite with the demo account.
sqlite="sqlite://$work/smoke.db"
SWITCHBOARD__DATABASE__URL="$sqlite" "$bin/switchboard" demo >/dev/null
start_node single "$sqlite" || exit 1
single="http://127.0.0.1:$port"
single_pid=$pid
run idle idle --server "$single" --server-pid "$single_pid" --agents 300 --duration 2
# The same without the pid: memory and CPU then come from the hub's /metrics.
run idle-metrics idle --server "$single" --agents 100 --duration 1
run fanout fanout --server "$single" --agents 200 --rate 20 --duration 3
run whatsapp whatsapp --server "$single" --agents 20 --customers 20 --rate 50 --duration 3
run ingest-webhook ingest --server "$single" --via webhook --concurrency 16 --customers 20 --batch 2 --duration 2
run ingest-rest ingest --server "$single" --via rest --concurrency 16 --customers 10 --duration 2

# The webhook scenarios above signed with the app secret the tool read from the hub as its admin
# (generated per install); the secret older builds compiled in must open nothing.
body='{"object":"whatsapp_business_account","entry":[]}'
old_signature=$(python3 -c 'import hashlib, hmac, sys; print("sha256=" + hmac.new(b"switchboard-sandbox-app-secret", sys.argv[1].encode(), hashlib.sha256).hexdigest())' "$body")
refused=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -H "x-hub-signature-256: $old_signature" -d "$body" "$single/webhooks/whatsapp")
if [[ $refused == 401 ]]; then
  passed=$((passed + 1))
else
  echo "load smoke: a webhook signed with the old compiled-in secret answered $refused, not 401" >&2
  failed=$((failed + 1))
fi

# The Graph API stand-in answers a send with a wamid, and a chosen share with an error code.
graph_port=$(free_port)
"$bin/switchboard-load" fake-graph --listen "127.0.0.1:$graph_port" --error-rate 0.5 --error-code 131047 \
  >"$work/graph.log" 2>&1 &
pids+=("$!")
disown "$!"
for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$graph_port/v25.0/LOADWABA/message_templates" 2>/dev/null && break; sleep 0.1; done
send() { curl -sS -X POST -H 'content-type: application/json' -d '{"messaging_product":"whatsapp","to":"5511","type":"text","text":{"body":"hi"}}' "http://127.0.0.1:$graph_port/v25.0/100/messages"; }
first=$(send)
second=$(send)
if [[ $first == *'"wamid.FAKE'* && $second == *'"code":131047'* ]]; then
  passed=$((passed + 1))
else
  echo "load smoke: fake-graph answered $first / $second" >&2
  failed=$((failed + 1))
fi

# Two nodes on PostgreSQL + Redis; the second is killed mid-run.
database="switchboard_load_smoke"
admin_url="${postgres%/*}/postgres"
psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database" -c "CREATE DATABASE $database" >/dev/null || exit 1
cluster_db="${postgres%/*}/$database"
prefix="smoke$RANDOM"
SWITCHBOARD__DATABASE__URL="$cluster_db" "$bin/switchboard" demo >/dev/null
start_node a "$cluster_db" SWITCHBOARD__REDIS__URL="$redis" SWITCHBOARD__REDIS__PREFIX="$prefix" || exit 1
node_a="http://127.0.0.1:$port"
start_node b "$cluster_db" SWITCHBOARD__REDIS__URL="$redis" SWITCHBOARD__REDIS__PREFIX="$prefix" || exit 1
node_b="http://127.0.0.1:$port"
run cluster cluster --server "$node_a" --server "$node_b" --agents 40 --rate 20 --duration 8 \
  --kill-pid "$pid" --kill-at 3 --gone 0.25
psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true

echo "load smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
