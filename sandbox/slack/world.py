"""The workspace: users, channels, the bot, and everything posted, opened or issued in it.

IDs are stable (``U0ALICE``, ``C0TEAMA``) so that a person can write them into a config once and
tests can name them. Messages are kept per channel in Slack's own shape under ``message`` with
the sandbox's bookkeeping (ephemeral target, edit history, deletion) beside it.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import string
import threading
import time
from pathlib import Path
from typing import Any

from .errors import SlackError

Json = dict[str, Any]

TEAM_ID = "T0NATLINK"
TEAM_DOMAIN = "natlink-sandbox"
BOT_TOKEN = "xoxb-1000000001-2000000002-natlinkSandboxBotToken"
SIGNING_SECRET = "8f742231b10e8888abcd99e0f67291ab"
BOT_USER_ID = "U0NATLINK"
BOT_ID = "B0NATLINK"
APP_ID = "A0NATLINK"
TRIGGER_SECONDS = 3.0
RESPONSE_URL_SECONDS = 30 * 60
RESPONSE_URL_USES = 5

# name, id, natlink role, natlink team, Slack workspace admin
DEFAULT_USERS = [
    ("alice", "U0ALICE", "owner", "B", False),
    ("bob", "U0BOB", "consumer", "A", False),
    ("carol", "U0CAROL", None, None, False),
    ("admin", "U0ADMIN", "admin", None, True),
]
DEFAULT_CHANNELS = [("team-a", "C0TEAMA"), ("team-b", "C0TEAMB")]


NO_DISPLAY_NAME = {"carol"}
"""People who never set a display name: Slack's profile editor leaves it optional, users.info then
answers ``profile.display_name`` "" and clients show the real name (api.slack.com/types/user: the
user object's profile carries ``display_name``, ``real_name`` and their ``_normalized`` forms)."""


def _user(name: str, uid: str, role: str | None, team: str | None, admin: bool) -> Json:
    real = name.capitalize()
    display = "" if name in NO_DISPLAY_NAME else name
    return {
        "id": uid,
        "team_id": TEAM_ID,
        "name": name,
        "deleted": False,
        "real_name": real,
        "tz": "Asia/Tokyo",
        "tz_offset": 32400,
        "is_admin": admin,
        "is_owner": admin,
        "is_bot": False,
        "is_app_user": False,
        "profile": {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": display,
            "display_name_normalized": display,
            "email": f"{name}@natlink.example",
        },
        "_natlink": {"role": role, "team": team},
    }


def _bot_user() -> Json:
    return {
        "id": BOT_USER_ID,
        "team_id": TEAM_ID,
        "name": "natlink",
        "deleted": False,
        "real_name": "natlink",
        "is_admin": False,
        "is_owner": False,
        "is_bot": True,
        "is_app_user": False,
        "profile": {"real_name": "natlink", "display_name": "natlink", "bot_id": BOT_ID},
    }


def _channel(name: str, cid: str, members: list[str]) -> Json:
    return {
        "id": cid,
        "name": name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_private": False,
        "is_archived": False,
        "created": 1_700_000_000,
        "creator": "U0ADMIN",
        "context_team_id": TEAM_ID,
        "_members": members,
    }


DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "channels:read",
    "groups:read",
    "files:write",
    "users:read",
)
"""The bot token's scopes on a new workspace: what natlink's app.yaml asks for. The control API
changes them (``PUT /_sandbox/scopes``), to see natlink meet a workspace that granted less."""


def random_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(length))


class World:
    """All state of the stand-in, guarded by one lock; saved to ``state_path`` after each change."""

    def __init__(self, state_path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_path = state_path
        self.base_url = "http://127.0.0.1"  # where the server listens; upload URLs point there (files.py)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            humans = [_user(*spec) for spec in DEFAULT_USERS]
            self.users: dict[str, Json] = {u["id"]: u for u in [*humans, _bot_user()]}
            everyone = [u["id"] for u in humans] + [BOT_USER_ID]
            self.channels: dict[str, Json] = {
                cid: _channel(name, cid, list(everyone)) for name, cid in DEFAULT_CHANNELS
            }
            self.messages: dict[str, list[Json]] = {}
            self.views: dict[str, Json] = {}
            self.triggers: dict[str, Json] = {}
            self.response_urls: dict[str, Json] = {}
            self.scopes: list[str] = list(DEFAULT_SCOPES)
            self.files: dict[str, Json] = {}  # uploads by file id (api.files_*): name, content, shares
            self.homes: dict[str, Json] = {}  # user ID → their published Home tab view
            self.home_tab = True  # app.yaml's features.app_home.home_tab_enabled
            self._last_ts = 0.0

    # -- look-ups -------------------------------------------------------------------------------

    def user(self, uid: Any) -> Json:
        if not isinstance(uid, str) or uid not in self.users:
            raise SlackError("user_not_found")
        return self.users[uid]

    def channel(self, ref: Any) -> Json:
        """A channel by ID or name (``#team-a`` or ``team-a``); a user ID means their DM, as Slack allows."""
        if not isinstance(ref, str) or not ref:
            raise SlackError("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users and not self.users[ref]["is_bot"]:
            return self.open_dm(ref)
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel["name"] == name and not channel["is_im"]:
                return channel
        raise SlackError("channel_not_found")

    def add_channel(self, name: str, private: bool, with_bot: bool) -> Json:
        """A channel every person is in; the bot only when ``with_bot`` (as if invited)."""
        with self.lock:
            if any(c.get("name") == name for c in self.channels.values()):  # a DM has no name
                raise SlackError("name_taken")
            humans = [u["id"] for u in self.users.values() if not u["is_bot"]]
            # Private channels made since 2021 have C IDs too; is_private tells them apart.
            channel = _channel(name, random_id("C"), humans + ([BOT_USER_ID] if with_bot else []))
            channel |= {"is_private": private}
            self.channels[channel["id"]] = channel
            return channel

    def invite_bot(self, ref: Any) -> Json:
        """``/invite @natlink`` in a channel."""
        with self.lock:
            channel = self.channel(ref)
            if BOT_USER_ID not in channel["_members"]:
                channel["_members"].append(BOT_USER_ID)
            return channel

    def remove_bot(self, ref: Any) -> Json:
        """Someone removes natlink from a channel (``/kick @natlink``, or the channel's settings)."""
        with self.lock:
            channel = self.channel(ref)
            if BOT_USER_ID in channel["_members"]:
                channel["_members"].remove(BOT_USER_ID)
            return channel

    def open_dm(self, uid: str) -> Json:
        user = self.user(uid)
        dm_id = "D" + user["id"][1:]
        if dm_id not in self.channels:
            self.channels[dm_id] = {
                "id": dm_id,
                "is_im": True,
                "is_channel": False,
                "is_group": False,
                "is_private": True,
                "is_archived": False,
                "user": user["id"],
                "created": int(time.time()),
                "context_team_id": TEAM_ID,
                "_members": [user["id"], BOT_USER_ID],
            }
        return self.channels[dm_id]

    def next_ts(self) -> str:
        """A message timestamp: unique and increasing, like Slack's ``1712345678.000100``."""
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = float(f"{now:.6f}")
        return f"{now:.6f}"

    def find(self, channel_id: str, ts: str) -> Json:
        for record in self.messages.get(channel_id, []):
            if record["message"]["ts"] == ts and not record["deleted"]:
                return record
        raise SlackError("message_not_found")

    # -- changes --------------------------------------------------------------------------------

    def add_message(
        self,
        channel_id: str,
        message: Json,
        *,
        via: str,
        ephemeral_to: str | None = None,
    ) -> Json:
        record = {
            "channel": channel_id,
            "ephemeral": ephemeral_to is not None,
            "to": ephemeral_to,
            "via": via,
            "deleted": False,
            "history": [],
            "message": message,
        }
        self.messages.setdefault(channel_id, []).append(record)
        if not record["ephemeral"] and message.get("thread_ts", message["ts"]) != message["ts"]:
            self._count_reply(self.find(channel_id, message["thread_ts"])["message"], message)
        return record

    @staticmethod
    def _count_reply(parent: Json, reply: Json) -> None:
        """A parent as conversations.history shows it once it has replies: its own ``thread_ts``,
        ``reply_count``, ``reply_users`` (up to five), ``reply_users_count`` and ``latest_reply``
        (api.slack.com/messaging/retrieving#finding_threads). Ephemeral replies count for nobody."""
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        users = parent.setdefault("reply_users", [])
        if reply.get("user") and reply["user"] not in users:
            users.append(reply["user"])
        parent["reply_users_count"] = len(users)
        parent["latest_reply"] = reply["ts"]

    def thread(self, channel_id: str, ts: str) -> list[Json]:
        """A parent and its replies, oldest first: what conversations.replies answers (the parent
        alone when it has none). A reply's ts names its whole thread, as in Slack."""
        parent = self.find(channel_id, ts)["message"]
        root = parent.get("thread_ts", parent["ts"])
        return [
            r
            for r in self.messages.get(channel_id, [])
            if not (r["deleted"] or r["ephemeral"])
            and root in (r["message"]["ts"], r["message"].get("thread_ts"))
        ]

    def edit_message(self, record: Json, text: str, blocks: list[Any] | None, by: str) -> Json:
        message = record["message"]
        record["history"].append(copy.deepcopy(message))
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": by, "ts": self.next_ts()}
        return message

    def issue_trigger(self, user: str) -> str:
        self.user(user)
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = {"user": user, "issued": time.monotonic(), "used": False}
        return trigger_id

    def take_trigger(self, trigger_id: Any) -> Json:
        """Spend a trigger: Slack honours each once, and only for three seconds."""
        trigger = self.triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger["used"]:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger["issued"] > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        trigger["used"] = True
        return trigger

    def issue_response_url(self, channel: str, user: str, message_ts: str | None, ephemeral: bool) -> str:
        self.user(user)
        hook_id = secrets.token_urlsafe(18)
        self.response_urls[hook_id] = {
            "channel": self.channel(channel)["id"],
            "user": user,
            "message_ts": message_ts,
            "ephemeral": ephemeral,
            "issued": time.time(),
            "uses": 0,
        }
        return hook_id

    # -- views ----------------------------------------------------------------------------------

    def store_view(self, view: Json, user: str, view_id: str | None = None) -> Json:
        view_id = view_id or random_id("V")
        previous = self.views.get(view_id, {})
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": previous.get("root_view_id", view_id),
            "app_id": APP_ID,
            "external_id": view.get("external_id", previous.get("external_id", "")),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
            "_user": user,
        }
        self.views[view_id] = stored
        return stored

    def publish_home(self, view: Json, user: str) -> Json:
        """The user's Home tab: one published view per user, keeping its ID across publishes, and
        apart from the modals (a Home tab is never "open" as a modal is)."""
        current = self.homes.get(user)
        stored = self.store_view(view, user, current["id"] if current else None)
        self.homes[user] = self.views.pop(stored["id"])
        return self.homes[user]

    def view_by(self, view_id: Any, external_id: Any) -> Json:
        if isinstance(view_id, str) and view_id in self.views:
            return self.views[view_id]
        if isinstance(external_id, str) and external_id:
            for view in self.views.values():
                if view["external_id"] == external_id:
                    return view
        raise SlackError("not_found")

    # -- persistence ----------------------------------------------------------------------------

    def dump(self) -> Json:
        with self.lock:
            return {
                "users": self.users,
                "channels": self.channels,
                "messages": self.messages,
                "views": self.views,
                "response_urls": self.response_urls,
                "scopes": self.scopes,
                "files": self.files,
                "homes": self.homes,
                "home_tab": self.home_tab,
                "last_ts": self._last_ts,
            }

    def load(self, state: Json) -> None:
        with self.lock:
            self.users = state["users"]
            self.channels = state["channels"]
            self.messages = state["messages"]
            self.views = state["views"]
            self.response_urls = state["response_urls"]
            self.scopes = state.get("scopes", list(DEFAULT_SCOPES))
            self.files = state.get("files", {})
            self.homes = state.get("homes", {})
            self.home_tab = state.get("home_tab", True)
            self._last_ts = state["last_ts"]

    def save(self) -> None:
        """Write the state atomically, so a crash never leaves half a file behind."""
        if self.state_path is None:
            return
        with self.lock:
            text = json.dumps(self.dump())
        tmp = self.state_path.with_suffix(self.state_path.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.state_path)


def public(obj: Json) -> Json:
    """The object as Slack shows it: without the sandbox's own ``_`` keys."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}
