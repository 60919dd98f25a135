"""Everything natlink posts after the ack: progress messages, final replies, cards and DMs.

Slack calls can fail (the bot is not in the channel, a response URL expired, a message too long);
a failure to post never undoes work that Azure and storage already did, and it is never only
logged: a card that cannot reach its channel goes to the owners by DM and the requester is told
where; an answer Slack refuses is replaced by a short one saying so; whatever else fails is told
to the person whose operation it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient
from sqlite_utils import Database

from commands import cards
from commands.context import Reach
from commands.replies import (
    CardClosed,
    CardDecided,
    CardNeeded,
    CardReopened,
    FollowUp,
    Notice,
    Outcome,
    Refusal,
    Reply,
    Tell,
)
from storage import services
from storage.records import LinkRequest, Operation

from . import listing, views

log = logging.getLogger("natlink.slack")
UNREACHABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
"""Errors that say the bot cannot post in a channel at all (chat.postMessage errors)."""
THREAD_GONE = frozenset({"thread_not_found", "invalid_thread_ts"})
"""chat.postMessage's refusals of a thread_ts: the card was deleted (sandbox/slack/api.thread_of)."""
INVITE = "type `/invite @natlink` there"
FAILED = "failed; why went privately to the person who ran it"


def reach_of(slack: WebClient) -> Callable[[str], Reach]:
    """How use cases learn whether natlink can post in a channel: ``conversations.info``'s
    ``is_member`` (scopes channels:read and groups:read, app.yaml). A private channel the bot is not
    in does not exist for its token; a DM always reaches."""

    def reach(channel: str) -> Reach:
        if channel.startswith("D"):
            return Reach.MEMBER
        try:
            info = slack.conversations_info(channel=channel)["channel"]
        except SlackApiError as error:
            code = error.response.get("error")
            if code == "channel_not_found":
                return Reach.OUTSIDE
            log.warning("conversations.info of %s failed: %s", channel, code)
            return Reach.UNKNOWN
        return Reach.MEMBER if info.get("is_member") and not info.get("is_archived") else Reach.OUTSIDE

    return reach


def post_in_thread(
    slack: WebClient, channel: str, thread_ts: str | None, message: views.Message
) -> SlackResponse:
    """Post a request's follow-up in its card's thread (``commands.cards.thread``), or on its own
    when it has none. A card deleted since is no reason to lose the follow-up: Slack refuses the
    thread, and the message goes on its own, as before threads. Other refusals raise."""
    if thread_ts:
        try:
            return slack.chat_postMessage(channel=channel, thread_ts=thread_ts, **message.kwargs())
        except SlackApiError as error:
            if error.response.get("error") not in THREAD_GONE:
                raise
            log.warning(
                "the card %s in %s is gone (%s); posting on its own",
                thread_ts,
                channel,
                error.response.get("error"),
            )
    return slack.chat_postMessage(channel=channel, **message.kwargs())


def render(reply: Reply | Refusal) -> views.Message:
    """A use case's answer as blocks. Its text is already escaped mrkdwn (see commands.replies)."""
    if isinstance(reply, Refusal):
        blocks = [views.section(f":warning: {reply.reason}")]
        if reply.hint:
            blocks.append(views.context(f"What to do: {reply.hint}"))
        if reply.usage:
            blocks.append(views.context(f"Usage: `{views.escape(reply.usage)}`"))
        return views.Message(reply.reason, blocks)
    listed = reply.listing
    buttons = (
        (lambda shown: views.page_buttons(lambda turn: listing.button_value(listed, turn), shown))
        if listed
        else None
    )
    message = views.lines_message(
        reply.title,
        reply.lines,
        reply.empty or "Nothing to show.",
        turn=reply.turn,
        keys=reply.keys,
        more=reply.more,
        buttons=buttons,
    )
    if reply.share:
        message.blocks.append(views.share_button(reply.share))
    if reply.about:
        message.blocks[0] = views.about_request(reply.about, message.blocks[0])
    return message


def card_facts(request: LinkRequest, db: Database, portal: str | None) -> views.CardFacts:
    """The card's facts; with ``portal`` the service, endpoint and subnet link to the portal (issue 12)."""
    service = services.get_service(db, request.service) if portal else None
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
        portal=portal,
        service_id=service.pls_id if service else None,
        pe_id=request.pe_id,
        subnet_id=request.subnet_id,
    )


def decided(request: LinkRequest, db: Database, portal: str | None) -> views.Message:
    assert request.decided_at
    return views.decided_card(
        card_facts(request, db, portal),
        request.state,
        request.decided_by,
        request.decided_at,
        request.decision_reason,
        request.expires_at,
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
    thread: str | None = None
    """The card's ts when the operation is about a request whose card is in its channel."""

    def open(self, remember: Callable[[str, str], object]) -> None:
        """Post the message, or take up the one an earlier attempt posted (after a restart)."""
        if self.op.reply_ts and self.op.reply_channel:
            self.channel, self.ts = self.op.reply_channel, self.op.reply_ts
            self._show(views.progress(self.title, [], True, actor=self.op.actor))
            return
        if self.op.reply_channel is None:
            return
        try:
            posted = post_in_thread(
                self.slack,
                self.op.reply_channel,
                self.thread,
                views.progress(self.title, [], True, actor=self.op.actor),
            )
        except SlackApiError as error:
            log.warning("cannot post progress for operation %s: %s", self.op.id, error.response.get("error"))
            return
        self.channel, self.ts = posted["channel"], posted["ts"]
        remember(self.channel, self.ts)

    def step(self, text: str) -> None:
        self.steps.append(text)
        self._show(views.progress(self.title, self.steps, True, actor=self.op.actor))

    def finish(self, outcome: Outcome) -> None:
        """The final answer in the progress message, or privately when there is none or Slack
        refuses the edit: the person always learns how it ended. A failure's reasons go only to the
        person who ran it (they may name subscriptions and resources the channel has no business
        with); the channel's message just says it failed, so nobody waits on it."""
        if isinstance(outcome.reply, Refusal):
            if self.ts is not None:
                self._show(views.progress(self.title, self.steps, False, failed=FAILED, actor=self.op.actor))
            said = f"*{views.escape(self.title)}* did not finish. {outcome.reply.reason}"
            reply_once(self.slack, self.op, render(replace(outcome.reply, reason=said)))
            return
        if outcome.reply.table:  # --csv or Export CSV: the file, and a word on where it went
            reply_once(self.slack, self.op, listing.upload(self.slack, self.op.actor, outcome.reply))
            return
        message = render(outcome.reply)
        if self._page_replaced(message):
            return
        if self.ts is None or not self._show(message):
            reply_once(self.slack, self.op, message)

    def _page_replaced(self, message: views.Message) -> bool:
        """Another page of a listing (``commands.handle.page``) goes in place of the one clicked."""
        if self.ts is not None or not self.op.reply_ts:
            return False
        place = Place(self.op.reply_channel, self.op.reply_ts, self.op.response_url)
        return replace_message(self.slack, place, message)

    def _show(self, message: views.Message) -> bool:
        if self.ts is None:
            return False
        try:
            self.slack.chat_update(channel=self.channel, ts=self.ts, **message.kwargs())
        except SlackApiError as error:
            log.warning(
                "chat.update of operation %s's message in %s failed: %s",
                self.op.id,
                self.channel,
                error.response.get("error"),
            )
            return False
        return True


@dataclass(frozen=True)
class Place:
    """A message to replace: one in a channel or a DM by ``chat.update``; an ephemeral one, which
    ``chat.update`` cannot reach (``message_not_found``), through its click's response URL with
    ``replace_original`` (api.slack.com/interactivity/handling#modifying_original)."""

    channel: str | None
    ts: str
    response_url: str | None = None


def replace_message(slack: WebClient, place: Place, message: views.Message) -> bool:
    """Replace the message in place; False (logged with the method) when Slack refused."""
    if place.response_url:
        answer = WebhookClient(place.response_url, retry_handlers=slack.retry_handlers).send(
            replace_original=True, **message.kwargs()
        )
        if answer.status_code == 200:
            return True
        log.warning("response_url replace in %s failed: %s", place.channel, _webhook_error(answer.body))
        return False
    try:
        slack.chat_update(channel=place.channel, ts=place.ts, **message.kwargs())
    except SlackApiError as error:
        log.warning(
            "chat.update of %s in %s failed: %s", place.ts, place.channel, error.response.get("error")
        )
        return False
    return True


def reply_once(slack: WebClient, op: Operation, message: views.Message) -> None:
    """A private answer to the operation's author. When Slack refuses the answer itself, a short
    one says so, so the person never waits for an answer that will not come."""
    error = private(slack, op.actor, op.reply_channel, op.response_url, message)
    if error is None:
        return
    log.warning("cannot answer operation %s in %s: %s", op.id, op.reply_channel, error)
    note = views.error(
        f"natlink finished operation {op.id}, but Slack refused its answer ({error}).",
        hint="`/natlink status` and `/natlink audit` show the result.",
    )
    if private(slack, op.actor, op.reply_channel, op.response_url, note) is not None:
        log.error("operation %s: %s could not be told its result by any means", op.id, op.actor)


def private(
    slack: WebClient, user: str, channel: str | None, response_url: str | None, message: views.Message
) -> str | None:
    """Tell ``user`` privately: through the response URL, else ephemerally in ``channel``, else by
    DM. Returns None once one worked, else the last error (each is logged with its method)."""
    error = None
    if response_url:
        answer = WebhookClient(response_url, retry_handlers=slack.retry_handlers).send(
            response_type="ephemeral", **message.kwargs()
        )
        if answer.status_code == 200:
            return None
        error = _webhook_error(answer.body)
        log.warning("response_url for %s answered %s: %s", user, answer.status_code, error)
    if channel:
        try:
            slack.chat_postEphemeral(channel=channel, user=user, **message.kwargs())
            return None
        except SlackApiError as failed:
            error = str(failed.response.get("error"))
            log.warning("chat.postEphemeral to %s in %s failed: %s", user, channel, error)
    try:
        slack.chat_postMessage(channel=_dm(slack, user), **message.kwargs())
        return None
    except SlackApiError as failed:
        error = str(failed.response.get("error"))
        log.warning("chat.postMessage to %s's DM failed: %s", user, error)
    return error


def _webhook_error(body: str) -> str:
    """A response URL's refusal: Slack answers the error's name as text (the sandbox, as JSON)."""
    try:
        return str(json.loads(body).get("error") or body)
    except (ValueError, AttributeError):
        return body.strip() or "unknown error"


def deliver(
    slack: WebClient, db: Database, notices: tuple[Notice, ...], op: Operation, portal: str | None = None
) -> None:
    """Post what a finished operation asks for; whatever Slack refuses, and a card posted anew
    because Slack no longer had it, is told to ``op``'s author."""
    for notice in notices:
        try:
            note = _deliver(slack, db, notice, portal)
        except SlackApiError as error:
            problem = str(error.response.get("error"))
            log.warning("cannot deliver %s for operation %s: %s", type(notice).__name__, op.id, problem)
            note = views.error(f"natlink could not {_what(notice)}: Slack answered {problem}.")
        if note is not None:
            private(slack, op.actor, op.reply_channel, None, note)


def _what(notice: Notice) -> str:
    match notice:
        case CardNeeded(request=request):
            return f"post the approval card of {request.id}"
        case CardDecided(request=request) | CardReopened(request=request) | CardClosed(request=request):
            return f"update the approval card of {request.id}"
        case FollowUp(request=request):
            return f"post a reply in the thread of {request.id}'s card"
        case Tell(user=user):
            return f"post a message to {views.user(user)}"
    return "post a message"


def _deliver(slack: WebClient, db: Database, notice: Notice, portal: str | None) -> views.Message | None:
    """Post one notice; returns what its author must hear besides (a card posted anew), if anything."""
    match notice:
        case CardNeeded(request=request, service=service, owners=owners):
            card = views.approval_card(card_facts(request, db, portal))
            if service.owner_channel:
                try:
                    posted = slack.chat_postMessage(channel=service.owner_channel, **card.kwargs())
                    cards.remember(db, request.id, posted["channel"], posted["ts"])
                    return
                except SlackApiError as error:
                    if error.response.get("error") not in UNREACHABLE:
                        raise
                    _card_to_owners(
                        slack,
                        db,
                        request,
                        service.owner_channel,
                        owners,
                        str(error.response.get("error")),
                        portal,
                    )
                    return
            for owner in owners:
                posted = slack.chat_postMessage(channel=_dm(slack, owner), **card.kwargs())
                cards.remember(db, request.id, posted["channel"], posted["ts"])
        case CardDecided(request=request):
            anew = show_decided(slack, db, request.id, portal)
            if settled := cards.current(db, request.id):
                _settle_request_message(slack, db, settled, decided(settled, db, portal))
            return _posted_anew(request) if anew else None
        case CardReopened(request=request, problem=problem):
            card = views.approval_card(card_facts(request, db, portal))
            card.blocks.append(views.context(f":warning: {problem}"))
            return _posted_anew(request) if _edit_card(slack, db, request, card) else None
        case CardClosed(request=request, note=note):
            closed = views.closed_card(card_facts(request, db, portal), note)
            anew = _edit_card(slack, db, request, closed)
            _settle_request_message(slack, db, request, closed)
            return _posted_anew(request) if anew else None
        case FollowUp(request=request, reply=reply):
            card = cards.current(db, request.id) or request
            if card.card_channel and card.card_ts:
                post_in_thread(slack, card.card_channel, card.card_ts, render(reply))
        case Tell(user=user, reply=reply):
            slack.chat_postMessage(channel=_dm(slack, user), **render(reply).kwargs())
    return None


def _edit_card(slack: WebClient, db: Database, request: LinkRequest, card: views.Message) -> bool:
    """Show ``card`` in place of the request's card. A card Slack no longer has (someone deleted
    it) is posted anew where it was, and remembered there, so the channel still shows the request;
    returns True then. False when edited in place, or when natlink never posted a card."""
    if not (request.card_channel and request.card_ts):
        return False
    try:
        slack.chat_update(channel=request.card_channel, ts=request.card_ts, **card.kwargs())
        return False
    except SlackApiError as error:
        if error.response.get("error") != "message_not_found":
            raise
    posted = slack.chat_postMessage(channel=request.card_channel, **card.kwargs())
    cards.remember(db, request.id, posted["channel"], posted["ts"])
    return True


def _posted_anew(request: LinkRequest) -> views.Message:
    where = (
        "the DM where it was" if str(request.card_channel).startswith("D") else f"<#{request.card_channel}>"
    )
    return views.lines_message(
        "The approval card was posted again",
        (
            f"The approval card of `{request.id}` had been deleted in Slack, so natlink posted it again, "
            f"as it now stands, in {where}.",
        ),
        "",
    )


def _settle_request_message(slack: WebClient, db: Database, request: LinkRequest, now: views.Message) -> None:
    """The reply to the request said "Waiting for an owner"; once Azure holds the decision it shows
    what happened instead, as PagerDuty's incident messages do. The requester has the news by DM
    too, so a message Slack will not edit any more (deleted, archived) costs only a log line."""
    where = cards.request_message(db, request)
    if where is None:
        return
    try:
        slack.chat_update(channel=where[0], ts=where[1], **now.kwargs())
    except SlackApiError as error:
        log.warning("cannot update the request message of %s: %s", request.id, error.response.get("error"))


def _card_to_owners(
    slack: WebClient,
    db: Database,
    request: LinkRequest,
    channel: str,
    owners: tuple[str, ...],
    error: str,
    portal: str | None,
) -> None:
    """The owner channel refused the card: each owner gets it by DM, with why and what to do, and
    the requester learns where it went. Raises when no owner could be reached either."""
    card = views.approval_card(card_facts(request, db, portal))
    card.blocks.append(views.context(f":warning: natlink cannot post in <#{channel}> ({error}): {INVITE}."))
    reached = []
    for owner in owners:
        try:
            posted = slack.chat_postMessage(channel=_dm(slack, owner), **card.kwargs())
        except SlackApiError as failed:
            log.warning(
                "chat.postMessage of %s's card to %s failed: %s",
                request.id,
                owner,
                failed.response.get("error"),
            )
            continue
        cards.remember(db, request.id, posted["channel"], posted["ts"])
        reached.append(owner)
    if not reached:
        raise SlackApiError(f"no owner of {request.service} could be reached", {"error": error})
    if views.user(request.requester).startswith("<@"):
        names = ", ".join(views.user(o) for o in reached)
        text = (
            f"The approval card of `{request.id}` could not reach <#{channel}> (natlink is not in it), "
            f"so it went to the owners of {views.escape(request.service)} by DM: {names}."
        )
        slack.chat_postMessage(
            channel=_dm(slack, request.requester),
            **views.lines_message("Where your request went", (text,), "").kwargs(),
        )


def show_decided(slack: WebClient, db: Database, request_id: str, portal: str | None = None) -> bool:
    """Edit the card in place: who decided and when, buttons gone. True when Slack no longer had
    the card and it was posted anew (:func:`_edit_card`)."""
    request = cards.current(db, request_id)
    return bool(
        request and request.decided_at and _edit_card(slack, db, request, decided(request, db, portal))
    )


def _dm(slack: WebClient, user: str) -> str:
    return slack.conversations_open(users=user)["channel"]["id"]
