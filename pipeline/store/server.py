"""A small HTTP artifact store: GET and PUT of files under one folder (for local runs, compose and tests).

Production deployments point ``ARTIFACT_STORE_URL`` at their own store (README "Deploying on
Kubernetes"); this one keeps nothing but files, refuses paths outside its folder, and writes each
file through a rename so a reader never sees half of one.

Usage::

    python -m pipeline.store.server --root DIR [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

MAX_BYTES = 512 * 1024 * 1024


def resolve_path(root: Path, url_path: str) -> Path | None:
    """Return the file a URL path names under ``root``, or None when it would leave ``root``.

    Examples
    --------
    >>> resolve_path(Path("/srv"), "/m/1/model.onnx").as_posix()
    '/srv/m/1/model.onnx'
    >>> resolve_path(Path("/srv"), "/../etc/passwd") is None, resolve_path(Path("/srv"), "/") is None
    (True, True)
    """
    parts = [p for p in unquote(urlparse(url_path).path).split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
        return None
    return root.joinpath(*parts)


class StoreHandler(BaseHTTPRequestHandler):
    """GET a file, PUT a new file (folders created; an existing one is 409), GET /health."""

    def __init__(self, *args, root: Path, **kwargs) -> None:
        self.root = root
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        """Quiet: one line per request on stderr only when STORE_LOG=1."""
        if os.environ.get("STORE_LOG") == "1":
            super().log_message(format, *args)

    def _reply(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """Serve a stored file."""
        if self.path == "/health":
            return self._reply(200, b"ok\n")
        path = resolve_path(self.root, self.path)
        if path is None or not path.is_file():
            return self._reply(404, b"not found\n")
        return self._reply(200, path.read_bytes(), "application/octet-stream")

    def do_PUT(self) -> None:  # noqa: N802
        """Store the request body at the path (atomically)."""
        path = resolve_path(self.root, self.path)
        length = int(self.headers.get("Content-Length") or -1)
        if path is None:
            return self._reply(400, b"bad path\n")
        if path.exists():
            # Versions are immutable: a second publication of the same version is refused, not overwritten.
            return self._reply(409, b"exists\n")
        if length < 0 or length > MAX_BYTES:
            return self._reply(411 if length < 0 else 413, b"Content-Length required, at most 512 MiB\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".put-", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            remaining = length
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                f.write(chunk)
                remaining -= len(chunk)
        if remaining:
            os.unlink(tmp)
            return self._reply(400, b"body shorter than Content-Length\n")
        os.replace(tmp, path)
        return self._reply(201, b"stored\n")


def serve(root: Path, host: str, port: int) -> ThreadingHTTPServer:
    """Return a server of ``root`` bound to ``host:port`` (port 0: any free port); call ``serve_forever``."""
    root.mkdir(parents=True, exist_ok=True)
    return ThreadingHTTPServer((host, port), partial(StoreHandler, root=root.resolve()))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: serve until interrupted."""
    p = argparse.ArgumentParser(prog="python -m pipeline.store.server", description=__doc__.strip().split("\n\n")[0])
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    args = p.parse_args(argv)
    server = serve(args.root, args.host, args.port)
    print(f"artifact store: {args.root} on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
