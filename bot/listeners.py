"""bolt listeners: the slash command, the card buttons and the modals. Each acks within 3 seconds.

Listeners only translate between Slack payloads and ``commands``: parse, decide and record happen
there, Azure happens in the workers. A listener never raises into bolt: whatever goes wrong, the
person who clicked is told.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from commands.context import Config, Context
from commands.form import Catalog
from commands.handle import Delivery, click, handle, may
from commands.home import Snapshots
from commands.replies import Queued, Refusal, Reply, ShareCard
from commands.verbs import VERBS

from . import home, listing, logs, paging, slack_out, views
from .threaddb import ThreadDatabase

log = logging.getLogger("natlink.listeners")


@dataclass
class Deps:
    """What listeners need; the database connection is per thread, as sqlite requires."""

    db_path: Path
    config: Config
    wake: Callable[[], None]
    on_ack: Callable[[str, float], object] = lambda verb, seconds: None  # ack latency by verb (/metrics)
    snapshots: Snapshots | None = None  # Azure read for App Home's mappings (None: the tab shows none)
    catalog: Catalog | None = None  # the request form's places (bot/request_form.py)

    def __post_init__(self) -> None:
        self.db = ThreadDatabase(self.db_path)

    def context(self, actor: str, channel: str | None, client: WebClient | None = None) -> Context:
        """The actor's context; with ``client``, use cases may ask whether natlink can post somewhere."""
        if client is None:
            return Context(self.db(), self.config, actor, channel)
        return Context(self.db(), self.config, actor, channel, reach=slack_out.reach_of(client))


def register(app: App, deps: Deps) -> None:
    app.command("/natlink")(lambda ack, body, client: _command(deps, ack, body, client))
    app.action(views.APPROVE)(lambda ack, body, client: _click(deps, ack, body, client, "approve"))
    for action_id, days in views.APPROVE_FOR_DAYS.items():
        app.action(action_id)(_approve_for(deps, int(timedelta(days=days).total_seconds())))
    app.action(views.REJECT)(lambda ack, body, client: _click(deps, ack, body, client, "reject"))
    app.view(views.REJECT_MODAL)(
        lambda ack, body, view, client: _reject_reason(deps, ack, body, view, client)
    )
    app.action(views.SHARE)(lambda ack, body, client: _open_share_form(deps, ack, body, client))
    app.view(views.SHARE_MODAL)(lambda ack, body, view, client: _share_form(deps, ack, body, view, client))
    app.event("app_home_opened")(home.on_opened(lambda user: deps.context(user, None), deps.snapshots))
    paging.register(app, deps)


def _command(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    started = time.monotonic()
    try:
        with logs.about(user=body.get("user_id")):
            _answer_command(deps, ack, body, client)
    finally:
        deps.on_ack(_verb(body.get("text", "")), time.monotonic() - started)


def _verb(text: str) -> str:
    """The command's verb as a metrics label: only natlink's own verbs, never what a user typed."""
    word = (text.split() or ["help"])[0].lower()
    return word if word in VERBS else "other"


def _answer_command(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ctx = deps.context(body["user_id"], body.get("channel_id"), client)
    answer = handle(
        ctx, body.get("text", ""), Delivery(key=body.get("trigger_id"), response_url=body.get("response_url"))
    )
    match answer:
        case Queued() if not VERBS[answer.operation.kind].progress:
            deps.wake()
            ack()  # a read, or a quiet change: the worker's answer is the only one the person sees
        case Queued():
            deps.wake()
            verb = "Queued" if answer.created else "Already queued"
            ack(
                response_type="ephemeral",
                **views.lines_message(
                    verb, (f"{answer.summary} (operation {answer.operation.id})",), ""
                ).kwargs(),
            )
        case ShareCard():
            ack()  # _share answers once, with what happened
            _share(client, ctx, answer, body.get("response_url"))
        case Reply(table=table) if table:  # --csv: the upload takes longer than an ack may
            ack()
            told = listing.upload(client, ctx.actor, answer)
            slack_out.private(client, ctx.actor, ctx.channel, body.get("response_url"), told)
        case Reply(public=True):
            ack(response_type="in_channel", **slack_out.render(answer).kwargs())
        case _:
            ack(response_type="ephemeral", **slack_out.render(answer).kwargs())


def _share(client: WebClient, ctx: Context, card: ShareCard, response_url: str | None) -> None:
    """Post the card, then tell the person once what happened, through the command's response URL,
    which works even where natlink was not invited."""
    ports = [int(p) for p in card.service.details.get("ports", [])]
    message = views.share_card(card.service.name, card.service.alias, card.service.location, ports)
    try:
        client.chat_postMessage(channel=card.channel, **message.kwargs())
        done = Reply(
            f"{card.service.name} shared", (f"*{card.service.name}* is shared in <#{card.channel}>.",)
        )
        slack_out.private(client, ctx.actor, ctx.channel, response_url, slack_out.render(done))
    except SlackApiError as error:
        code = error.response.get("error")
        log.warning(
            "chat.postMessage of the share card of %s to %s failed: %s", card.service.name, card.channel, code
        )
        hint = (
            f"`/invite @natlink` in <#{card.channel}>, then share again."
            if code in slack_out.UNREACHABLE
            else None
        )
        refusal = Refusal(
            f"natlink could not post the card in <#{card.channel}>: Slack answered {code}.", hint=hint
        )
        slack_out.private(client, ctx.actor, ctx.channel, response_url, slack_out.render(refusal))


def _approve_for(deps: Deps, seconds: int) -> Callable[[Ack, dict[str, Any], WebClient], None]:
    """A timed-approval button's listener. bolt passes arguments by parameter name, so the duration
    is bound here rather than as a default argument bolt would try to fill."""
    return lambda ack, body, client: _click(deps, ack, body, client, "approve", seconds)


def _click(
    deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, verb: str, for_seconds: int | None = None
) -> None:
    ack()
    request_id = body["actions"][0]["value"]
    user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
    ctx = deps.context(user, channel)
    if verb == "reject":
        refusal = may(ctx, "reject", {"request": request_id})
        if refusal is not None:
            _ephemeral(client, channel, user, slack_out.render(refusal))
            return
        ts = (body.get("message") or {}).get("ts") or body.get("container", {}).get("message_ts", "")
        _open(client, body, views.reject_modal(request_id, channel or "", ts))
        return
    _decide(deps, client, ctx, request_id, verb, None, for_seconds)


def _reject_reason(
    deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
) -> None:
    ack()
    request_id, channel, _ = view["private_metadata"].split("|")
    reason = ((view["state"]["values"].get("reason") or {}).get("value") or {}).get("value") or ""
    _decide(deps, client, deps.context(body["user"]["id"], channel or None), request_id, "reject", reason)


def _decide(
    deps: Deps,
    client: WebClient,
    ctx: Context,
    request_id: str,
    verb: str,
    reason: str | None,
    for_seconds: int | None = None,
) -> None:
    values: dict[str, Any] = {"request": request_id, "reason": reason or None, "for_": for_seconds}
    answer = click(ctx, verb, {k: v for k, v in values.items() if v is not None})
    if isinstance(answer, Queued):
        deps.wake()
        try:
            slack_out.show_decided(
                client, ctx.db, request_id, ctx.config.portal
            )  # at once; the worker confirms or reopens it
        except SlackApiError as error:
            log.warning("cannot update card of %s: %s", request_id, error.response.get("error"))
        return
    _ephemeral(client, ctx.channel, ctx.actor, slack_out.render(answer))


def _open_share_form(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The create result's *Share* button: the same check as ``/natlink share``, then the channel picker."""
    ack()
    service = body["actions"][0]["value"]
    user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
    refusal = may(deps.context(user, channel), "share", {"service": service})
    if refusal is not None:
        _ephemeral(client, channel, user, slack_out.render(refusal))
        return
    _open(client, body, views.share_modal(service, channel or ""))


def _share_form(deps: Deps, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
    """The picked channel, as ``/natlink share <service> #channel``: the same row, checks and card."""
    ack()
    service, origin = view["private_metadata"].split("|")
    picked = ((view["state"]["values"].get("channel") or {}).get("value") or {}).get("selected_conversation")
    ctx = deps.context(body["user"]["id"], origin or None, client)
    answer = click(ctx, "share", {"service": service, "channel": picked} if picked else {"service": service})
    if isinstance(answer, ShareCard):
        _share(client, ctx, answer, None)
    else:
        _ephemeral(client, origin or None, ctx.actor, slack_out.render(answer))


def _open(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Open a modal; Slack refuses one whose trigger is older than 3 seconds (a slow click), and the
    person is told to click again instead of seeing nothing."""
    try:
        client.views_open(trigger_id=body["trigger_id"], view=view)
    except SlackApiError as error:
        code = error.response.get("error")
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
        log.warning("views.open for %s in %s failed: %s", user, channel, code)
        refusal = Refusal(f"Slack would not open the form ({code}). Click the button again.")
        slack_out.private(client, user, channel, body.get("response_url"), slack_out.render(refusal))


def _ephemeral(client: WebClient, channel: str | None, user: str, message: views.Message) -> None:
    """Tell ``user`` ephemerally in ``channel``, else by DM."""
    if slack_out.private(client, user, channel, None, message) is not None:
        log.error("%s could not be told by any means", user)
