"""A local Argo CD stand-in for scripts/demo: serves GET /api/v1/applications/<app> as Argo CD's
REST API does (the fields of pkg/apis/application/v1alpha1/types.go), walking one sync of the
release commit: OutOfSync -> Running with a PreSync hook -> Succeeded + Progressing -> Healthy.
Each GET serves the next frame (the last one forever). Writes the port it listens on to PORT_FILE.

usage: demo_argocd.py PORT_FILE APP TOKEN REPO_URL OLD_COMMIT OLD_TAG COMMIT TAG IMAGE
"""

import datetime
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, app, token, repo, old, old_tag, commit, tag, image = sys.argv[1:10]


def at(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


SOURCE = {"repoURL": repo, "path": "apps/web/overlays/production", "targetRevision": "main"}


def frame(sync, revision, health, phase, op_revision, started, finished, reconciled, tags, hook):
    op = {
        "operation": {"sync": {"revision": op_revision}, "initiatedBy": {"automated": True}},
        "phase": phase,
        "message": "waiting for completion of hook batch/Job/db-migrate" if phase == "Running" else "successfully synced (all tasks run)",
        "startedAt": started,
        "syncResult": {
            "revision": op_revision,
            "source": SOURCE,
            "resources": [] if hook is None else [{
                "group": "batch", "version": "v1", "kind": "Job", "namespace": "web",
                "name": "db-migrate", "hookType": "PreSync", "hookPhase": hook, "syncPhase": "PreSync",
            }],
        },
    }
    if finished:
        op["finishedAt"] = finished
    return {
        "metadata": {"name": app, "namespace": "argocd"},
        "spec": {"project": "default", "source": SOURCE,
                 "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}},
        "status": {
            "sync": {"status": sync, "revision": revision},
            "health": {"status": health},
            "operationState": op,
            "reconciledAt": reconciled,
            "history": [{"id": 1, "revision": old, "deployStartedAt": at(-3600), "deployedAt": at(-3590), "source": SOURCE}],
            "summary": {"images": [f"{image}:{t}" for t in tags]},
        },
    }


FRAMES = [
    frame("OutOfSync", old, "Healthy", "Succeeded", old, at(-3600), at(-3590), at(-60), [old_tag], None),
    frame("OutOfSync", old, "Healthy", "Running", commit, at(-1), None, at(-60), [old_tag], "Running"),
    frame("OutOfSync", old, "Healthy", "Running", commit, at(-1), None, at(-60), [old_tag], "Running"),
    frame("Synced", commit, "Progressing", "Succeeded", commit, at(-1), at(2), at(3), [old_tag, tag], "Succeeded"),
    frame("Synced", commit, "Healthy", "Succeeded", commit, at(-1), at(2), at(5), [tag], "Succeeded"),
]
served = {"n": 0}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("Authorization") != f"Bearer {token}":
            return self.reply(401, {"error": "invalid session", "code": 16, "message": "invalid session"})
        if self.path.split("?")[0] != f"/api/v1/applications/{app}":
            return self.reply(404, {"error": "not found", "code": 5, "message": "not found"})
        body = FRAMES[min(served["n"], len(FRAMES) - 1)]
        served["n"] += 1
        self.reply(200, body)

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
