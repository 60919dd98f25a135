"""The HTTP server: the Web API under ``/api/``, response URLs under ``/hooks/``, control under ``/_sandbox/``,
and the web page at ``/`` with its endpoints under ``/web/`` (``page.py``).

Plain HTTP on loopback, like a developer's tunnel: one thread per connection, keep-alive on, so a
slow listener never holds up the others. Arguments are merged from the query string and a form
or JSON body, the three ways Slack's clients send them.
"""

from __future__ import annotations

import secrets
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.loopback import LoopbackServer, read_json, send_bytes, send_json

from . import api, files, hooks
from .control import CallLog, Control, FaultBook
from .errors import SlackError
from .page import Page
from .world import Json, World


class SlackServer(LoopbackServer):
    thread_name = "sandbox-slack"

    def __init__(
        self, world: World, port: int = 0, *, bot_url: str | None = None, arm_config: Path | None = None
    ) -> None:
        self.world = world
        self.faults = FaultBook()
        self.log = CallLog()
        super().__init__(port, _Handler)
        world.base_url = self.base_url
        self.control = Control(world, self.faults, self.log, self.base_url)
        self.page = Page(world, self.base_url, bot_url, arm_config)

    def shutdown(self) -> None:
        self.page.changes.close()  # let open event streams end
        super().shutdown()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SlackServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the call log is kept in memory and served by the control API."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_DELETE = do_PUT = do_GET

    def _serve(self) -> None:
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        if self.command == "GET" and url.path == "/web/events":
            self.server.page.stream(self)
            return
        if self.command == "GET" and (static := self.server.page.static(url.path)) is not None:
            send_bytes(self, 200, static[0], static[1], {"Cache-Control": "no-store"})
            return
        try:
            if url.path.startswith("/web/"):
                status, body = self.server.page.handle(self.command, url.path, query, read_json(raw))
                headers = {"Cache-Control": "no-store"}
            elif url.path.startswith("/api/"):
                status, body, headers = self._api(url.path.removeprefix("/api/"), query, raw)
            elif url.path.startswith(files.UPLOAD_PATH) and self.command == "POST":
                files.receive(self.server.world, url.path.removeprefix(files.UPLOAD_PATH), raw)
                status, body, headers = (
                    200,
                    {"ok": True},
                    {},
                )  # Slack answers 200 (files.getUploadURLExternal)
            elif url.path.startswith("/hooks/response/") and self.command == "POST":
                status, body, headers = self._hook(url.path.removeprefix("/hooks/response/"), raw)
            elif url.path.startswith("/_sandbox/"):
                action = url.path.removeprefix("/_sandbox/").strip("/")
                status, body = self.server.control.handle(self.command, action, query, read_json(raw))
                headers = {}
            else:
                status, body, headers = 404, {"ok": False, "error": "unknown_path"}, {}
        except SlackError as err:
            status, body, headers = err.status, err.body(), err.headers
        except Exception as exc:  # a sandbox bug must still answer like Slack, and say what broke
            status, body, headers = 500, {"ok": False, "error": "internal_error", "detail": repr(exc)}, {}
        if self._changes_world(url.path):
            self.server.page.changes.bump()
        self._send(status, body, headers)

    def _changes_world(self, path: str) -> bool:
        """Whether this request may have changed what the page shows (bumps the page's version)."""
        if path.startswith("/api/"):
            return path.removeprefix("/api/") not in api.READ_ONLY
        if path.startswith("/web/"):
            return False  # the web endpoints bump for themselves
        return self.command != "GET"

    def _api(self, method: str, query: dict[str, str], raw: bytes) -> tuple[int, Json, dict[str, str]]:
        args = dict(query)
        content_type = self.headers.get("Content-Type", "")
        if raw and "application/json" in content_type:
            body = read_json(raw)
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            args |= body
            token = None  # Slack reads the token of a JSON call from its Authorization header only
        else:
            args |= dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            token = args.get("token")
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        fault = self.server.faults.take(method)
        try:
            if fault is not None:
                raise fault
            answer = api.dispatch(self.server.world, method, args, token)
            status, headers = 200, {}
        except SlackError as err:
            answer, status, headers = err.body(), err.status, err.headers
        self.server.log.record(method, args, status, answer)
        # Slack sends the token's granted scopes with every Web API answer, as a comma-separated
        # ``x-oauth-scopes`` header (api.slack.com, "Using OAuth scopes": "Checking scopes").
        return status, answer, {"x-oauth-scopes": ",".join(self.server.world.scopes)} | headers

    def _hook(self, hook_id: str, raw: bytes) -> tuple[int, Json, dict[str, str]]:
        args = read_json(raw)
        logged = args if isinstance(args, dict) else {"raw": raw.decode("utf-8", "replace")}
        try:
            outcome = hooks.respond(self.server.world, hook_id, raw)
        except SlackError as err:
            self.server.log.record("response_url", logged, err.status, err.body())
            raise
        self.server.log.record("response_url", logged, 200, outcome)
        return 200, {"ok": True}, {}

    def _send(self, status: int, body: Json, headers: dict[str, str]) -> None:
        send_json(self, status, body, {"X-Slack-Req-Id": secrets.token_hex(16)} | headers)
