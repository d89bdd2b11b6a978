#!/usr/bin/env bash
# Load test of the browser flow's token grants through `gatehouse serve` (release
# build): authorization-code exchanges, then refresh grants.
#
# Usage: infra/scripts/load_code_flow.sh [seconds] [connections]
# Needs wrk (Debian package `wrk`), curl and python3. Starts its own server on a
# fresh data directory on 127.0.0.1:18081 (codes valid 600 s for the run), creates a
# user and a trusted client (no consent page), signs in once with curl to get a
# session cookie, then:
#   1. GET /authorize with the session cookie, as fast as it goes, to stock codes
#      (every code carries the same S256 challenge);
#   2. POST /token grant_type=authorization_code, each code once (measured);
#   3. POST /token grant_type=refresh_token, each refresh token from step 2 once
#      (measured).
# Each wrk thread keeps its own stock, so a step stops early (and says so) if it
# runs out of codes or refresh tokens.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
conns=${2:-8}
threads=$(( conns < 2 ? conns : 2 ))
port=18081
base="http://127.0.0.1:$port"
bin=target/release/gatehouse
[ -x "$bin" ] || cargo build --release -p gatehouse
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
"$bin" --data-dir "$dir" serve --addr "127.0.0.1:$port" --code-ttl 600 > "$dir/serve.log" 2>/dev/null &
server=$!
for _ in $(seq 100); do grep -q listening "$dir/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$dir/serve.log" || { echo "gatehouse serve did not start (is port $port free?)" >&2; exit 1; }

echo 'load test password' | "$bin" --data-dir "$dir" user create --username loaduser --password-stdin > /dev/null 2>&1
client=$("$bin" --data-dir "$dir" client create --name load --type confidential \
  --grant-type authorization_code --grant-type refresh_token --skip-consent \
  --redirect-uri http://127.0.0.1:9/cb --scope "read write" --json 2>/dev/null)
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$client")
secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$client")
auth=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
verifier=$(python3 -c 'print("v" * 64)')
challenge=$(printf %s "$verifier" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=')
query="response_type=code&client_id=$id&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=read+write&state=s&code_challenge=$challenge&code_challenge_method=S256"

# Sign in once, as a browser would: the login page's hidden fields, then the form.
jar="$dir/jar"
curl -s -c "$jar" -b "$jar" "$base/authorize?$query" > "$dir/login.html"
field() { python3 -c 'import html,re,sys; print(html.unescape(re.search(r"name=\"%s\" value=\"([^\"]*)\"" % sys.argv[1], open(sys.argv[2]).read()).group(1)))' "$1" "$dir/login.html"; }
curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "request=$(field request)" \
  --data-urlencode "csrf_token=$(field csrf_token)" -d action=login -d username=loaduser \
  --data-urlencode "password=load test password" "$base/authorize"
cookie=$(awk '$6 == "gatehouse_session" { print $6 "=" $7 }' "$jar")
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }

report='
done = function(summary, latency, requests)
  io.write(string.format("requests %d, non-2xx/3xx %d, %.0f/s\n", summary.requests,
    summary.errors.status, summary.requests / (summary.duration / 1e6)))
  for _, p in pairs({50, 90, 99}) do
    io.write(string.format("p%d %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end'
threads_lua='
local n = 0
setup = function(thread) n = n + 1; thread:set("id", n) end'

cat > "$dir/authorize.lua" <<LUA
$threads_lua
wrk.headers["Cookie"] = "$cookie"
local out
init = function() out = io.open("$dir/codes-" .. id, "w") end
response = function(status, headers, body)
  local loc = headers["location"] or headers["Location"]
  if loc then out:write(loc:match("code=([^&]+)"), "\n") end
end
$report
LUA

cat > "$dir/exchange.lua" <<LUA
$threads_lua
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
local codes, i, out = {}, 0, nil
init = function()
  for line in io.lines("$dir/codes-" .. id) do codes[#codes + 1] = line end
  out = io.open("$dir/refresh-" .. id, "w")
end
request = function()
  i = i + 1
  if i > #codes then io.write("thread " .. id .. " ran out of codes\n"); wrk.thread:stop() end
  return wrk.format(nil, nil, nil, "grant_type=authorization_code&code=" .. (codes[i] or "")
    .. "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_verifier=$verifier")
end
response = function(status, headers, body)
  local r = body:match('"refresh_token":"([^"]+)"')
  if r then out:write(r, "\n") end
end
$report
LUA

cat > "$dir/refresh.lua" <<LUA
$threads_lua
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
local tokens, i = {}, 0
init = function()
  for line in io.lines("$dir/refresh-" .. id) do tokens[#tokens + 1] = line end
end
request = function()
  i = i + 1
  if i > #tokens then io.write("thread " .. id .. " ran out of refresh tokens\n"); wrk.thread:stop() end
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. (tokens[i] or ""))
end
$report
LUA

# Stock codes for longer than the exchange runs: issuing a code is cheaper than
# redeeming one, so the stock outlasts the measured step.
echo "== GET /authorize with a session (stocking codes), $((secs + 5))s, $conns connections"
wrk -t$threads -c"$conns" -d"$((secs + 5))s" --latency -s "$dir/authorize.lua" "$base/authorize?$query"
echo "codes stocked: $(cat "$dir"/codes-* | wc -l)"
echo "== POST /token authorization_code, ${secs}s, $conns connections"
wrk -t$threads -c"$conns" -d"${secs}s" --latency -s "$dir/exchange.lua" "$base/token"
echo "refresh tokens received: $(cat "$dir"/refresh-* | wc -l)"
echo "== POST /token refresh_token, ${secs}s, $conns connections"
wrk -t$threads -c"$conns" -d"${secs}s" --latency -s "$dir/refresh.lua" "$base/token"
