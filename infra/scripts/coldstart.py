#!/usr/bin/env python3
"""Cold start of each Lambda function binary, measured locally.

Plays the Lambda Runtime API on a loopback port and starts a function binary the
way Lambda does (same environment variables). Reports the time from process start
to the function's first `GET .../invocation/next` (its init: configuration, the
DynamoDB client, the runtime). A first answer needs DynamoDB (even the metadata
reads the key set), so it is left to invocations.py, which runs an engine.

Usage: coldstart.py target/release [runs]
"""
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

EVENT = {
    "version": "2.0", "routeKey": "GET /.well-known/oauth-authorization-server",
    "rawPath": "/.well-known/oauth-authorization-server", "rawQueryString": "",
    "headers": {"host": "auth.example.com"},
    "requestContext": {
        "accountId": "123456789012", "apiId": "api", "domainName": "auth.example.com",
        "domainPrefix": "auth", "requestId": "req-1", "routeKey": "GET /.well-known/oauth-authorization-server",
        "stage": "$default", "time": "28/Nov/2026:00:00:00 +0000", "timeEpoch": 1795834000000,
        "http": {"method": "GET", "path": "/.well-known/oauth-authorization-server",
                 "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "coldstart"},
    },
    "isBase64Encoded": False,
}


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    events = None  # set per run: dict of timestamps

    def log_message(self, *args):
        pass

    def do_GET(self):
        ev = RuntimeApi.events
        if "next" in ev:  # second poll: nothing more to do
            time.sleep(5)
            return
        ev["next"] = time.perf_counter()
        body = json.dumps(EVENT).encode() if ev.get("invoke") else b"{}"
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:f")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the process was killed after its init was measured

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        RuntimeApi.events["response_body"] = self.rfile.read(length)
        RuntimeApi.events["response"] = time.perf_counter()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def run_once(binary, port, invoke):
    RuntimeApi.events = {"invoke": invoke}
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}", "AWS_LAMBDA_FUNCTION_NAME": "f",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_LOG_STREAM_NAME": "s", "AWS_LAMBDA_LOG_GROUP_NAME": "g",
        "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
        "GATEHOUSE_ISSUER": "https://auth.example.com", "GATEHOUSE_CLIENTS_TABLE": "c",
        "GATEHOUSE_TOKENS_TABLE": "t", "GATEHOUSE_GRANTS_TABLE": "g", "GATEHOUSE_SESSIONS_TABLE": "s", "GATEHOUSE_KEYS_TABLE": "k", "GATEHOUSE_SECRETS_TABLE": "sk", "GATEHOUSE_USERS_TABLE": "u",
        "GATEHOUSE_CONSENTS_TABLE": "cs", "GATEHOUSE_LOGIN_ATTEMPTS_TABLE": "la", "GATEHOUSE_ORIGINS_TABLE": "o", "GATEHOUSE_PROVIDERS_TABLE": "p", "GATEHOUSE_UPSTREAM_STATES_TABLE": "us", "GATEHOUSE_IDENTITIES_TABLE": "id", "GATEHOUSE_LOG_LEVEL": "error",
    })
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    key = "response" if invoke else "next"
    deadline = start + 10
    while key not in RuntimeApi.events and time.perf_counter() < deadline:
        time.sleep(0.0005)
    proc.kill()
    proc.wait()
    if key not in RuntimeApi.events:
        raise SystemExit(f"{binary}: no {key} within 10 s")
    if invoke:
        assert b'"statusCode":200' in RuntimeApi.events["response_body"].replace(b" ", b""), RuntimeApi.events
    return (RuntimeApi.events[key] - start) * 1000


def main():
    folder = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.handle_error = lambda request, address: None  # killed processes reset connections
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    print(f"{'function':<12} {'size MB':>8} {'init p50 ms':>12} {'init max ms':>12}")
    for name in ["authorize", "token", "introspect", "revoke", "discovery", "authorizer"]:
        binary = os.path.join(folder, name)
        times = sorted(run_once(binary, port, False) for _ in range(runs))
        size = os.path.getsize(binary) / 1e6
        print(f"{name:<12} {size:>8.1f} {statistics.median(times):>12.1f} {times[-1]:>12.1f}")
    # The metadata names the signing algorithms of the published keys, so a first
    # metadata response reads the key set: it needs an engine, and
    # invocations.py measures it warm.
    server.shutdown()


if __name__ == "__main__":
    main()
