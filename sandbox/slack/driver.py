"""Play Slack's side towards a bot: signed slash commands, button clicks and view submissions.

Each delivery is built as Slack builds it (form-encoded, ``payload=`` JSON for interactions,
``X-Slack-Signature: v0=hmac_sha256(secret, "v0:{ts}:{body}")``) and carries a trigger ID and a
response URL that the stand-in issued, so whatever the bot does with them is honoured and
recorded. Knobs forge what an attacker or a flaky network would send: a wrong signature, a
stale timestamp, and a replay of the same delivery with Slack's retry headers.

With ``socket_mode=True`` the same payloads go the way Socket Mode carries them instead: as the
``payload`` of an envelope (``slash_commands`` or ``interactive``) that the stand-in sends down the
app's WebSocket (``POST /_sandbox/socket/deliver``). There is no signature over a socket; the
``Reply`` is 200 with the app's ack payload as its JSON body (empty for a bare ack), or the
stand-in's refusal (409 no connection, 504 ``operation_timeout``) with its error body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.loopback import control, request

from . import interactivity
from .interactivity import AnswerRefused

VERIFICATION_TOKEN = "sandboxVerificationToken"  # Slack still sends the deprecated token field
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
SLASH_COMMANDS, INTERACTIVE, EVENTS_API = (
    "slash_commands",
    "interactive",
    "events_api",
)  # Socket Mode's envelope types


@dataclass(frozen=True)
class Delivery:
    """One request exactly as sent, so it can be replayed byte for byte."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Reply:
    """The bot's answer: status, headers (lower-cased names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes
    delivery: Delivery = field(repr=False)
    socket: dict[str, Any] | None = field(default=None, repr=False)  # Socket Mode: envelope and ack

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Driver:
    """Sends what Slack would send to ``bot_url`` for the workspace described by ``config``.

    ``config`` is the stand-in's first stdout line. Users and channels may be named
    (``"alice"``, ``"#team-a"``) or given by ID. With ``socket_mode=True`` (``bot_url`` then unused,
    may be ``None``) deliveries go as Socket Mode envelopes through the stand-in instead.
    """

    def __init__(
        self,
        bot_url: str | None,
        config: Mapping[str, Any],
        *,
        timeout: float = 10,
        socket_mode: bool = False,
    ) -> None:
        if bot_url is None and not socket_mode:
            raise ValueError("a bot_url is needed unless socket_mode=True")
        self.bot_url = bot_url
        self.config = config
        self.timeout = timeout
        self.socket_mode = socket_mode
        self.last: Reply | None = None

    # -- what a person does ---------------------------------------------------------------------

    def slash_command(
        self,
        user: str,
        channel: str,
        text: str,
        command: str = "/natlink",
        *,
        wrong_signature: bool = False,
        age: float = 0.0,
    ) -> Reply:
        uid, cid = self.user_id(user), self.channel_id(channel)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.config["team_id"],
            "team_domain": self.config["team_domain"],
            "channel_id": cid,
            "channel_name": self.channel_name(cid),
            "user_id": uid,
            "user_name": self.user_name(uid),
            "command": command,
            "text": text,
            "api_app_id": self.config["api_app_id"],
            "is_enterprise_install": "false",
            "response_url": self._response_url(cid, uid, None, False),
            "trigger_id": self._trigger(uid),
        }
        return self._deliver(SLASH_COMMANDS, fields, wrong_signature, age)

    def click(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
        *,
        wrong_signature: bool = False,
        age: float = 0.0,
    ) -> Reply:
        """Click the button ``action_id`` on a stored message; a button that is not there cannot be clicked."""
        uid, cid = self.user_id(user), self.channel_id(channel)
        found = self._control("GET", "messages", query={"channel": cid, "ts": message_ts})["messages"]
        if not found:
            raise LookupError(f"no message {message_ts} in {cid}")
        record = found[0]
        block, element = _find_action(record["message"].get("blocks") or [], action_id, block_id)
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block.get("block_id", ""),
            "type": element.get("type", "button"),
            "action_ts": f"{time.time():.6f}",
        }
        for key in ("text", "style"):
            if key in element:
                action[key] = element[key]
        chosen = value if value is not None else element.get("value")
        if chosen is not None:
            action["value"] = chosen
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_object(uid),
            "api_app_id": self.config["api_app_id"],
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": cid,
                "is_ephemeral": record["ephemeral"],
            },
            "trigger_id": self._trigger(uid),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": cid, "name": self.channel_name(cid)},
            "state": {"values": {}},
            "response_url": self._response_url(cid, uid, message_ts, record["ephemeral"]),
            "actions": [action],
        }
        if not record["ephemeral"]:
            payload["message"] = record["message"]  # Slack leaves the message out for ephemerals
        return self._deliver(INTERACTIVE, payload, wrong_signature, age)

    def submit_view(
        self,
        user: str,
        view: str | Mapping[str, Any],
        values: Mapping[str, Mapping[str, Any]],
        *,
        wrong_signature: bool = False,
        age: float = 0.0,
    ) -> Reply:
        """Submit an open modal. ``values`` maps block_id → action_id → a string or a full state value."""
        uid = self.user_id(user)
        view_id = view if isinstance(view, str) else view["id"]
        found = self._control("GET", "views", query={"id": view_id})["views"]
        if not found:
            raise LookupError(f"no view {view_id}")
        stored = {k: v for k, v in found[0].items() if k != "user"}
        state = {
            block_id: {
                action_id: (
                    _state_value(_input_type(stored, block_id, action_id), entry)
                    if isinstance(entry, str)
                    else dict(entry)
                )
                for action_id, entry in actions.items()
            }
            for block_id, actions in values.items()
        }
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user_object(uid),
            "api_app_id": self.config["api_app_id"],
            "token": VERIFICATION_TOKEN,
            "trigger_id": self._trigger(uid),
            "view": stored | {"state": {"values": state}},
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        reply = self._deliver(INTERACTIVE, payload, wrong_signature, age)
        if reply.status == 200 and (refused := interactivity.submission_errors(stored, _json_or_none(reply))):
            raise AnswerRefused(refused)
        return reply

    def suggest(self, user: str, view: str | Mapping[str, Any], block_id: str, typed: str = "") -> Reply:
        """What Slack sends the options load URL as the person types into an open view's
        ``external_select`` (``block_suggestion``); an answer Slack would not show raises ``AnswerRefused``."""
        uid = self.user_id(user)
        stored = self._view(view)
        element = next(
            (
                b.get("element") or {}
                for b in stored.get("blocks") or []
                if b.get("block_id") == block_id and (b.get("element") or {}).get("type") == "external_select"
            ),
            None,
        )
        if element is None:
            raise LookupError(f"no external_select in block {block_id!r} of view {stored['id']}")
        if len(typed) < interactivity.min_query_length(element):
            raise LookupError(
                f"Slack sends no options load before {interactivity.min_query_length(element)} characters"
            )
        payload = {
            "type": "block_suggestion",
            "user": self._user_object(uid),
            "container": {"type": "view", "view_id": stored["id"]},
            "api_app_id": self.config["api_app_id"],
            "token": VERIFICATION_TOKEN,
            "action_id": element["action_id"],
            "block_id": block_id,
            "value": typed,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": stored,
        }
        started = time.monotonic()
        reply = self._deliver(INTERACTIVE, payload, False, 0.0)
        refused = interactivity.options_errors(reply.status, _json_or_none(reply), time.monotonic() - started)
        if refused:
            raise AnswerRefused(refused)
        return reply

    def shortcut(self, user: str, callback_id: str) -> Reply:
        """A global shortcut, from the composer's shortcut menu: no channel, a trigger to open a modal."""
        interactivity.shortcut(callback_id, "global")
        uid = self.user_id(user)
        payload = {
            "type": "shortcut",
            "token": VERIFICATION_TOKEN,
            "action_ts": f"{time.time():.6f}",
            "team": self._team(),
            "user": self._user_object(uid) | {"username": self.user_name(uid)},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self._trigger(uid),
        }
        return self._deliver(INTERACTIVE, payload, False, 0.0)

    def message_shortcut(self, user: str, channel: str, message_ts: str, callback_id: str) -> Reply:
        """A message shortcut from a message's "More actions" menu (``message_action``): the channel,
        the whole message, a trigger and a response URL."""
        interactivity.shortcut(callback_id, "message")
        uid, cid = self.user_id(user), self.channel_id(channel)
        found = self._control("GET", "messages", query={"channel": cid, "ts": message_ts})["messages"]
        if not found or (found[0]["ephemeral"] and found[0]["to"] != uid):
            raise LookupError(f"no message {message_ts} in {cid} that {uid} can see")
        payload = {
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "action_ts": f"{time.time():.6f}",
            "team": self._team(),
            "user": self._user_object(uid),
            "channel": {"id": cid, "name": self.channel_name(cid)},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self._trigger(uid),
            "response_url": self._response_url(cid, uid, message_ts, found[0]["ephemeral"]),
            "message_ts": message_ts,
            "message": found[0]["message"],
        }
        return self._deliver(INTERACTIVE, payload, False, 0.0)

    def _view(self, view: str | Mapping[str, Any]) -> dict[str, Any]:
        view_id = view if isinstance(view, str) else view["id"]
        found = self._control("GET", "views", query={"id": view_id})["views"]
        if not found:
            raise LookupError(f"no view {view_id}")
        return {k: v for k, v in found[0].items() if k != "user"}

    def open_home(self, user: str, tab: str = "home", *, wrong_signature: bool = False) -> Reply:
        """The person opens natlink's App Home: Slack sends ``app_home_opened`` in an Events API
        envelope (api.slack.com/events/app_home_opened: ``tab`` is "home" or "messages"; ``view``, the
        Home tab as last published, only once one was), as JSON, signed like every delivery."""
        uid = self.user_id(user)
        home = self._control("GET", "home", query={"user": uid})
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": uid,
            "channel": home["channel"],
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        if tab == "home" and home.get("view"):
            event["view"] = home["view"]
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.config["team_id"],
            "api_app_id": self.config["api_app_id"],
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.config["team_id"],
                    "user_id": self.config["bot_user_id"],
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return self._deliver(EVENTS_API, payload, wrong_signature, 0.0)

    def replay(self, delivery: Delivery | Reply, retry_num: int = 1, reason: str = "http_timeout") -> Reply:
        """Send the same delivery again, byte for byte, as Slack retries it (over a socket: the same
        payload in a new envelope carrying ``retry_attempt`` and ``retry_reason``)."""
        original = delivery.delivery if isinstance(delivery, Reply) else delivery
        if self.socket_mode:
            spec = json.loads(original.body) | {"retry_attempt": retry_num, "retry_reason": reason}
            return self.send(Delivery(original.url, json.dumps(spec).encode(), original.headers))
        headers = original.headers | {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}
        return self.send(Delivery(original.url, original.body, headers))

    # -- the wire -------------------------------------------------------------------------------

    def _deliver(self, kind: str, payload: Mapping[str, Any], wrong_signature: bool, age: float) -> Reply:
        """``payload`` is the command's fields or the interaction's payload, as Socket Mode carries it;
        over HTTP it is form-encoded (``payload=<json>`` for interactions) and signed."""
        if self.socket_mode:
            if wrong_signature or age:
                raise ValueError("Socket Mode deliveries are not signed: no wrong_signature or age")
            spec = {"type": kind, "payload": payload, "timeout": self.timeout}
            url = f"{self.config['control_url']}/socket/deliver"
            return self.send(Delivery(url, json.dumps(spec).encode(), {"Content-Type": "application/json"}))
        body = (
            urllib.parse.urlencode(payload).encode()
            if kind == SLASH_COMMANDS
            else json.dumps(payload).encode()  # the Events API posts its envelope as JSON
            if kind == EVENTS_API
            else _payload_body(payload)
        )
        timestamp = int(time.time() - age)
        secret = self.config["signing_secret"] + ("-forged" if wrong_signature else "")
        form = "application/json" if kind == EVENTS_API else "application/x-www-form-urlencoded"
        headers = {
            "Content-Type": form,
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(secret, timestamp, body),
        }
        assert self.bot_url is not None
        return self.send(Delivery(self.bot_url, body, headers))

    def send(self, delivery: Delivery) -> Reply:
        # over a socket the stand-in waits up to ``timeout`` for the ack; give its answer time to come back
        timeout = self.timeout + 5 if self.socket_mode else self.timeout
        answer = request("POST", delivery.url, delivery.body, delivery.headers, timeout=timeout)
        reply = Reply(answer.status, answer.headers, answer.body, delivery)
        if self.socket_mode and reply.status == 200:
            reply = _acked(reply)
        self.last = reply
        return reply

    # -- the workspace --------------------------------------------------------------------------

    def user_id(self, user: str) -> str:
        users = self.config["users"]
        return users[user]["id"] if user in users else user

    def user_name(self, uid: str) -> str:
        return next((name for name, u in self.config["users"].items() if u["id"] == uid), uid.lower())

    def channel_id(self, channel: str) -> str:
        return self.config["channels"].get(channel.removeprefix("#"), channel)

    def channel_name(self, cid: str) -> str:
        names = {v: k for k, v in self.config["channels"].items()}
        return names.get(cid, "directmessage" if cid.startswith("D") else cid)

    def _user_object(self, uid: str) -> dict[str, str]:
        name = self.user_name(uid)
        return {"id": uid, "username": name, "name": name, "team_id": self.config["team_id"]}

    def _team(self) -> dict[str, str]:
        return {"id": self.config["team_id"], "domain": self.config["team_domain"]}

    def _control(self, method: str, action: str, body: Any = None, query: Any = None) -> dict[str, Any]:
        return control(self.config["control_url"], method, action, body, query)

    def _trigger(self, uid: str) -> str:
        return self._control("POST", "triggers", {"user": uid})["trigger_id"]

    def _response_url(self, cid: str, uid: str, message_ts: str | None, ephemeral: bool) -> str:
        spec = {"channel": cid, "user": uid, "message_ts": message_ts, "ephemeral": ephemeral}
        return self._control("POST", "response-urls", spec)["response_url"]


def _acked(answer: Reply) -> Reply:
    """The stand-in's delivery answer as the app's reply: its ack payload as the JSON body, as the
    HTTP body of an HTTP ack would be; the envelope and the whole answer stay in ``socket``."""
    outcome = json.loads(answer.body)
    payload = outcome.get("payload")
    body = json.dumps(payload).encode() if payload is not None else b""
    return Reply(200, {"content-type": "application/json"}, body, answer.delivery, socket=outcome)


def _json_or_none(reply: Reply) -> Any:
    try:
        return reply.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _payload_body(payload: Mapping[str, Any]) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def _find_action(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    raise LookupError(f"no element with action_id {action_id!r} (block_id {block_id!r}) on the message")


_SELECTED = {
    "external_select": "selected_option",
    "static_select": "selected_option",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "users_select": "selected_user",
}
"""Where a view submission's state puts a picker's choice (api.slack.com/reference/interaction-payloads/
views, view_submission: state.values; a conversations_select answers selected_conversation)."""


def _state_value(kind: str, entry: str) -> dict[str, Any]:
    """One input's state as Slack sends it: text inputs carry ``value``, pickers their selection."""
    if kind in ("external_select", "static_select"):  # an option object; its text is not kept here
        chosen = {"text": {"type": "plain_text", "text": entry}, "value": entry} if entry else None
        return {"type": kind, "selected_option": chosen}
    if kind in _SELECTED:
        return {"type": kind, _SELECTED[kind]: entry or None}
    return {"type": kind, "value": entry}


def _input_type(view: Mapping[str, Any], block_id: str, action_id: str) -> str:
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        if block.get("block_id") == block_id and element.get("action_id") == action_id:
            return str(element.get("type", "plain_text_input"))
    return "plain_text_input"
