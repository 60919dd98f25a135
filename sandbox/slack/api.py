"""The Web API methods natlink calls, with Slack's argument handling, answers and error codes.

Arguments arrive already merged from the query string, a form body or a JSON body (``server.py``);
JSON-valued arguments such as ``blocks`` and ``view`` may be strings (forms) or JSON (JSON bodies),
exactly as Slack accepts both.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
from collections.abc import Callable
from typing import Any

from . import blocks as block_kit
from . import files, socket_mode
from .errors import SlackError
from .world import APP_ID, BOT_ID, BOT_TOKEN, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, Json, World, public

MAX_TEXT = 40_000
Handler = Callable[[World, Json], Json]


def _json_arg(value: Any, error: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise SlackError(error) from None
    return value


def message_content(args: Json) -> tuple[str, list[Any] | None]:
    """The text and blocks (``None`` when absent, so an edit keeps the old ones), refused as Slack refuses them."""
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    blocks = _json_arg(args.get("blocks"), "invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    if text and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if blocks:
        errors = block_kit.message_errors(blocks)
        if errors:
            raise SlackError("invalid_blocks", errors)
        if block_kit.text_total(blocks) > block_kit.MESSAGE_TEXT_TOTAL:
            raise SlackError("msg_blocks_too_long")  # see block_kit.MESSAGE_TEXT_TOTAL
    if not text and not blocks and not args.get("attachments"):
        raise SlackError("no_text")
    return text or "", None if blocks is None else with_block_ids(blocks)


def with_block_ids(blocks: list[Any]) -> list[Any]:
    """The blocks as Slack stores them: every block gets a ``block_id``, every element an ``action_id``."""
    stored = copy.deepcopy(blocks)
    for block in stored:
        block.setdefault("block_id", secrets.token_urlsafe(3))
        elements = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in elements:
            if isinstance(element, dict) and element.get("type") in block_kit.ELEMENT_TYPES - {"image"}:
                element.setdefault("action_id", secrets.token_urlsafe(3))
    return stored


def bot_message(world: World, text: str, blocks: list[Any] | None, thread_ts: Any = None) -> Json:
    message: Json = {
        "type": "message",
        "text": text,
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "ts": world.next_ts(),
        "bot_profile": {"id": BOT_ID, "app_id": APP_ID, "name": "natlink", "team_id": TEAM_ID},
    }
    if blocks is not None:
        message["blocks"] = blocks
    if isinstance(thread_ts, str) and thread_ts:
        message["thread_ts"] = thread_ts
    return message


TS = re.compile(r"\d{1,12}\.\d{1,6}")


def thread_of(world: World, channel_id: str, thread_ts: Any) -> str | None:
    """The thread a message goes in, refused as Slack refuses it. A ts that is no timestamp is
    ``invalid_thread_ts`` ("[ERROR] 0 is not a valid thread_ts", Slack's answer quoted in
    jenkinsci/slack-plugin#584); one that names no message of this channel (never posted there, or
    deleted) is ``thread_not_found`` (slackapi/bolt-js#2307: a reply to a deleted parent). Slack
    accepts a reply to a reply and shows it nowhere (slackapi/python-slack-sdk#840,
    botman/botman#327); the stand-in refuses it instead, so such a silent loss fails a test."""
    if thread_ts is None or thread_ts == "":
        return None
    if not isinstance(thread_ts, str) or not TS.fullmatch(thread_ts):
        raise SlackError("invalid_thread_ts", [f"[ERROR] {thread_ts} is not a valid thread_ts"])
    try:
        parent = world.find(channel_id, thread_ts)
    except SlackError:
        raise SlackError("thread_not_found") from None
    if parent["ephemeral"] or parent["message"].get("thread_ts", thread_ts) != thread_ts:
        raise SlackError("thread_not_found", ["[ERROR] the sandbox refuses a reply to a reply"])
    return thread_ts


def _member_channel(world: World, ref: Any) -> Json:
    """Where the bot may post: a private channel it is not in does not exist for it (Slack answers
    ``channel_not_found``); a public one answers ``not_in_channel`` (chat.postMessage errors)."""
    channel = _seen(world, ref)
    if BOT_USER_ID not in channel["_members"]:
        raise SlackError("not_in_channel")
    return channel


def _seen(world: World, ref: Any) -> Json:
    """A channel as the bot's token sees it: private channels only once it is a member."""
    channel = world.channel(ref)
    if channel["is_private"] and not channel["is_im"] and BOT_USER_ID not in channel["_members"]:
        raise SlackError("channel_not_found")
    return channel


SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.open": "im:write",
    "users.info": "users:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
"""The bot scope each method requires (each method's page on api.slack.com/methods, "Required
scopes"); conversations.info's depends on the channel (see ``conversations_info``)."""


def require_scope(world: World, needed: str) -> None:
    """Slack's ``missing_scope``, with the ``needed`` and ``provided`` fields it answers with."""
    if needed not in world.scopes:
        raise SlackError("missing_scope", extra={"needed": needed, "provided": ",".join(world.scopes)})


def auth_test(world: World, args: Json) -> Json:
    return {
        "ok": True,
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": "natlink sandbox",
        "user": "natlink",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def chat_post_message(world: World, args: Json) -> Json:
    channel = _member_channel(world, args.get("channel"))
    text, blocks = message_content(args)
    message = bot_message(world, text, blocks, thread_of(world, channel["id"], args.get("thread_ts")))
    world.add_message(channel["id"], message, via="chat.postMessage")
    answer: Json = {"ok": True, "channel": channel["id"], "ts": message["ts"], "message": message}
    if blocks and not text:
        answer["warning"] = "missing_text_in_blocks"
        answer["response_metadata"] = {"warnings": ["missing_text_in_blocks"]}
    return answer


def chat_update(world: World, args: Json) -> Json:
    channel = world.channel(args.get("channel"))
    if not isinstance(args.get("ts"), str):
        raise SlackError("message_not_found")
    record = world.find(channel["id"], args["ts"])
    if record["ephemeral"]:
        raise SlackError("message_not_found")
    if record["message"].get("user") != BOT_USER_ID:
        raise SlackError("cant_update_message")
    text, blocks = message_content(args)
    message = world.edit_message(record, text, blocks, BOT_USER_ID)
    return {"ok": True, "channel": channel["id"], "ts": message["ts"], "text": text, "message": message}


def chat_delete(world: World, args: Json) -> Json:
    channel = world.channel(args.get("channel"))
    record = world.find(channel["id"], str(args.get("ts")))
    if record["ephemeral"]:
        raise SlackError("message_not_found")
    if record["message"].get("user") != BOT_USER_ID:
        raise SlackError("cant_delete_message")
    record["deleted"] = True
    return {"ok": True, "channel": channel["id"], "ts": record["message"]["ts"]}


def chat_post_ephemeral(world: World, args: Json) -> Json:
    channel = _member_channel(world, args.get("channel"))
    user = world.user(args.get("user"))
    if user["id"] not in channel["_members"]:
        raise SlackError("user_not_in_channel")
    text, blocks = message_content(args)
    message = bot_message(world, text, blocks, thread_of(world, channel["id"], args.get("thread_ts")))
    world.add_message(channel["id"], message, via="chat.postEphemeral", ephemeral_to=user["id"])
    return {"ok": True, "message_ts": message["ts"]}


def _view_arg(args: Json) -> Json:
    view = _json_arg(args.get("view"), "invalid_arguments")
    errors = block_kit.view_errors(view)
    if errors:
        raise SlackError("invalid_arguments", errors)
    return view


def views_open(world: World, args: Json) -> Json:
    view = _view_arg(args)
    trigger = world.take_trigger(args.get("trigger_id"))
    return {"ok": True, "view": public(world.store_view(view, trigger["user"]))}


def views_update(world: World, args: Json) -> Json:
    view = _view_arg(args)
    current = world.view_by(args.get("view_id"), args.get("external_id"))
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    stored = world.store_view(view, current["_user"], current["id"])
    return {"ok": True, "view": public(stored)}


VIEW_BYTES = 250_000
"""views.publish's ``view_too_large``: "the provided view is greater than 250kb" (its method page)."""


def views_publish(world: World, args: Json) -> Json:
    """Publish a user's Home tab (api.slack.com/methods/views.publish). It needs no scope beyond the
    bot token (the method page lists none); its documented errors include ``not_enabled`` ("a home
    view is published but the Home tab isn't enabled for the app": app.yaml's
    ``features.app_home.home_tab_enabled``), ``hash_conflict``, ``view_too_large`` and
    ``invalid_arguments`` for a view that fails validation (a Home tab holds at most 100 blocks,
    api.slack.com/reference/surfaces/views). The list has no ``user_not_found``: an unknown
    ``user_id`` is an invalid argument."""
    user = args.get("user_id")
    if not isinstance(user, str) or user not in world.users or world.users[user]["is_bot"]:
        raise SlackError("invalid_arguments", ["[ERROR] user_id must name a person [json-pointer:/user_id]"])
    view = _view_arg(args)
    if view.get("type") != "home":
        raise SlackError(
            "invalid_arguments", ["[ERROR] must be one of the provided values [json-pointer:/view/type]"]
        )
    if len(json.dumps(view)) > VIEW_BYTES:
        raise SlackError("view_too_large")
    if not world.home_tab:
        raise SlackError("not_enabled")
    current = world.homes.get(user)
    if args.get("hash") and (current is None or args["hash"] != current["hash"]):
        raise SlackError("hash_conflict")
    return {"ok": True, "view": public(world.publish_home(view, user))}


def users_info(world: World, args: Json) -> Json:
    return {"ok": True, "user": public(world.user(args.get("user")))}


def conversations_info(world: World, args: Json) -> Json:
    channel = _seen(world, args.get("channel"))
    if not channel["is_im"] and channel["id"] != args.get("channel"):
        raise SlackError("channel_not_found")  # Slack's conversations.* take IDs, not names
    # conversations.info's scope is the channel type's read scope (its method page)
    require_scope(
        world, "im:read" if channel["is_im"] else "groups:read" if channel["is_private"] else "channels:read"
    )
    shown = public(channel) | {"is_member": BOT_USER_ID in channel["_members"]}
    if not channel["is_im"]:
        shown["num_members"] = len(channel["_members"])
    return {"ok": True, "channel": shown}


HISTORY_SCOPES = {"im": "im:history", "private": "groups:history", "public": "channels:history"}
"""conversations.replies' bot scope by the channel's type (its method page, "Required scopes")."""


def conversations_replies(world: World, args: Json) -> Json:
    """A thread: its parent first, then the replies, oldest first. ``ts`` must name a message of the
    channel (``thread_not_found`` otherwise, the method page's errors), the parent or any reply
    (slackapi/bolt-js#2307: "the ts parameter can accept a timestamp for both a top-level message
    and threaded message"); a message without replies answers alone. The bot must be in the
    channel, as for reading its history."""
    channel = _seen(world, args.get("channel"))
    if not channel["is_im"] and channel["id"] != args.get("channel"):
        raise SlackError("channel_not_found")  # conversations.* take IDs, not names
    kind = "im" if channel["is_im"] else "private" if channel["is_private"] else "public"
    require_scope(world, HISTORY_SCOPES[kind])
    if BOT_USER_ID not in channel["_members"]:
        raise SlackError("not_in_channel")
    ts = args.get("ts")
    if not isinstance(ts, str) or not TS.fullmatch(ts):
        raise SlackError("thread_not_found")
    try:
        records = world.thread(channel["id"], ts)
    except SlackError:
        raise SlackError("thread_not_found") from None
    shown = [copy.deepcopy(r["message"]) for r in records]
    start, limit = _cursor(args.get("cursor")), _limit(args.get("limit"))
    answer: Json = {
        "ok": True,
        "messages": shown[start : start + limit],
        "has_more": start + limit < len(shown),
    }
    if answer["has_more"]:
        answer["response_metadata"] = {
            "next_cursor": base64.b64encode(f"next:{start + limit}".encode()).decode()
        }
    return answer


def _cursor(value: Any) -> int:
    """Where a page starts: Slack's cursors are opaque; the stand-in's encode an offset."""
    if not value:
        return 0
    try:
        return int(base64.b64decode(str(value)).decode().removeprefix("next:"))
    except ValueError:
        raise SlackError("invalid_cursor") from None


def _limit(value: Any) -> int:
    """conversations.* take 1 to 1,000 items a page (default 1,000 for replies, per its method page)."""
    try:
        return min(max(int(value or 1000), 1), 1000)
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None


def conversations_open(world: World, args: Json) -> Json:
    if args.get("channel"):
        channel = world.channel(args["channel"])
        return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel["id"]}}
    users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 1:
        raise SlackError("not_supported_by_sandbox", ["[ERROR] the sandbox opens DMs with one user only"])
    user = world.user(users[0])
    existed = ("D" + user["id"][1:]) in world.channels
    channel = world.open_dm(user["id"])
    shown = public(channel) if args.get("return_im") in (True, "true", "1", 1) else {"id": channel["id"]}
    answer: Json = {"ok": True, "channel": shown}
    if existed:
        answer |= {"no_op": True, "already_open": True}
    return answer


def files_complete_upload_external(world: World, args: Json) -> Json:
    """Step 3 of an upload (files.py): with ``channel_id`` the files are shared there in one message,
    which Slack refuses as chat.postMessage does (``not_in_channel``); without, they stay private."""
    records = files.to_complete(world, args.get("files"))
    channel = _member_channel(world, args["channel_id"]) if args.get("channel_id") else None
    shared = files.complete(records, channel["id"] if channel else None)
    if channel is not None:
        message = bot_message(world, str(args.get("initial_comment") or ""), None, args.get("thread_ts"))
        message["files"] = shared
        world.add_message(channel["id"], message, via="files.completeUploadExternal")
    return {"ok": True, "files": shared}


def apps_connections_open(world: World, args: Json) -> Json:
    """A one-use WebSocket URL for Socket Mode; the endpoint starts on the first call."""
    endpoint = socket_mode.hub(world, start=True)
    assert endpoint is not None
    return {"ok": True, "url": endpoint.open_url()}


METHODS: dict[str, Handler] = {
    "apps.connections.open": apps_connections_open,
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "views.open": views_open,
    "views.update": views_update,
    "views.publish": views_publish,
    "users.info": users_info,
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
    "files.getUploadURLExternal": files.get_upload_url,
    "files.completeUploadExternal": files_complete_upload_external,
    "conversations.replies": conversations_replies,
}
READ_ONLY = {
    "auth.test",
    "users.info",
    "conversations.info",
    "conversations.replies",
    "apps.connections.open",
}
APP_LEVEL = {"apps.connections.open"}  # methods that take the app-level token (xapp-) only


def check_token(token: str | None, app_level: bool = False) -> None:
    """Slack's token checks: the wrong kind of valid token is ``not_allowed_token_type``."""
    if not token:
        raise SlackError("not_authed")
    expected, other = (socket_mode.APP_TOKEN, BOT_TOKEN) if app_level else (BOT_TOKEN, socket_mode.APP_TOKEN)
    if token == other:
        raise SlackError("not_allowed_token_type")
    if token != expected:
        raise SlackError("invalid_auth")


def dispatch(world: World, method: str, args: Json, token: str | None) -> Json:
    """Answer one Web API call; raises ``SlackError`` for every refusal."""
    handler = METHODS.get(method)
    if handler is None:
        raise SlackError("unknown_method")
    check_token(token, method in APP_LEVEL)
    if method in SCOPES:
        require_scope(world, SCOPES[method])
    with world.lock:
        answer = handler(world, args)
        if method not in READ_ONLY:
            world.save()
    return answer
