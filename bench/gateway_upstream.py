#!/usr/bin/env python3
"""The benchmark's own OpenAI-compatible upstream (bench/gateway_bench.py runs it in a container): a fixed chat
completion, answered in one write with Nagle's algorithm off, so that the upstream adds well under a millisecond
and the gateway's own cost is what the benchmark sees. Standard library only.

    python3 gateway_upstream.py --port 8080
"""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = {
    "object": "chat.completion",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "bench reply"}}],
    "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10},
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment without waiting for the client's delayed ACK (~40 ms otherwise).
    disable_nagle_algorithm = True

    def log_message(self, *args):  # no access log
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        head = (f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: keep-alive\r\n\r\n").encode()
        self.wfile.write(head + body)

    def do_GET(self):
        self._send(200, {"status": "ok"} if self.path == "/health" else {"object": "list", "data": []})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self._send(200, dict(REPLY, id=f"chatcmpl-{time.monotonic_ns()}", created=int(time.time()),
                             model=body.get("model", "bench")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    # http.server listens with a backlog of 5: 64 clients connecting at once overflow it and wait for SYN
    # retransmits (1 s, 3 s), which would show as the upstream's latency.
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
