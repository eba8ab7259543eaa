"""A stand-in for a remote schema registry, served on a free port of this machine: each
request is answered by ``answer(method, path, body)``, which a test sets and changes."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable

Answer = tuple[int, dict | list | bytes]


class _Handler(http.server.BaseHTTPRequestHandler):
    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.stub.requests.append((self.command, self.path))
        status, payload = self.server.stub.answer(self.command, self.path, body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _reply

    def log_message(self, *args) -> None:
        pass


class StubRegistry:
    def __init__(self, answer: Callable[[str, str, dict | None], Answer]) -> None:
        self.answer = answer
        self.requests: list[tuple[str, str]] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
