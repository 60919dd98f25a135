"""A tiny scripted bot for the web page's tests: verifies every delivery with slack_sdk's
``SignatureVerifier``, records it, and answers the way natlink's shapes do.

* ``/natlink card <service>`` posts an approval card (Approve primary, Reject danger with a confirm
  dialog) in the channel and acks with an ephemeral "Queued".
* ``/natlink whisper`` answers with ``chat.postEphemeral`` to the caller only.
* Approve edits the card in place (``chat.update``) and DMs the clicker.
* Reject opens a modal (``views.open``) asking for a reason; a reason of ``bad`` is refused with
  ``response_action: errors`` (``misplaced``: keyed to no block of the view); anything else edits the card to say it was rejected.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from tests.sandbox.slack.receiver import BotEndpoint

CONFIRM = {
    "title": {"type": "plain_text", "text": "Reject this request?"},
    "text": {"type": "mrkdwn", "text": "The requester will be told."},
    "confirm": {"type": "plain_text", "text": "Reject"},
    "deny": {"type": "plain_text", "text": "Keep it"},
    "style": "danger",
}


@dataclass
class Received:
    kind: str  # "command", "block_actions", "view_submission", ...
    payload: dict[str, Any]
    valid: bool


class ScriptedBot(BotEndpoint):
    def __init__(self, signing_secret: str) -> None:
        self.received: list[Received] = []
        self.api_url = ""
        self.bot_token = ""
        super().__init__(signing_secret)

    def connect(self, config: dict[str, Any]) -> None:
        self.api_url, self.bot_token = config["api_url"], config["bot_token"]

    def answer(self, path: str, body: bytes, headers: dict[str, str], valid: bool) -> tuple[int, bytes, str]:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        if "payload" in form:
            payload = json.loads(form["payload"])
            kind = payload["type"]
        else:
            payload, kind = form, "command"
        self.received.append(Received(kind, payload, valid))
        if not valid:
            return 401, b"", "text/plain"
        answer: dict[str, Any] | None = None
        if kind == "command":
            answer = self.on_command(form)
        elif kind == "block_actions":
            self.on_action(payload)
        elif kind == "view_submission":
            answer = self.on_submission(payload)
        if answer is None:
            return 200, b"", "text/plain"
        return 200, json.dumps(answer).encode(), "application/json"

    def slack(self, method: str, **args: Any) -> dict[str, Any]:
        request = urllib.request.Request(
            self.api_url + method,
            data=json.dumps(args).encode(),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {self.bot_token}",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["ok"], answer
        return answer

    # -- the script ----------------------------------------------------------------------------

    def on_command(self, form: dict[str, str]) -> dict[str, Any] | None:
        words = form["text"].split()
        verb = words[0] if words else "help"
        if verb == "card":
            service = words[1] if len(words) > 1 else "rdp-vmb"
            self.slack("chat.postMessage", channel=form["channel_id"], **card(service, form["user_id"]))
            return {"response_type": "ephemeral", "text": f"Queued: card for *{service}*"}
        if verb == "whisper":
            self.slack(
                "chat.postEphemeral",
                channel=form["channel_id"],
                user=form["user_id"],
                text="psst, `only you`",
            )
            return None
        if verb == "shout":
            return {"response_type": "in_channel", "text": "Everyone sees _this_"}
        return {"response_type": "ephemeral", "text": "Usage: `/natlink card <service>`"}

    def on_action(self, payload: dict[str, Any]) -> None:
        action = payload["actions"][0]
        channel, ts = payload["container"]["channel_id"], payload["container"]["message_ts"]
        who = payload["user"]["id"]
        if action["action_id"] == "natlink_approve":
            self.slack("chat.update", channel=channel, ts=ts, **decided(action["value"], "Approved", who))
            self.slack(
                "chat.postMessage", channel=who, text=f"Your approval of {action['value']} is recorded"
            )
        elif action["action_id"] == "natlink_reject":
            view = reject_modal(action["value"], channel, ts)
            self.slack("views.open", trigger_id=payload["trigger_id"], view=view)

    def on_submission(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        view = payload["view"]
        reason = view["state"]["values"].get("reason", {}).get("value", {}).get("value") or ""
        if reason == "bad":
            return {"response_action": "errors", "errors": {"reason": "That is not a reason"}}
        if reason == "misplaced":  # an error under a block the view does not have: Slack refuses it
            return {"response_action": "errors", "errors": {"nowhere": "lost"}}
        service, channel, ts = view["private_metadata"].split("|")
        self.slack(
            "chat.update",
            channel=channel,
            ts=ts,
            **decided(service, "Rejected", payload["user"]["id"], reason),
        )
        return None


def card(service: str, requester: str) -> dict[str, Any]:
    return {
        "text": f"Endpoint request for {service}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"Endpoint request for {service}"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Service*\n{service}"},
                    {"type": "mrkdwn", "text": f"*Requested by*\n<@{requester}>"},
                    {
                        "type": "mrkdwn",
                        "text": "*Reason*\n&lt;b&gt;not bold&lt;/b&gt; <https://example.com/x|the ticket>",
                    },
                ],
            },
            {"type": "divider"},
            {
                "type": "actions",
                "block_id": f"decide:{service}",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Approve"},
                        "action_id": "natlink_approve",
                        "value": service,
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Reject"},
                        "action_id": "natlink_reject",
                        "value": service,
                        "style": "danger",
                        "confirm": CONFIRM,
                    },
                ],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Posted in <#C0TEAMB|team-b>"}]},
        ],
    }


def decided(service: str, decision: str, by: str, reason: str = "") -> dict[str, Any]:
    note = f" — {reason}" if reason else ""
    return {
        "text": f"{service} {decision.lower()}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"Endpoint request for {service}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"*{decision}* by <@{by}>{note}"}]},
        ],
    }


def reject_modal(service: str, channel: str, ts: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "natlink_reject_reason",
        "private_metadata": f"{service}|{channel}|{ts}",
        "title": {"type": "plain_text", "text": "Reject request"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"Reject `{service}`?"}},
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": 140},
            },
        ],
    }
