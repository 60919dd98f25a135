"""HTTP on 127.0.0.1, shared by the stand-ins and the code that drives them.

The server side: a threaded server whose slow clients never hold up the others, JSON bodies in
and out. The client side: one request whose error statuses are answers, not exceptions, and the
stand-ins' control API call. Stdlib only, so a stand-in shares no code with the product.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


class LoopbackServer(ThreadingHTTPServer):
    """One thread per connection on 127.0.0.1; shutting down does not wait for open connections."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    scheme = "http"
    thread_name = "sandbox"

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__((HOST, port), handler)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{HOST}:{self.server_address[1]}"

    def serve_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name=self.thread_name, daemon=True)
        thread.start()
        return thread


class Refusal(Exception):
    """A request refused with an HTTP status and ``{"ok": false, "error": ..., "detail": ...}``."""

    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


def free_port() -> int:
    """A port nothing listens on now, for a child that must be told its port before it starts."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def read_json(raw: bytes, unparseable: Any = None) -> Any:
    """A request body: ``None`` when empty, ``unparseable`` when it is not JSON."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return unparseable


def send_bytes(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(payload)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(payload)


def send_json(
    handler: BaseHTTPRequestHandler, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> None:
    """``body`` as JSON; ``None`` sends an empty body (an ARM 202 has none)."""
    payload = b"" if body is None else json.dumps(body).encode()
    send_bytes(handler, status, payload, "application/json; charset=utf-8", headers)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


def request(
    method: str,
    url: str,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    context: ssl.SSLContext | None = None,
    timeout: float = 30.0,
) -> Response:
    """One HTTP request; an error status is returned like any other, only a dead socket raises."""
    outgoing = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(outgoing, context=context, timeout=timeout) as answer:
            return Response(answer.status, _lower(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, _lower(err.headers.items()), err.read())


def control(
    control_url: str,
    method: str,
    action: str,
    body: Any = None,
    query: Mapping[str, str] | None = None,
    *,
    ca_bundle: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """One call to a stand-in's ``/_sandbox/<action>``; a refusal raises ``RuntimeError`` with its body."""
    url = f"{control_url}/{action}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
    answer = request(
        method, url, data, {"Content-Type": "application/json"}, context=context, timeout=timeout
    )
    if answer.status >= 400:
        raise RuntimeError(f"{answer.status}: {answer.body.decode(errors='replace')}")
    return json.loads(answer.body or b"{}")


def _lower(items: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in items}
