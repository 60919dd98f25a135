"""The web page: a Slack-like workspace at ``/`` and its JSON endpoints under ``/web/``.

A person plays every user of the workspace in a browser (``people.py``) and acts in Azure as
the portal would (``azure_panel.py``). The page asks this server, never the bot: what they do
reaches the bot signed, as Slack delivers it. Stdlib only.

Endpoints (JSON unless noted):

* ``GET /`` the page; ``GET /web/app.js``, ``GET /web/app.css`` its script and style
* ``GET /web/config`` the workspace (users with roles, channels) and whether a bot and ARM are wired
* ``GET /web/state?user=U..`` what that user sees: channels, messages, their open modal, ``version``
* ``GET /web/version`` the change counter; ``GET /web/events`` the same as server-sent events
* ``POST /web/command`` ``{user, channel, text}``: ``/natlink ...`` as a signed slash command
* ``POST /web/message`` ``{user, channel, text}``: a plain message typed by the user
* ``POST /web/click`` ``{user, channel, ts, action_id, block_id?, value?}``: a signed block action
* ``POST /web/submit`` ``{user, view_id, values: {block_id: {action_id: text or {value, text}}}}``: a
  view submission (a picker's choice as ``{value, text}``)
* ``POST /web/close`` ``{user, view_id}``: close a modal without submitting
* ``POST /web/home`` ``{user}``: open natlink's Home tab (a signed ``app_home_opened``); ``state``'s
  ``home`` is what the bot published
* ``POST /web/suggest`` ``{user, view_id, block_id, value}``: an external_select's options load
* ``POST /web/shortcut`` ``{user, callback_id}``: a global shortcut (the composer's lightning menu)
* ``POST /web/message-shortcut`` ``{user, channel, ts, callback_id}``: a message's "More actions"
* ``GET /web/azure`` the ARM world, summarised, with what each side of each link sees
* ``POST /web/portal/power`` ``{vm: name or id, state: "stopped"|"running"}``
* ``POST /web/portal/reject`` ``{connection: id of a PLS privateEndpointConnection, description?}``
* ``POST /web/portal/endpoint`` ``{alias, name?, subnet?}``: a PE in Team A's subnet, manual connection
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from sandbox.loopback import Refusal

from .azure_panel import AzurePanel
from .changes import Changes
from .errors import SlackError
from .people import People
from .world import Json, World

STATIC = Path(__file__).resolve().parent / "web"
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/web/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/web/app.css": ("app.css", "text/css; charset=utf-8"),
}
KEEPALIVE_SECONDS = 15.0


class Page:
    """Serves ``/`` and ``/web/*`` for one Slack stand-in."""

    def __init__(self, world: World, base_url: str, bot_url: str | None, arm_config: Path | None) -> None:
        self.world = world
        self.changes = Changes()
        self.bot_url = bot_url
        self.people = People(world, base_url, bot_url, self.changes)
        self.azure = AzurePanel(arm_config)

    def static(self, path: str) -> tuple[bytes, str] | None:
        entry = STATIC_FILES.get(path)
        if entry is None:
            return None
        return (STATIC / entry[0]).read_bytes(), entry[1]

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Json]:
        route = self._routes(query, body if isinstance(body, dict) else {}).get((method, path))
        if route is None:
            return 404, {"ok": False, "error": "unknown_path"}
        try:
            return 200, route()
        except Refusal as err:
            return err.status, err.body()
        except SlackError as err:
            return 400, {"ok": False, "error": err.error, "detail": err.messages or None}
        except LookupError as err:
            return 404, {"ok": False, "error": "not_found", "detail": str(err)}

    def _routes(self, query: dict[str, str], spec: Json) -> dict[tuple[str, str], Callable[[], Json]]:
        people, azure = self.people, self.azure
        return {
            ("GET", "/web/state"): lambda: self.state(query.get("user", "")),
            ("GET", "/web/version"): lambda: {"ok": True, "version": self.changes.version},
            ("GET", "/web/config"): self.config,
            ("GET", "/web/file"): lambda: self.file(query.get("id", "")),
            ("POST", "/web/command"): lambda: people.command(spec),
            ("POST", "/web/message"): lambda: people.message(spec),
            ("POST", "/web/click"): lambda: people.click(spec),
            ("POST", "/web/submit"): lambda: people.submit(spec),
            ("POST", "/web/close"): lambda: people.close(spec),
            ("POST", "/web/home"): lambda: people.open_home(spec),
            ("POST", "/web/suggest"): lambda: people.suggest(spec),
            ("POST", "/web/shortcut"): lambda: people.shortcut(spec),
            ("POST", "/web/message-shortcut"): lambda: people.message_shortcut(spec),
            ("GET", "/web/azure"): azure.summary,
            ("POST", "/web/portal/power"): lambda: azure.power(spec),
            ("POST", "/web/portal/reject"): lambda: azure.reject(spec),
            ("POST", "/web/portal/endpoint"): lambda: azure.create_endpoint(spec),
        }

    def file(self, file_id: str) -> Json:
        """An uploaded file's name and text (files.py), for the page's table and download link."""
        with self.world.lock:
            found = self.world.files.get(file_id)
            if found is None or not found["completed"]:
                raise LookupError(f"no file {file_id}")
            return {"ok": True, "name": found["name"], "title": found["title"], "content": found["content"]}

    def config(self) -> Json:
        return {
            "ok": True,
            "workspace": self.people.workspace(),
            "bot_url": self.bot_url,
            "arm": self.azure.configured,
            "version": self.changes.version,
        }

    def state(self, uid: str) -> Json:
        return self.people.state(uid) | {"arm": self.azure.configured}

    def stream(self, handler: BaseHTTPRequestHandler) -> None:
        """``GET /web/events``: one ``version`` event now and on every change, a comment as keep-alive."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        seen = -1
        try:
            while not self.changes.closed:
                version = self.changes.version
                if version != seen:
                    seen = version
                    handler.wfile.write(
                        f"event: version\ndata: {json.dumps({'version': version})}\n\n".encode()
                    )
                else:
                    handler.wfile.write(b": keep-alive\n\n")
                handler.wfile.flush()
                self.changes.wait(seen, KEEPALIVE_SECONDS)
        except OSError:
            return  # the browser went away
