#!/usr/bin/env python3
"""CPU time, duration and memory of warm Lambda invocations, measured locally.

Starts `gatehouse serve` (its embedded engine holds the tables), registers clients
and a user, then runs each function binary the way Lambda does: this script plays
the Lambda Runtime API on loopback and hands the function the same API Gateway
(payload 2.0) events API Gateway would. The function reaches the engine through
`GATEHOUSE_DYNAMODB_ENDPOINT`. For each call it reports, over RUNS invocations
after a warm-up: the function process's CPU time per invocation (user + system,
from /proc), the wall time per invocation (from handing out the event to getting
the response; local engine latency, not DynamoDB's) and the peak resident memory.

Usage: invocations.py target/release [runs]
"""
import base64
import http.server
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ISSUER_PORT, ENGINE_PORT = 18095, 18096
ISSUER = f"http://127.0.0.1:{ISSUER_PORT}"
# The engine takes only the credentials `serve` writes beside the data.
ENGINE_CREDENTIALS = {}
CLK_TCK = os.sysconf("SC_CLK_TCK")


def event(method, path, query="", headers=None, body=None, cookies=None):
    ev = {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": query,
        "headers": {"host": "auth.example.com", "x-forwarded-proto": "https", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "auth.example.com",
            "domainPrefix": "auth", "requestId": "req", "routeKey": f"{method} {path}",
            "stage": "$default", "time": "28/Nov/2026:00:00:00 +0000", "timeEpoch": 1795834000000,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "invocations"},
        },
        "isBase64Encoded": body is not None,
    }
    if body is not None:
        ev["body"] = base64.b64encode(body.encode()).decode()
        ev["headers"]["content-type"] = "application/x-www-form-urlencoded"
    if cookies:
        ev["cookies"] = cookies
    return ev


def basic(client_id, secret):
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """One function process's Runtime API: events in, answers out (`self.server`)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        ev = self.server.events.get()
        body = json.dumps(ev).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "req-%d" % time.monotonic_ns())
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:f")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.server.handed_out = time.perf_counter()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.server.answers.put((time.perf_counter() - self.server.handed_out, json.loads(body)))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def runtime_api():
    """A fresh Runtime API on a free loopback port (a killed function's pending
    poll must not take the next function's events)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    server.events, server.answers, server.handed_out = queue.Queue(), queue.Queue(), None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def lambda_env(port):
    """The environment Lambda gives a function, and the stack's variables."""
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}", "AWS_LAMBDA_FUNCTION_NAME": "f",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_LOG_STREAM_NAME": "s", "AWS_LAMBDA_LOG_GROUP_NAME": "g",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": ENGINE_CREDENTIALS["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": ENGINE_CREDENTIALS["secret_access_key"],
        "GATEHOUSE_DYNAMODB_ENDPOINT": f"http://127.0.0.1:{ENGINE_PORT}",
        "GATEHOUSE_DYNAMODB_ACCESS_KEY_ID": ENGINE_CREDENTIALS["access_key_id"],
        "GATEHOUSE_DYNAMODB_SECRET_ACCESS_KEY": ENGINE_CREDENTIALS["secret_access_key"],
        # The SDK's own endpoint override, for binaries older than the variable above.
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{ENGINE_PORT}",
        "GATEHOUSE_ISSUER": ISSUER, "GATEHOUSE_LOG_LEVEL": "error",
    })
    for t in ["clients", "tokens", "grants", "sessions", "keys", "secrets", "users", "consents", "login-attempts", "origins", "providers", "upstream-states", "identities"]:
        env[f"GATEHOUSE_{t.upper().replace('-', '_')}_TABLE"] = f"gatehouse-{t}"
    return env


def measure(binary, events, runs, expect):
    rt = runtime_api()
    env = lambda_env(rt.server_address[1])
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    warmup = 20
    walls = []
    answers = []
    cpu_start = None
    for i in range(warmup + runs):
        if i == warmup:
            cpu_start = cpu_seconds(proc.pid)
        rt.events.put(events(i))
        wall, resp = rt.answers.get(timeout=30)
        if resp.get("statusCode") != expect:
            proc.kill()
            raise SystemExit(f"{binary}: expected {expect}, got {resp}")
        answers.append(resp)
        if i >= warmup:
            walls.append(wall * 1000)
    cpu = (cpu_seconds(proc.pid) - cpu_start) * 1000 / runs
    rss = peak_rss_mb(proc.pid)
    proc.kill()
    proc.wait()
    rt.shutdown()
    walls.sort()
    return cpu, statistics.median(walls), walls[int(len(walls) * 0.99) - 1], rss, answers


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=True).stdout


def main():
    folder = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    gatehouse = os.path.join(folder, "gatehouse")
    data = tempfile.mkdtemp(prefix="gatehouse-invocations-")
    server = subprocess.Popen(
        [gatehouse, "serve", "--data-dir", data, "--addr", f"127.0.0.1:{ISSUER_PORT}",
         "--engine-addr", f"127.0.0.1:{ENGINE_PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(os.path.join(data, "engine-url")):
                break
            time.sleep(0.05)
        with open(os.path.join(data, "engine-credentials")) as f:
            ENGINE_CREDENTIALS.update(json.load(f))
        admin = [gatehouse, "--data-dir", data]
        m2m = json.loads(run(admin + ["client", "create", "--name", "job", "--type", "confidential",
                                      "--grant-type", "client_credentials", "--scope", "read", "--json"]))
        web = json.loads(run(admin + ["client", "create", "--name", "web", "--type", "confidential",
                                      "--grant-type", "authorization_code", "--redirect-uri",
                                      "https://app.example/cb", "--scope", "read", "--skip-consent", "--json"]))
        run(admin + ["user", "create", "--username", "alice", "--password-stdin"], "correct horse battery")
        auth = basic(m2m["client_id"], m2m["client_secret"])
        req = urllib.request.Request(f"{ISSUER}/token", data=b"grant_type=client_credentials&scope=read",
                                     headers=auth)
        access = json.load(urllib.request.urlopen(req))["access_token"]
        query = ("response_type=code&client_id=" + web["client_id"] +
                 "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read&state=s"
                 "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")

        # The login form and its CSRF cookie, from one GET through the function.
        rt = runtime_api()
        rt.events.put(event("GET", "/authorize", query))
        proc = subprocess.Popen([os.path.join(folder, "authorize")], env=lambda_env(rt.server_address[1]),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, page = rt.answers.get(timeout=30)
        proc.kill()
        proc.wait()
        rt.shutdown()
        html = page["body"]
        if page.get("isBase64Encoded"):
            html = base64.b64decode(html).decode()
        assert page["statusCode"] == 200, page
        field = lambda name: re.search(f'name="{name}" value="([^"]*)"', html).group(1)
        unescape = lambda s: re.sub(r"&#(\d+);", lambda m: chr(int(m.group(1))), s).replace("&amp;", "&")
        cookie = [c.split(";")[0] for c in page.get("cookies", []) if "csrf" in c]
        login = urllib.parse.urlencode({"request": unescape(field("request")),
                                        "csrf_token": unescape(field("csrf_token")),
                                        "action": "login", "username": "alice",
                                        "password": "correct horse battery"})

        calls = [
            ("token", "client_credentials token", lambda i: event(
                "POST", "/token", headers=auth, body="grant_type=client_credentials&scope=read"), 200),
            ("introspect", "introspect an active token", lambda i: event(
                "POST", "/introspect", headers=auth, body="token=" + access), 200),
            ("revoke", "revoke an unknown token", lambda i: event(
                "POST", "/revoke", headers=auth, body=f"token=unknown-{i}"), 200),
            ("discovery", "metadata", lambda i: event("GET", "/.well-known/oauth-authorization-server"), 200),
            ("authorize", "GET /authorize (login page)", lambda i: event("GET", "/authorize", query), 200),
            ("authorize", "POST /authorize login (argon2id), code issued", lambda i: event(
                "POST", "/authorize", body=login, cookies=cookie), 303),
        ]
        print("| function | call | CPU ms/invocation | wall p50 ms | wall p99 ms | peak RSS MB |")
        print("|---|---|---|---|---|---|")
        codes = []
        for binary, label, events, expect in calls:
            n = runs if "argon2" not in label else max(30, runs // 10)
            cpu, p50, p99, rss, answers = measure(os.path.join(folder, binary), events, n, expect)
            print(f"| {binary} | {label} | {cpu:.2f} | {p50:.2f} | {p99:.2f} | {rss:.0f} |")
            if "argon2" in label:
                codes = [re.search(r"[?&]code=([^&]+)", a["headers"]["location"]).group(1) for a in answers]
        # Each login above issued a code (RFC 7636 appendix B's challenge): redeem them.
        web_auth = basic(web["client_id"], web["client_secret"])
        exchange = lambda i: event("POST", "/token", headers=web_auth, body=(
            "grant_type=authorization_code&code=" + codes[i] +
            "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
            "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
        cpu, p50, p99, rss, _ = measure(os.path.join(folder, "token"), exchange, len(codes) - 20, 200)
        print(f"| token | authorization_code exchange | {cpu:.2f} | {p50:.2f} | {p99:.2f} | {rss:.0f} |")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
