"""The HTTP front of ``natlink serve``: waitress serving bolt's WSGI adapter, plus ``/healthz``.

waitress is a production server (a thread pool, request size limits, clean shutdown); bolt's own
``App.start`` is a development server and says so. Socket Mode needs no HTTP listener at all.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

EVENTS_PATH = "/slack/events"
Health = Callable[[], dict[str, Any]]


def wsgi_application(app: App, health: Health) -> Callable[..., Iterable[bytes]]:
    """Route ``GET /healthz`` to ``health`` and everything else to bolt (which answers 404 itself)."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            report = health()
            body = json.dumps(report).encode()
            status = "200 OK" if report.get("ok") else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return application


class HttpServer:
    """waitress on ``host:port`` until SIGTERM or SIGINT."""

    def __init__(
        self, application: Callable[..., Iterable[bytes]], host: str, port: int, threads: int = 16
    ) -> None:
        self._server = create_server(application, host=host, port=port, threads=threads, ident="natlink")

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
