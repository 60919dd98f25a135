"""A tiny bot endpoint for the driver's tests: verifies each request as a bot would, and records it.

Verification uses slack_sdk's own ``SignatureVerifier``, so the driver is held to Slack's scheme
rather than to a copy of its own code. With a bolt ``App`` it serves the app through
``App.dispatch``, the way any bolt adapter does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    valid: bool


class BotEndpoint(ThreadingHTTPServer):
    """A bot's ``/slack/events`` on loopback: each delivery is checked with slack_sdk's verifier,
    then answered by ``answer``, which a test bot overrides."""

    daemon_threads = True

    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        super().__init__(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/slack/events"

    def close(self) -> None:
        self.shutdown()
        self.server_close()

    def answer(self, path: str, body: bytes, headers: dict[str, str], valid: bool) -> tuple[int, bytes, str]:
        """The status, body and content type to answer one delivery with."""
        raise NotImplementedError


class Receiver(BotEndpoint):
    """Records every delivery; with a bolt ``App``, serves it through ``App.dispatch``."""

    def __init__(self, signing_secret: str, app: App | None = None) -> None:
        self.app = app
        self.received: list[Received] = []
        super().__init__(signing_secret)

    def answer(self, path: str, body: bytes, headers: dict[str, str], valid: bool) -> tuple[int, bytes, str]:
        self.received.append(Received(path, body, headers, valid))
        if self.app is None:
            return (200 if valid else 401), b"", "text/plain"
        answer = self.app.dispatch(BoltRequest(body=body.decode(), headers=headers))
        return answer.status, answer.body.encode(), answer.first_headers().get("content-type", "text/plain")


class _Handler(BaseHTTPRequestHandler):
    server: BotEndpoint

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        valid = self.server.verifier.is_valid_request(body, headers)
        status, payload, content_type = self.server.answer(self.path, body, headers, valid)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
