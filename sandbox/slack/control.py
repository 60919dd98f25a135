"""The control API under ``/_sandbox/``: faults, the call log, messages, views, and Slack's side.

It lives outside ``/api/`` so that no Web API client can reach it by accident, and needs no token:
it is for the tests, the driver and the demo page on this machine. The driver uses it to have
trigger IDs and response URLs issued, as Slack issues them with each command or click.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from . import api, interactivity, socket_mode
from .errors import SlackError
from .world import (
    APP_ID,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_DOMAIN,
    TEAM_ID,
    TRIGGER_SECONDS,
    Json,
    World,
    public,
)

FAULT_STATUSES = {429, 500, 503}


@dataclass
class Fault:
    """Answer the next ``remaining`` calls of ``method`` with ``status`` (or ``ok: false, error``)."""

    method: str
    remaining: int
    status: int
    error: str
    retry_after: int

    def as_error(self) -> SlackError:
        if self.status == 429:
            return SlackError("ratelimited", status=429, headers={"Retry-After": str(self.retry_after)})
        return SlackError(self.error, status=self.status)


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.faults: list[Fault] = []

    def add(self, spec: Json) -> Fault:
        method = spec.get("method")
        if not isinstance(method, str) or not method:
            raise SlackError("invalid_fault", ["'method' names a Web API method, or '*' for all"], status=400)
        error = spec.get("error")
        status = int(spec.get("status", 200 if error else 429))
        if status != 200 and status not in FAULT_STATUSES:
            raise SlackError(
                "invalid_fault", [f"'status' must be 200 or one of {sorted(FAULT_STATUSES)}"], status=400
            )
        fault = Fault(
            method=method,
            remaining=int(spec.get("count", 1)),
            status=status,
            error=str(error or ("ratelimited" if status == 429 else "internal_error")),
            retry_after=int(spec.get("retry_after", 1)),
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def take(self, method: str) -> SlackError | None:
        """The error to answer this call with, consuming one use of the first matching fault."""
        with self._lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.method in ("*", method):
                    fault.remaining -= 1
                    return fault.as_error()
        return None

    def pending(self) -> list[Json]:
        with self._lock:
            return [dict(vars(f)) for f in self.faults if f.remaining > 0]

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()


class CallLog:
    """Every Web API call and response-URL post, so tests can see what the bot sent and retried."""

    def __init__(self, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self.calls: deque[Json] = deque(maxlen=keep)

    def record(self, method: str, args: Json, status: int, response: Json) -> None:
        shown = {k: ("[redacted]" if k == "token" else v) for k, v in args.items()}
        entry = {"time": time.time(), "method": method, "args": shown, "status": status, "response": response}
        with self._lock:
            self.calls.append(entry)

    def report(self, method: str | None) -> list[Json]:
        with self._lock:
            return [c for c in self.calls if method in (None, c["method"])]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()


def describe(world: World, base_url: str) -> Json:
    """Everything a client needs to connect: the first stdout line and ``GET /_sandbox/world``."""
    with world.lock:
        humans = [u for u in world.users.values() if not u["is_bot"]]
        channels = [c for c in world.channels.values() if not c["is_im"]]
        return {
            "api_url": f"{base_url}/api/",
            "base_url": base_url,
            "control_url": f"{base_url}/_sandbox",
            "bot_token": BOT_TOKEN,
            "app_token": socket_mode.APP_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "team_id": TEAM_ID,
            "team_domain": TEAM_DOMAIN,
            "api_app_id": APP_ID,
            "bot_user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "users": {u["name"]: {"id": u["id"]} | u.get("_natlink", {}) for u in humans},
            "channels": {c["name"]: c["id"] for c in channels},
            "shortcuts": list(interactivity.SHORTCUTS),  # what the app declares (its manifest)
        }


class Control:
    """Serve one ``/_sandbox/<action>`` request."""

    def __init__(self, world: World, faults: FaultBook, log: CallLog, base_url: str) -> None:
        self.world, self.faults, self.log, self.base_url = world, faults, log, base_url

    def handle(self, method: str, action: str, query: dict[str, str], body: Any) -> tuple[int, Json]:
        spec = body if isinstance(body, dict) else {}
        routes = {
            ("GET", "health"): lambda: {"ok": True},
            ("GET", "world"): lambda: describe(self.world, self.base_url),
            ("GET", "calls"): lambda: {"calls": self.log.report(query.get("method"))},
            ("DELETE", "calls"): lambda: (self.log.clear(), {"cleared": True})[1],
            ("GET", "faults"): lambda: {"faults": self.faults.pending()},
            ("POST", "faults"): lambda: vars(self.faults.add(spec)),
            ("DELETE", "faults"): lambda: (self.faults.clear(), {"cleared": True})[1],
            ("GET", "messages"): lambda: self._messages(query),
            ("POST", "messages"): lambda: self._post_as_user(spec),
            ("POST", "command-answers"): lambda: self._command_answer(spec),
            ("GET", "views"): lambda: self._views(query),
            ("POST", "triggers"): lambda: self._trigger(spec),
            ("POST", "response-urls"): lambda: self._response_url(spec),
            ("POST", "reset"): self._reset,
            ("POST", "channels"): lambda: self._saved(
                self.world.add_channel(
                    str(spec.get("name", "")), bool(spec.get("private")), bool(spec.get("bot"))
                )
            ),
            ("POST", "invite"): lambda: self._saved(self.world.invite_bot(spec.get("channel"))),
            ("POST", "kick"): lambda: self._saved(self.world.remove_bot(spec.get("channel"))),
            ("GET", "scopes"): lambda: {"scopes": self.world.scopes},
            ("PUT", "scopes"): lambda: self._scopes(spec),
            ("GET", "home"): lambda: self._home(query),
            ("PUT", "app-home"): lambda: self._app_home(spec),
            ("GET", "socket"): self._socket,
            ("POST", "socket/deliver"): lambda: self._socket_deliver(spec),
            ("POST", "socket/disconnect"): lambda: self._socket_disconnect(spec),
        }
        route = routes.get((method, action))
        if route is None:
            raise SlackError("unknown_control_action", [f"no '{method} /_sandbox/{action}'"], status=404)
        return 200, route()

    def _messages(self, query: dict[str, str]) -> Json:
        """Stored messages, oldest first; ``channel``, ``ts`` and ``include_deleted=1`` narrow them."""
        with self.world.lock:
            ids = (
                [self.world.channel(query["channel"])["id"]]
                if query.get("channel")
                else list(self.world.messages)
            )
            records = [r for cid in ids for r in self.world.messages.get(cid, [])]
            if query.get("include_deleted") not in ("1", "true"):
                records = [r for r in records if not r["deleted"]]
            if query.get("ts"):
                records = [r for r in records if r["message"]["ts"] == query["ts"]]
            return {"messages": sorted(records, key=lambda r: float(r["message"]["ts"]))}

    def _post_as_user(self, spec: Json) -> Json:
        """A message typed by a person, so tests can try to edit what is not the bot's."""
        with self.world.lock:
            user = self.world.user(spec.get("user"))
            channel = self.world.channel(spec.get("channel"))
            message = {
                "type": "message",
                "text": str(spec.get("text", "")),
                "user": user["id"],
                "team": TEAM_ID,
                "ts": self.world.next_ts(),
            }
            self.world.add_message(channel["id"], message, via="person")
            self.world.save()
            return {"channel": channel["id"], "ts": message["ts"], "message": message}

    def _command_answer(self, spec: Json) -> Json:
        """A slash command's HTTP answer (``body``) shown as Slack shows it, ephemeral to ``user``
        unless ``in_channel``: what the page does for a typed command, for tests that drive the bot
        with the driver and then click the answer's buttons."""
        body = spec.get("body") or {}
        text, blocks = api.message_content(body)
        with self.world.lock:
            channel, user = self.world.channel(spec.get("channel")), self.world.user(spec.get("user"))
            message = api.bot_message(self.world, text, blocks)
            to = None if body.get("response_type") == "in_channel" else user["id"]
            self.world.add_message(channel["id"], message, via="slash_command_response", ephemeral_to=to)
            self.world.save()
        return {"channel": channel["id"], "ts": message["ts"]}

    def _views(self, query: dict[str, str]) -> Json:
        with self.world.lock:
            views = [public(v) | {"user": v["_user"]} for v in self.world.views.values()]
        if query.get("id"):
            views = [v for v in views if v["id"] == query["id"]]
        return {"views": views}

    def _trigger(self, spec: Json) -> Json:
        with self.world.lock:
            trigger_id = self.world.issue_trigger(str(spec.get("user", "")))
        return {"trigger_id": trigger_id, "expires_in": TRIGGER_SECONDS}

    def _response_url(self, spec: Json) -> Json:
        with self.world.lock:
            hook_id = self.world.issue_response_url(
                str(spec.get("channel", "")),
                str(spec.get("user", "")),
                spec.get("message_ts"),
                bool(spec.get("ephemeral", False)),
            )
            self.world.save()
        return {"response_url": f"{self.base_url}/hooks/response/{hook_id}"}

    def _home(self, query: dict[str, str]) -> Json:
        """A user's App Home: its DM channel (app_home_opened names it) and the Home tab as last
        published (``None`` before the first views.publish)."""
        with self.world.lock:
            user = self.world.user(query.get("user"))
            channel = self.world.open_dm(user["id"])
            home = self.world.homes.get(user["id"])
            self.world.save()
            return {"channel": channel["id"], "view": public(home) if home else None}

    def _app_home(self, spec: Json) -> Json:
        """The app's Home tab on or off, as app.yaml's ``features.app_home.home_tab_enabled`` says."""
        enabled = spec.get("home_tab_enabled")
        if not isinstance(enabled, bool):
            raise SlackError(
                "invalid_arguments", ["[ERROR] 'home_tab_enabled' must be true or false"], status=400
            )
        with self.world.lock:
            self.world.home_tab = enabled
            self.world.save()
        return {"home_tab_enabled": enabled}

    def _socket(self) -> Json:
        """Socket Mode: the open connections (``num_connections``), tickets and acks nobody waited for."""
        endpoint = socket_mode.hub(self.world)
        if endpoint is None:
            return {"started": False, "num_connections": 0, "connections": []}
        return {"started": True} | endpoint.describe()

    def _socket_deliver(self, spec: Json) -> Json:
        """Send ``{"type": "slash_commands"|"interactive", "payload": {...}}`` as an envelope to a connected
        app and answer with its ack (``payload`` is what the app put in it); ``timeout`` defaults to Slack's 3 s."""
        kind, payload = spec.get("type"), spec.get("payload")
        if kind not in ("slash_commands", "interactive", "events_api") or not isinstance(payload, dict):
            raise SlackError(
                "invalid_envelope",
                ["'type' is slash_commands, interactive or events_api and 'payload' an object"],
                status=400,
            )
        endpoint = socket_mode.hub(self.world)
        if endpoint is None:
            raise SlackError("no_socket_connection", ["no app has called apps.connections.open"], status=409)
        extra = {k: spec[k] for k in ("retry_attempt", "retry_reason") if k in spec}
        timeout = min(max(float(spec.get("timeout", socket_mode.ACK_SECONDS)), 0.0), 60.0)
        return endpoint.deliver(kind, payload, timeout=timeout, extra=extra)

    def _socket_disconnect(self, spec: Json) -> Json:
        """Slack's ``{"type": "disconnect"}`` to every connection, as before a restart (the app reconnects)."""
        endpoint = socket_mode.hub(self.world)
        reason = str(spec.get("reason", "refresh_requested"))
        return {"sent": endpoint.disconnect(reason) if endpoint else 0}

    def _saved(self, channel: Json) -> Json:
        """A channel made or changed through the control API, saved, as the bot's token would see it."""
        self.world.save()
        return public(channel) | {"is_member": BOT_USER_ID in channel["_members"]}

    def _scopes(self, spec: Json) -> Json:
        """The bot token's scopes, as a workspace that granted others would have them."""
        scopes = spec.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise SlackError("invalid_arguments", ["[ERROR] 'scopes' must be a list of strings"], status=400)
        with self.world.lock:
            self.world.scopes = list(scopes)
            self.world.save()
        return {"scopes": self.world.scopes}

    def _reset(self) -> Json:
        self.world.reset()
        self.world.save()
        self.faults.clear()
        self.log.clear()
        return {"reset": True}
