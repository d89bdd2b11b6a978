#!/usr/bin/env bash
# Load test through `gatehouse serve` (release build): the client credentials grant
# (POST /token), or introspection of one access token (POST /introspect).
#
# Usage: infra/scripts/load.sh [seconds] [connections] [token|introspect]
# Needs wrk (Debian package `wrk`). Starts its own server on a fresh data directory
# on 127.0.0.1, registers a client, runs wrk against POST /token, then stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
conns=${2:-8}
endpoint=${3:-token}
bin=target/release/gatehouse
[ -x "$bin" ] || cargo build --release -p gatehouse
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
"$bin" --data-dir "$dir" serve --addr 127.0.0.1:18080 > "$dir/serve.log" 2>/dev/null &
server=$!
for _ in $(seq 100); do grep -q listening "$dir/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$dir/serve.log" || { echo "gatehouse serve did not start (is port 18080 free?)" >&2; exit 1; }
client=$("$bin" --data-dir "$dir" client create --name load --type confidential \
  --grant-type client_credentials --scope "read write" --json 2>/dev/null)
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$client")
secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$client")
auth=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
body="grant_type=client_credentials&scope=read"
if [ "$endpoint" = introspect ]; then
  token=$(curl -s -u "$id:$secret" -d "$body" http://127.0.0.1:18080/token |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  body="token=$token"
fi
cat > "$dir/load.lua" <<LUA
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
done = function(summary, latency, requests)
  io.write(string.format("requests %d, errors (non-2xx) %d\n", summary.requests, summary.errors.status))
  for _, p in pairs({50, 90, 99}) do
    io.write(string.format("p%d %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
LUA
threads=$(( conns < 2 ? conns : 2 ))
echo "POST /$endpoint, ${secs}s, ${conns} connections, ${threads} wrk threads"
wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$dir/load.lua" "http://127.0.0.1:18080/$endpoint"
