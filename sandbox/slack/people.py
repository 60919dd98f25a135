"""The people of the workspace, as the page plays them: what each one sees, and what they do.

What a person does reaches the bot exactly as Slack delivers it: a correctly signed slash
command, click or view submission sent to ``--bot-url`` by the stand-in's ``Driver``. What the
bot posts is read back from the world, ephemerals only for the user they were sent to, and a
slash command's HTTP answer is shown as Slack shows it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from sandbox.loopback import Refusal

from . import api
from .changes import Changes
from .control import describe
from .driver import Driver, Reply
from .errors import SlackError
from .interactivity import AnswerRefused
from .world import TEAM_ID, Json, World, public


class People:
    def __init__(self, world: World, base_url: str, bot_url: str | None, changes: Changes) -> None:
        self.world, self.base_url, self.bot_url, self.changes = world, base_url, bot_url, changes
        with world.lock:  # modals do not outlive a restart: the page starts with none open
            self.dismissed: set[str] = set(world.views)

    def workspace(self) -> Json:
        """The users (with their natlink roles) and channels, as the stand-in's first line has them."""
        return describe(self.world, self.base_url)

    def _driver(self) -> Driver:
        if not self.bot_url:
            raise Refusal(503, "bot_not_configured", "start the stand-in with --bot-url URL")
        return Driver(self.bot_url, self.workspace())

    def _user(self, spec: Json) -> Json:
        uid = spec.get("user")
        with self.world.lock:
            for user in self.world.users.values():
                if uid in (user["id"], user["name"]) and not user["is_bot"]:
                    return user
        raise Refusal(400, "user_not_found", uid)

    def _channel(self, ref: Any, user: Json) -> Json:
        """A channel the user can see: a public channel by ID or name, or their own DM with the bot."""
        with self.world.lock:
            if ref in ("D" + user["id"][1:], "dm", "@natlink"):
                return self.world.open_dm(user["id"])
            channel = self.world.channel(ref)
            if channel["is_im"] and channel.get("user") != user["id"]:
                raise Refusal(403, "not_your_dm")
            return channel

    def state(self, uid: str) -> Json:
        user = self._user({"user": uid})
        with self.world.lock:
            self.world.open_dm(user["id"])
            users = {
                u["id"]: {"name": u["name"], "real_name": u.get("real_name", "")}
                for u in self.world.users.values()
            }
            channels, messages = [], {}
            for channel in self.world.channels.values():
                if channel["is_im"] and channel.get("user") != user["id"]:
                    continue
                if not channel["is_im"] and user["id"] not in channel["_members"]:
                    continue
                name = "natlink" if channel["is_im"] else channel["name"]
                channels.append({"id": channel["id"], "name": name, "is_im": channel["is_im"]})
                shown = []
                for record in self.world.messages.get(channel["id"], []):
                    if record["deleted"] or (record["ephemeral"] and record["to"] != user["id"]):
                        continue
                    shown.append(
                        {
                            "ts": record["message"]["ts"],
                            "ephemeral": record["ephemeral"],
                            "via": record["via"],
                            "edits": len(record["history"]),
                            "message": record["message"],
                        }
                    )
                messages[channel["id"]] = sorted(shown, key=lambda m: float(m["ts"]))
            view = None
            for stored in self.world.views.values():
                if stored["_user"] == user["id"] and stored["id"] not in self.dismissed:
                    view = public(stored)
            me = users[user["id"]] | {"id": user["id"]} | user.get("_natlink", {})
            home = self.world.homes.get(user["id"])
        return {
            "ok": True,
            "version": self.changes.version,
            "me": me,
            "users": users,
            "channels": channels,
            "messages": messages,
            "view": view,
            "home": public(home) if home else None,
            "bot": bool(self.bot_url),
        }

    def _post_as(self, user: Json, channel: Json, text: str) -> Json:
        with self.world.lock:
            message = self._typed(user, text)
            self.world.add_message(channel["id"], message, via="person")
            self.world.save()
        self.changes.bump()
        return message

    def _typed(self, user: Json, text: str) -> Json:
        """A message the person typed; call it holding the world's lock (it takes a timestamp)."""
        return {
            "type": "message",
            "text": text,
            "user": user["id"],
            "team": TEAM_ID,
            "ts": self.world.next_ts(),
        }

    def message(self, spec: Json) -> Json:
        user = self._user(spec)
        channel = self._channel(spec.get("channel"), user)
        text = str(spec.get("text", ""))
        if not text.strip():
            raise Refusal(400, "no_text")
        if text.startswith("/"):
            return self.command(spec)
        return {"ok": True, "channel": channel["id"], "ts": self._post_as(user, channel, text)["ts"]}

    def _system_ephemeral(self, channel: str, user: str, text: str, blocks: list[Any] | None = None) -> None:
        """A message Slack itself shows one user (a slash command's answer, or its failure)."""
        with self.world.lock:
            message = api.bot_message(self.world, text, blocks)
            self.world.add_message(channel, message, via="slash_command_response", ephemeral_to=user)
            self.world.save()
        self.changes.bump()

    def command(self, spec: Json) -> Json:
        """``/natlink ...`` as Slack sends it: signed, with a trigger ID and a response URL."""
        user = self._user(spec)
        channel = self._channel(spec.get("channel"), user)
        text = str(spec.get("text", "")).strip()
        match = re.fullmatch(r"(/[\w-]+)(?:\s+(.*))?", text, re.DOTALL)
        if match is None:
            raise Refusal(400, "not_a_command", text)
        command, rest = match.group(1), (match.group(2) or "").strip()
        if command != "/natlink":
            self._system_ephemeral(channel["id"], user["id"], f"{command} is not a valid command.")
            return {"ok": False, "error": "invalid_command", "command": command}
        rest = self._escaped(rest)
        try:
            reply = _delivered(lambda: self._driver().slash_command(user["id"], channel["id"], rest, command))
        except Refusal:
            self._system_ephemeral(
                channel["id"], user["id"], '/natlink failed with the error "dispatch_failed"'
            )
            raise
        self._show_command_reply(reply, channel["id"], user, text)
        return {"ok": True, "status": reply.status, "reply": _reply_body(reply)}

    def _escaped(self, typed: str) -> str:
        """The text as Slack sends a command whose app has "Escape channels, users, and links" on
        (natlink's manifest, app.yaml: should_escape): ``&<>`` as entities, then ``@name`` of a member
        as ``<@U…|name>`` and ``#name`` of a channel as ``<#C…|name>``. (api.slack.com/interactivity/
        slash-commands, "How to escape"; names that match nobody stay as typed, as in Slack.)"""
        text = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        with self.world.lock:
            users = {u["name"]: u["id"] for u in self.world.users.values() if not u["is_bot"]}
            channels = {c["name"]: c["id"] for c in self.world.channels.values() if not c["is_im"]}

        def mention(match: re.Match[str]) -> str:
            sigil, name = match.group(1), match.group(2)
            found = (users if sigil == "@" else channels).get(name)
            if found is None:
                return match.group(0)
            return f"<@{found}|{name}>" if sigil == "@" else f"<#{found}|{name}>"

        return re.sub(r"(?<![\w<])([@#])([a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)", mention, text)

    def _show_command_reply(self, reply: Reply, channel: str, user: Json, typed: str) -> None:
        """Slack shows the HTTP answer to a slash command: ephemeral unless ``response_type: in_channel``."""
        if reply.status != 200:
            self._system_ephemeral(
                channel, user["id"], f'/natlink failed with the error "dispatch_failed" (HTTP {reply.status})'
            )
            return
        if not reply.body.strip():
            return
        body = _reply_body(reply)
        if not isinstance(body, dict):
            body = {"text": reply.text}
        try:
            text, blocks = api.message_content(body)
        except SlackError:
            text, blocks = reply.text, None
        if body.get("response_type") == "in_channel":
            with self.world.lock:
                self.world.add_message(channel, self._typed(user, typed), via="person")
                self.world.add_message(
                    channel, api.bot_message(self.world, text, blocks), via="slash_command_response"
                )
                self.world.save()
            self.changes.bump()
        else:
            self._system_ephemeral(channel, user["id"], text, blocks)

    def click(self, spec: Json) -> Json:
        user = self._user(spec)
        channel = self._channel(spec.get("channel"), user)
        ts, action_id = spec.get("ts"), spec.get("action_id")
        if not isinstance(ts, str) or not isinstance(action_id, str):
            raise Refusal(400, "invalid_arguments", "'ts' and 'action_id' are required")
        with self.world.lock:
            record = self.world.find(channel["id"], ts)
            if record["ephemeral"] and record["to"] != user["id"]:
                raise Refusal(404, "message_not_found")
        reply = _delivered(
            lambda: self._driver().click(
                user["id"], channel["id"], ts, action_id, spec.get("value"), spec.get("block_id") or None
            )
        )
        return {"ok": reply.status == 200, "status": reply.status, "reply": _reply_body(reply)}

    def submit(self, spec: Json) -> Json:
        """A view submission; the bot's ``response_action`` is applied as Slack applies it."""
        user = self._user(spec)
        view_id = spec.get("view_id")
        with self.world.lock:
            stored = self.world.views.get(view_id) if isinstance(view_id, str) else None
            if stored is None or stored["_user"] != user["id"]:
                raise Refusal(404, "view_not_found", view_id)
        values = spec.get("values") if isinstance(spec.get("values"), dict) else {}
        clean = {
            str(block): {str(action): _state(value) for action, value in actions.items()}
            for block, actions in values.items()
            if isinstance(actions, dict)
        }
        try:
            reply = _delivered(lambda: self._driver().submit_view(user["id"], view_id, clean))
        except AnswerRefused as refused:  # Slack shows the form failed, and keeps it open
            return {
                "ok": False,
                "status": 200,
                "errors": {"": f"Slack could not use natlink's answer: {refused}"},
            }
        body = _reply_body(reply)
        answer: Json = {"ok": reply.status == 200, "status": reply.status, "reply": body}
        if reply.status != 200:
            answer["errors"] = {"": f"The app did not accept the form (HTTP {reply.status})."}
            return answer
        action = body.get("response_action") if isinstance(body, dict) else None
        with self.world.lock:
            if action == "errors":
                answer["errors"] = body.get("errors") or {}
            elif action in ("update", "push") and isinstance(body.get("view"), dict):
                self.world.store_view(body["view"], user["id"], view_id if action == "update" else None)
            elif action == "clear":
                self.dismissed.update(v["id"] for v in self.world.views.values() if v["_user"] == user["id"])
            else:
                self.dismissed.add(view_id)
        self.changes.bump()
        return answer

    def open_home(self, spec: Json) -> Json:
        """The person opens natlink's Home tab: ``app_home_opened`` goes to the bot, signed; what the
        bot publishes comes back through ``state``'s ``home``."""
        user = self._user(spec)
        reply = _delivered(lambda: self._driver().open_home(user["id"]))
        self.changes.bump()
        return {"ok": reply.status == 200, "status": reply.status}

    def suggest(self, spec: Json) -> Json:
        """An ``external_select`` being typed into: the options load Slack sends the app, and the
        options it answered (flattened, each with its group's label), or why Slack would show none."""
        user = self._user(spec)
        view_id, block_id = spec.get("view_id"), spec.get("block_id")
        if not isinstance(view_id, str) or not isinstance(block_id, str):
            raise Refusal(400, "invalid_arguments", "'view_id' and 'block_id' are required")
        typed = str(spec.get("value") or "")
        try:
            reply = _delivered(lambda: self._driver().suggest(user["id"], view_id, block_id, typed))
        except AnswerRefused as refused:
            return {"ok": False, "error": "answer_refused", "detail": str(refused)}
        body = reply.json() or {}
        groups = body.get("option_groups") or [{"label": {"text": ""}, "options": body.get("options") or []}]
        options = [
            {"group": g["label"]["text"], "text": o["text"]["text"], "value": o["value"]}
            for g in groups
            for o in g["options"]
        ]
        return {"ok": True, "options": options}

    def shortcut(self, spec: Json) -> Json:
        """A global shortcut from the composer's shortcut menu."""
        user = self._user(spec)
        reply = _delivered(lambda: self._driver().shortcut(user["id"], str(spec.get("callback_id"))))
        return {"ok": reply.status == 200, "status": reply.status}

    def message_shortcut(self, spec: Json) -> Json:
        """A message shortcut from a message's "More actions" menu."""
        user = self._user(spec)
        channel = self._channel(spec.get("channel"), user)
        ts, callback_id = str(spec.get("ts")), str(spec.get("callback_id"))
        reply = _delivered(
            lambda: self._driver().message_shortcut(user["id"], channel["id"], ts, callback_id)
        )
        return {"ok": reply.status == 200, "status": reply.status}

    def close(self, spec: Json) -> Json:
        user = self._user(spec)
        with self.world.lock:
            for view in self.world.views.values():
                if view["_user"] == user["id"] and view["id"] == spec.get("view_id"):
                    self.dismissed.add(view["id"])
        self.changes.bump()
        return {"ok": True}


def _delivered(send: Callable[[], Reply]) -> Reply:
    """Send one delivery to the bot; an unreachable bot is a 502, as Slack's ``dispatch_failed``."""
    try:
        return send()
    except OSError as err:
        raise Refusal(502, "bot_unreachable", str(err)) from None


def _state(value: Any) -> Any:
    """A typed input's text as is; a picker's choice (``{value, text}``) as the state value Slack
    sends for a select (``selected_option``, an option object)."""
    if isinstance(value, dict):
        chosen = {
            "text": {"type": "plain_text", "text": str(value.get("text", ""))},
            "value": str(value.get("value", "")),
        }
        return {
            "type": str(value.get("type", "external_select")),
            "selected_option": chosen if chosen["value"] else None,
        }
    return str(value)


def _reply_body(reply: Reply) -> Any:
    if not reply.body.strip():
        return None
    try:
        return reply.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return reply.text
