"""A latency proxy in front of moto: every request waits LATENCY seconds, then is forwarded.
Counts requests by AWS action, and answered ones by quota group (`__answered:<group>`);
`GET /__stats` returns and `POST /__reset` clears the counts; `GET /__quotas` returns the
default quotas it enforces with `quotas` (group: [rate per second, burst]).
Runs in its own process so its work does not share a GIL with the benchmark driver.

`POST /__throttle_once?action=A&nth=N` answers the N-th request of action A from then on with
a ThrottlingException (once, whatever the buckets say): a lone throttle, as AWS gives when
another tool took the last token.

Requests are forwarded whatever their action (moto answers the ones it implements).

With `quotas` as the fourth argument it also enforces AWS's default per-account request quotas,
one token bucket per quota group (full at the start and after `/__reset`, refilled at the
sustained rate up to the burst); a request that finds its bucket empty is answered
`400 ThrottlingException: Rate exceeded` after the latency, as AWS answers, and counted under
`__throttled` (and `__throttled:<Action>`).

    python proxy.py UPSTREAM_URL LATENCY_SECONDS PORT_FILE [quotas]

With BENCH_PROXY_TRACE=FILE in its environment it appends a line per request to FILE
(`start end action status`, seconds since the epoch): the timeline that shows which requests
wait on which (a diagnostic, not used by bench.py's figures).
"""

import http.client
import json
import os
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
QUOTAS = len(sys.argv) > 4 and sys.argv[4] == "quotas"
# [action, requests of it still to let through] of a pending one-shot throttle.
ONE_SHOT: list = []
TRACE = os.environ.get("BENCH_PROXY_TRACE")

# AWS's documented defaults (sustained per second, burst) per quota group.
DEFAULT_QUOTAS = {
    "eventbridge": (50.0, 50.0),
    "scheduler": (50.0, 50.0),
    "ecs-task-definition-writes": (1.0, 20.0),
    "ecs-reads": (20.0, 50.0),
    "ecs-tagging": (10.0, 20.0),
    "ecr": (10.0, 10.0),
    "iam": (10.0, 10.0),
    "ssm": (40.0, 40.0),
    "secrets-manager": (50.0, 50.0),
    "logs": (10.0, 10.0),
    "ec2": (20.0, 100.0),
}

# Services by X-Amz-Target prefix (JSON protocol) or query-protocol API Version.
TARGET_GROUPS = {"AmazonSSM": "ssm", "secretsmanager": "secrets-manager", "Logs_20140328": "logs"}
QUERY_VERSIONS = {"2010-05-08": "iam", "2016-11-15": "ec2"}


def group_of(handler: BaseHTTPRequestHandler, action: str) -> str | None:
    service = (handler.headers.get("X-Amz-Target") or "").split(".", 1)[0]
    if service in TARGET_GROUPS:
        return TARGET_GROUPS[service]
    version = getattr(LOCAL, "query_version", None)
    if version in QUERY_VERSIONS:
        return QUERY_VERSIONS[version]
    if service.startswith("AWSEvents"):
        return "eventbridge"
    if service.startswith("AmazonEC2ContainerRegistry"):
        return "ecr"
    if service.startswith("Logs_"):
        return "logs"
    if service.startswith("AmazonEC2ContainerService"):
        if action in ("RegisterTaskDefinition", "DeregisterTaskDefinition"):
            return "ecs-task-definition-writes"
        if action in ("TagResource", "UntagResource"):
            return "ecs-tagging"
        return "ecs-reads"
    if action in ("ListSchedules", "GetSchedule", "UpdateSchedule", "CreateSchedule"):
        return "scheduler"
    return None


class Bucket:
    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


BUCKETS: dict = {}


def reset_buckets() -> None:
    BUCKETS.clear()
    BUCKETS.update({g: Bucket(*q) for g, q in DEFAULT_QUOTAS.items()})


reset_buckets()


def upstream() -> http.client.HTTPConnection:
    conn = getattr(LOCAL, "conn", None)
    if conn is None:
        conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        LOCAL.conn = conn
    return conn


def action_of(handler: BaseHTTPRequestHandler) -> str:
    query_action = getattr(LOCAL, "query_action", None)
    if query_action:
        return query_action
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
        LOCAL.started = None
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__quotas"):
            payload = json.dumps(DEFAULT_QUOTAS).encode()
            return self.reply(200, {"Content-Type": "application/json"}, payload)
        if self.path.startswith("/__stats"):
            with LOCK:
                payload = json.dumps(dict(COUNTS)).encode()
            return self.reply(200, {"Content-Type": "application/json"}, payload)
        if self.path.startswith("/__reset"):
            with LOCK:
                COUNTS.clear()
                reset_buckets()
                ONE_SHOT.clear()
            return self.reply(200, {}, b"{}")
        if self.path.startswith("/__throttle_once"):
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            with LOCK:
                ONE_SHOT[:] = [query["action"], int(query["nth"]) - 1]
            return self.reply(200, {}, b"{}")
        # IAM and EC2 speak the query protocol: `Action` and `Version` in a form body.
        form = {}
        if (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        LOCAL.query_action = form.get("Action")
        LOCAL.query_version = form.get("Version")
        action = action_of(self)
        LOCAL.started, LOCAL.action = time.time(), action
        with LOCK:
            COUNTS[action] += 1
            group = group_of(self, action)
            throttled = QUOTAS and group is not None and not BUCKETS[group].take()
            if ONE_SHOT and ONE_SHOT[0] == action:
                if ONE_SHOT[1] == 0:
                    throttled = True
                    ONE_SHOT.clear()
                else:
                    ONE_SHOT[1] -= 1
            if throttled:
                COUNTS["__throttled"] += 1
                COUNTS[f"__throttled:{action}"] += 1
            elif group is not None:
                COUNTS[f"__answered:{group}"] += 1
        time.sleep(LATENCY)
        if throttled and LOCAL.query_action:
            xml = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"
            if LOCAL.query_version == "2016-11-15":
                xml = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Rate exceeded</Message></Error></Errors></Response>"
            return self.reply(400, {"Content-Type": "text/xml"}, xml.encode())
        if action == "SimulatePrincipalPolicy":
            # moto has no IAM policy simulator. Answered as an account whose jobdeploy role
            # may not simulate answers (verify's one warning for the run): the same one
            # request per role, after the same latency, as an evaluated answer.
            xml = ("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>"
                   "not authorized to perform: iam:SimulatePrincipalPolicy</Message></Error></ErrorResponse>")
            return self.reply(403, {"Content-Type": "text/xml"}, xml.encode())
        if throttled:
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": "ThrottlingException"}
            return self.reply(400, headers, body)
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
        if TRACE and getattr(LOCAL, "started", None) is not None:
            with LOCK, open(TRACE, "a") as f:
                f.write(f"{LOCAL.started:.4f} {time.time():.4f} {LOCAL.action} {status}\n")
            LOCAL.started = None
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_any


class Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a client opening its pool's connections at
    # once (16 or more) overflows it, the kernel drops the SYNs past it and the client sends
    # them again after TCP's 1 s (then 3 s, 7 s) retransmission timeout — a stall that is the
    # proxy's, not AWS's (its endpoints do not drop connections at that rate).
    request_queue_size = 1024


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[3], "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()
