"""`hasched web`: the UI served by uvicorn, with the access rules checked before it starts."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from hasched._connect import connect
from hasched._settings import Connection
from hasched.errors import ValidationError
from hasched.web._app import create_app

DEFAULT_BIND = "127.0.0.1:8080"


@dataclass(frozen=True, slots=True)
class WebSettings:
    """`hasched web`'s settings, validated."""

    host: str
    port: int
    read_only: bool
    token: str | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def web_settings(bind: str, token_file: str | None, env_token: str | None, read_only: bool) -> WebSettings:
    """Settings from the flags; a bind other than loopback without a token is refused."""
    host, sep, port = bind.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValidationError("bind", f"expected HOST:PORT, got {bind!r}")
    token = _read_token(token_file) if token_file else (env_token or "").strip() or None
    if token is None and not is_loopback(host):
        raise ValidationError(
            "bind", f"{host} is not a loopback address: serving it needs a token "
            "(--token-file or HASCHED_WEB_TOKEN), or bind 127.0.0.1",
        )  # fmt: skip
    return WebSettings(host, int(port), read_only, token)


def _read_token(path: str) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as e:
        raise ValidationError("token-file", f"cannot read {path}: {e.strerror or e}") from None
    if len(token) < 16:
        raise ValidationError("token-file", f"{path} holds {len(token)} characters; use at least 16")
    return token


def is_loopback(host: str) -> bool:
    """Only this machine can reach an address of the loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(args: argparse.Namespace, conn: Connection) -> int:
    """Run the UI until interrupted (SIGINT or SIGTERM)."""
    settings = web_settings(args.bind, args.token_file, args.web_token, args.read_only)
    app = create_app(connect(conn), namespace=conn.namespace, read_only=settings.read_only,
                     token=settings.token)  # fmt: skip
    access = "token required" if settings.token else "NO TOKEN: anyone on this host can use it"
    mode = ", read-only" if settings.read_only else ""
    print(f"hasched web: serving {settings.url} ({access}{mode})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", server_header=False)
    return 0
