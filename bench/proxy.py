"""A latency proxy in front of moto: every request waits LATENCY seconds, then is forwarded.
Counts requests by AWS action; `GET /__stats` returns and `POST /__reset` clears the counts.
Runs in its own process so its work does not share a GIL with the benchmark driver.

    python proxy.py UPSTREAM_URL LATENCY_SECONDS PORT_FILE
"""

import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = urllib.parse.urlsplit(sys.argv[1])
LATENCY = float(sys.argv[2])
COUNTS: Counter = Counter()
LOCK = threading.Lock()
LOCAL = threading.local()


def upstream() -> http.client.HTTPConnection:
    conn = getattr(LOCAL, "conn", None)
    if conn is None:
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        LOCAL.conn = conn
    return conn


def action_of(handler: BaseHTTPRequestHandler) -> str:
    target = handler.headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    path = urllib.parse.urlsplit(handler.path).path.strip("/").split("/")
    names = {
        ("GET", 1): "ListSchedules",
        ("GET", 2): "GetSchedule",
        ("PUT", 2): "UpdateSchedule",
        ("POST", 2): "CreateSchedule",
    }
    if path and path[0] == "schedules":
        return names.get((handler.command, len(path)), f"{handler.command} /schedules")
    return f"{handler.command} /{'/'.join(path)}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def do_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__stats"):
            with LOCK:
                payload = json.dumps(dict(COUNTS)).encode()
            return self.reply(200, {"Content-Type": "application/json"}, payload)
        if self.path.startswith("/__reset"):
            with LOCK:
                COUNTS.clear()
            return self.reply(200, {}, b"{}")
        with LOCK:
            COUNTS[action_of(self)] += 1
        time.sleep(LATENCY)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        for attempt in range(2):
            try:
                conn = upstream()
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                LOCAL.conn = None
                if attempt:
                    return self.reply(502, {}, b"proxy: upstream failed")
        out = {k: v for k, v in response.getheaders() if k.lower() not in ("transfer-encoding", "connection", "content-length")}
        self.reply(response.status, out, data)

    def reply(self, status, headers, data):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_any


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[3], "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()
