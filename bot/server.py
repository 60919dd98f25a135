"""The HTTP front of ``natlink serve``: waitress serving bolt's WSGI adapter, plus ``/healthz``.

waitress is a production server (a thread pool, request size limits, clean shutdown); bolt's own
``App.start`` is a development server and says so. Socket Mode needs no HTTP listener at all.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

EVENTS_PATH = "/slack/events"
# Slack's deliveries are a few kB; the largest is a click, whose block_actions payload carries the
# whole message. natlink's messages stop at 50 blocks of 3,000 characters (bot/views.py), which
# form-encoded comes to about 210 kB; percent-encoding of punctuation and non-ASCII text can double
# that. Anything bigger is not from Slack, and bolt holds several copies of a body while it judges
# the signature (a 64 MiB post peaked at ~490 MiB), so a larger body is refused before it is read.
MAX_BODY_BYTES = 512 * 1024
# What Slack sends: Unix seconds, and "v0=" with a hex HMAC-SHA256. Anything else is refused here,
# because bolt's own check raises (a 500 with a traceback) on e.g. a non-numeric timestamp.
TIMESTAMP = re.compile(r"[0-9]{1,15}")
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
Health = Callable[[], dict[str, Any]]
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus' text exposition format


def wsgi_application(
    app: App, health: Health, metrics: Callable[[], bytes] | None = None
) -> Callable[..., Iterable[bytes]]:
    """Route ``GET /healthz`` to ``health`` and ``GET /metrics`` to ``metrics`` (Prometheus text);
    refuse malformed signature headers with bolt's own 401; everything else goes to bolt (which
    answers 404 itself)."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            report = health()
            status = "200 OK" if report.get("ok") else "503 Service Unavailable"
            return _answer(start_response, status, json.dumps(report).encode())
        if metrics and environ.get("PATH_INFO") == "/metrics" and environ.get("REQUEST_METHOD") == "GET":
            body = metrics()
            start_response("200 OK", [("Content-Type", METRICS_TYPE), ("Content-Length", str(len(body)))])
            return [body]
        if _malformed_signature_headers(environ):
            return _answer(start_response, "401 Unauthorized", b'{"error": "invalid request"}')
        return slack(environ, start_response)

    return application


def _malformed_signature_headers(environ: dict[str, Any]) -> bool:
    """A present signature header Slack could not have sent. An absent one is left to bolt, which
    takes it as a failed check and answers 401 without raising."""
    checks = (("HTTP_X_SLACK_REQUEST_TIMESTAMP", TIMESTAMP), ("HTTP_X_SLACK_SIGNATURE", SIGNATURE))
    return any(name in environ and not pattern.fullmatch(environ[name]) for name, pattern in checks)


def _answer(start_response: Callable[..., Any], status: str, body: bytes) -> Iterable[bytes]:
    """A JSON answer that needs nothing from the request body."""
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class HttpServer:
    """waitress on ``host:port`` until SIGTERM or SIGINT.

    waitress answers 413 to a Content-Length over ``MAX_BODY_BYTES`` before reading any of the body,
    and stops reading a chunked body (which announces no length) once it passes the limit.
    """

    def __init__(
        self, application: Callable[..., Iterable[bytes]], host: str, port: int, threads: int = 16
    ) -> None:
        self._server = create_server(
            application,
            host=host,
            port=port,
            threads=threads,
            ident="natlink",
            max_request_body_size=MAX_BODY_BYTES + 1,  # waitress refuses a body of this size or more
        )

    @property
    def port(self) -> int:
        return self._server.effective_port  # type: ignore[union-attr]

    def serve(self) -> None:
        """Serve until a signal; waitress's run() answers SystemExit by finishing the requests in flight."""

        def stop(*_: object) -> None:
            raise SystemExit(0)

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        self._server.run()
