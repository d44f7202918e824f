"""The ops routes of a Python worker, like the services' (``services/shared/http/ops-routes.ts``):
``GET /health`` (liveness: 200 while alive, 503 with the reasons) and ``GET /ready`` (readiness: 200 when
serving, 503 with the reasons), served from a daemon thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reasons = Callable[[], list[str]]


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, *args, state: Callable[[], str], not_alive: Reasons, not_ready: Reasons, **kwargs) -> None:
        self.state, self.not_alive, self.not_ready = state, not_alive, not_ready
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: probes come every few seconds
        return

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/health":
            reasons = self.not_alive()
            return self._json(503, {"status": "failing", "state": self.state(), "reasons": reasons}) if reasons else self._json(200, {"status": "ok", "state": self.state()})
        if self.path == "/ready":
            reasons = self.not_ready()
            return self._json(503, {"ready": False, "reasons": reasons}) if reasons else self._json(200, {"ready": True})
        return self._json(404, {"error": "not found"})


def start(host: str, port: int, state: Callable[[], str], not_alive: Reasons, not_ready: Reasons) -> ThreadingHTTPServer:
    """Serve the ops routes on ``host:port`` in a daemon thread; return the server (``shutdown()`` stops it)."""
    server = ThreadingHTTPServer((host, port), partial(_Handler, state=state, not_alive=not_alive, not_ready=not_ready))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="ops-http", daemon=True).start()
    return server
