"""Everything natlink posts after the ack: progress messages, final replies, cards and DMs.

Slack calls can fail (the bot is not in the channel, a response URL expired); a failure to post
is logged and never undoes work that Azure and storage already did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlite_utils import Database

from commands import cards
from commands.replies import CardDecided, CardNeeded, CardReopened, Notice, Outcome, Refusal, Reply, Tell
from storage.records import LinkRequest, Operation

from . import views

log = logging.getLogger("natlink.slack")


def render(reply: Reply | Refusal) -> views.Message:
    """A use case's answer as blocks. Its text is already escaped mrkdwn (see commands.replies)."""
    if isinstance(reply, Refusal):
        blocks = [views.section(f":warning: {reply.reason}")]
        if reply.hint:
            blocks.append(views.context(f"What to do: {reply.hint}"))
        if reply.usage:
            blocks.append(views.context(f"Usage: `{views.escape(reply.usage)}`"))
        return views.Message(reply.reason, blocks)
    return views.lines_message(reply.title, reply.lines, reply.empty or "Nothing to show.")


def card_facts(request: LinkRequest) -> views.CardFacts:
    return views.CardFacts(
        request_id=request.id,
        service=request.service,
        requester=request.requester,
        consumer_subscription=request.consumer_subscription,
        vnet=request.vnet,
        subnet=request.subnet,
        pe_name=request.pe_name,
        reason=request.reason,
        link_identifier=request.link_identifier,
    )


def decided(request: LinkRequest) -> views.Message:
    assert request.decided_at
    return views.decided_card(
        card_facts(request), request.state, request.decided_by, request.decided_at, request.decision_reason
    )


@dataclass
class ProgressMessage:
    """An operation's message in its channel, edited in place at each step and at the end."""

    slack: WebClient
    op: Operation
    title: str
    steps: list[str] = field(default_factory=list)
    channel: str | None = None
    ts: str | None = None

    def open(self, remember: Callable[[str, str], object]) -> None:
        """Post the message, or take up the one an earlier attempt posted (after a restart)."""
        if self.op.reply_ts and self.op.reply_channel:
            self.channel, self.ts = self.op.reply_channel, self.op.reply_ts
            self._show(views.progress(self.title, [], True))
            return
        if self.op.reply_channel is None:
            return
        try:
            posted = self.slack.chat_postMessage(
                channel=self.op.reply_channel, **views.progress(self.title, [], True).kwargs()
            )
        except SlackApiError as error:
            log.warning("cannot post progress for operation %s: %s", self.op.id, error.response.get("error"))
            return
        self.channel, self.ts = posted["channel"], posted["ts"]
        remember(self.channel, self.ts)

    def step(self, text: str) -> None:
        self.steps.append(text)
        self._show(views.progress(self.title, self.steps, True))

    def finish(self, outcome: Outcome) -> None:
        message = render(outcome.reply)
        if self.ts is None:
            reply_once(self.slack, self.op, message)
            return
        if isinstance(outcome.reply, Refusal):
            failed = views.progress(self.title, self.steps, False, failed="failed")
            message = views.Message(message.text, failed.blocks + message.blocks)
        self._show(message)

    def _show(self, message: views.Message) -> None:
        if self.ts is None:
            return
        try:
            self.slack.chat_update(channel=self.channel, ts=self.ts, **message.kwargs())
        except SlackApiError as error:
            log.warning("cannot update progress of operation %s: %s", self.op.id, error.response.get("error"))


def reply_once(slack: WebClient, op: Operation, message: views.Message) -> None:
    """A private answer: through the command's response URL, else as an ephemeral message."""
    try:
        if op.response_url:
            WebhookClient(op.response_url, retry_handlers=slack.retry_handlers).send(
                response_type="ephemeral", **message.kwargs()
            )
        elif op.reply_channel:
            slack.chat_postEphemeral(channel=op.reply_channel, user=op.actor, **message.kwargs())
    except SlackApiError as error:
        log.warning("cannot answer operation %s: %s", op.id, error.response.get("error"))


def deliver(slack: WebClient, db: Database, notices: tuple[Notice, ...]) -> None:
    for notice in notices:
        try:
            _deliver(slack, db, notice)
        except SlackApiError as error:
            log.warning("cannot deliver %s: %s", type(notice).__name__, error.response.get("error"))


def _deliver(slack: WebClient, db: Database, notice: Notice) -> None:
    match notice:
        case CardNeeded(request=request, service=service, owners=owners):
            card = views.approval_card(card_facts(request))
            places = [service.owner_channel] if service.owner_channel else [_dm(slack, o) for o in owners]
            for place in places:
                posted = slack.chat_postMessage(channel=place, **card.kwargs())
                cards.remember(db, request.id, posted["channel"], posted["ts"])
        case CardDecided(request=request):
            show_decided(slack, db, request.id)
        case CardReopened(request=request, problem=problem):
            if request.card_channel and request.card_ts:
                card = views.approval_card(card_facts(request))
                card.blocks.append(views.context(f":warning: {problem}"))
                slack.chat_update(channel=request.card_channel, ts=request.card_ts, **card.kwargs())
        case Tell(user=user, reply=reply):
            slack.chat_postMessage(channel=_dm(slack, user), **render(reply).kwargs())


def show_decided(slack: WebClient, db: Database, request_id: str) -> None:
    """Edit the card in place: who decided and when, buttons gone."""
    request = cards.current(db, request_id)
    if request and request.card_channel and request.card_ts and request.decided_at:
        slack.chat_update(channel=request.card_channel, ts=request.card_ts, **decided(request).kwargs())


def _dm(slack: WebClient, user: str) -> str:
    return slack.conversations_open(users=user)["channel"]["id"]
