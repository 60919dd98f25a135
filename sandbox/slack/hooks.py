"""Response URLs: the ``response_url`` Slack hands the bot with each command and click.

The bot POSTs JSON to it to answer the person (ephemeral, by default), the channel
(``response_type: in_channel``), or to replace or delete the message that was clicked. Like
Slack, a URL works five times within thirty minutes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .api import bot_message, message_content
from .errors import SlackError
from .world import BOT_USER_ID, RESPONSE_URL_SECONDS, RESPONSE_URL_USES, Json, World


def _refuse(error: str, status: int) -> SlackError:
    return SlackError(error, status=status)


def _original(world: World, channel: str, ts: str | None) -> Json | None:
    try:
        return world.find(channel, ts) if ts else None
    except SlackError:
        return None  # deleted since: the answer becomes a new message, as on Slack


def respond(world: World, hook_id: str, raw: bytes) -> Json:
    """Apply one POST to a response URL and return what happened to which message."""
    try:
        body: Any = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _refuse("invalid_payload", 400) from None
    if not isinstance(body, dict):
        raise _refuse("invalid_payload", 400)
    with world.lock:
        hook = world.response_urls.get(hook_id)
        if hook is None:
            raise _refuse("no_service", 404)
        if time.time() - hook["issued"] > RESPONSE_URL_SECONDS:
            raise _refuse("expired_url", 404)
        if hook["uses"] >= RESPONSE_URL_USES:
            raise _refuse("used_url", 404)
        channel = hook["channel"]
        original = _original(world, channel, hook["message_ts"])
        if body.get("delete_original") in (True, "true"):
            if original is None:
                raise _refuse("message_not_found", 404)
            hook["uses"] += 1
            original["deleted"] = True
            world.save()
            return {"ok": True, "action": "deleted", "channel": channel, "ts": original["message"]["ts"]}
        try:
            text, blocks = message_content(body)
        except SlackError as err:
            err.status = 400
            raise
        hook["uses"] += 1
        if original is not None and body.get("replace_original") in (True, "true"):
            message = world.edit_message(original, text, blocks, BOT_USER_ID)
            world.save()
            return {"ok": True, "action": "replaced", "channel": channel, "ts": message["ts"]}
        message = bot_message(world, text, blocks, body.get("thread_ts"))
        if body.get("response_type") == "in_channel":
            world.add_message(channel, message, via="response_url")
        else:
            world.add_message(channel, message, via="response_url", ephemeral_to=hook["user"])
        world.save()
        return {"ok": True, "action": "posted", "channel": channel, "ts": message["ts"]}
