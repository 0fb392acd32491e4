"""The HTTP endpoints of every instance (README: Metrics and endpoints): /metrics, /healthz, /status.

Served from their own threads (one per request), so a slow or stuck scrape never blocks the
scheduler loop; `/status` reads Redis through the client's connection pool with its own socket
timeout.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from hasched.errors import StartupError, ValidationError

Health = Callable[[], tuple[bool, dict[str, Any]]]
Status = Callable[[], dict[str, Any]]


def parse_addr(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 as [::1]:PORT) for --metrics-addr."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValidationError("metrics-addr", f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], registry: CollectorRegistry, health: Health,
                 status: Status) -> None:  # fmt: skip
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, _Handler)
        self.registry, self.health, self.status = registry, health, status


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            ok, detail = self.server.health()
            self._json(200 if ok else 503, detail)
        elif path == "/status":
            try:
                self._json(200, self.server.status())
            except Exception as e:  # Redis unreachable: say so, the loop is unaffected
                self._json(503, {"error": type(e).__name__})
        else:
            self._send(404, b"not found\n", "text/plain")

    def _json(self, code: int, body: dict[str, Any]) -> None:
        self._send(code, json.dumps(body, sort_keys=True).encode() + b"\n", "application/json")

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


class HttpEndpoints:
    """The endpoint server of one instance, started and stopped with it."""

    def __init__(self, addr: str, registry: CollectorRegistry, health: Health, status: Status) -> None:
        self._server = _Server(parse_addr(addr), registry, health, status)
        self._thread = threading.Thread(target=self._server.serve_forever, name="hasched-http", daemon=True)

    def start(self) -> HttpEndpoints:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(addr: str | None, registry: CollectorRegistry, health: Health, status: Status, *,
          option: str = "metrics-addr") -> HttpEndpoints | None:  # fmt: skip
    """Start the endpoints on `addr`, or nothing when it is empty; a port that cannot be bound is
    a StartupError naming `option` (the flag or keyword the address came from)."""
    if not addr:
        return None
    try:
        return HttpEndpoints(addr, registry, health, status).start()
    except OSError as e:
        raise StartupError(f"{option} {addr}: {e.strerror or e}") from None
