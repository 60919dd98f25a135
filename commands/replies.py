"""What use cases hand back to the bot: answers, refusals and things to post, all free of Slack.

Text here is Slack mrkdwn with every piece of user input already escaped (``escapes.escape``);
the bot lays it out in blocks but never has to guess what is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.records import LinkRequest, Operation, Service


@dataclass(frozen=True)
class Listing:
    """The command a listing answers, for its buttons (Previous, Next, Export CSV): the verb, its
    filters (the payload's fields but the page), and who asked, for whom its rows were worked out."""

    verb: str
    args: Mapping[str, Any]
    asked_by: str


@dataclass(frozen=True)
class Turn:
    """Which page of a listing to show. A typed ``--page`` is a ``page`` number; a Previous/Next
    button carries the sort key of the row it turns from (``before`` the first row shown, ``after``
    the last), so the page starts strictly next to it however the list changed between clicks, and
    ``total``, the number of rows the clicked page counted, so the new page can say what changed."""

    page: int = 1
    after: str | None = None
    before: str | None = None
    total: int | None = None


@dataclass(frozen=True)
class Reply:
    """An answer: a title and lines; ``public`` ones are posted to the channel, the rest are ephemeral.

    A list longer than one Slack message is shown a page at a time: ``turn`` is the one asked for,
    and ``more`` the command (without ``--page``) that asks for the others. ``keys`` are the sort
    keys of the first ``len(keys)`` lines (the rows, in key order; the lines after them are notes):
    the buttons page by them.
    """

    title: str
    lines: tuple[str, ...] = ()
    empty: str = ""
    public: bool = False
    turn: Turn = Turn()
    more: str = ""
    keys: tuple[str, ...] = ()
    share: str | None = None  # a service to offer a *Share* button for (the create result)
    about: str | None = None  # the request it answers: natlink's message shortcut on it knows the service
    listing: Listing | None = None  # a listing's own command: its paging and export buttons
    table: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
    """The whole listing as plain cells, header first, for a CSV (``--csv``); empty otherwise."""


@dataclass(frozen=True)
class Refusal:
    """Nothing ran: ``reason`` says why (mrkdwn); ``usage`` is the verb's usage when the input was wrong."""

    reason: str
    usage: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class ShareCard:
    """Post the service's alias card, with its *Request endpoint* button, to ``channel``."""

    service: Service
    channel: str


@dataclass(frozen=True)
class Queued:
    """The work is recorded and a worker will run it; ``created`` is False for a repeated delivery."""

    operation: Operation
    created: bool
    summary: str


# Notices: what a finished operation asks the bot to post besides its own reply.
@dataclass(frozen=True)
class CardNeeded:
    """A request waits for a decision: post the approval card to the owner channel, or DM the owners."""

    request: LinkRequest
    service: Service
    owners: tuple[str, ...]


@dataclass(frozen=True)
class CardDecided:
    """Update the request's card in place: who decided, when, and no buttons."""

    request: LinkRequest


@dataclass(frozen=True)
class CardReopened:
    """Azure refused the decision: put the buttons back and say why."""

    request: LinkRequest
    problem: str


@dataclass(frozen=True)
class CardClosed:
    """Take the buttons off the request's card and say why: nothing is left to decide."""

    request: LinkRequest
    note: str


@dataclass(frozen=True)
class FollowUp:
    """News about a request for the owners who follow it: a reply in its card's thread, where the
    card (edited in place) stays the channel's one line about it. Use cases ask for one only when
    the card is in the owner channel (``cards.thread``); the requester and the decider are told
    by their own messages."""

    request: LinkRequest
    reply: Reply


@dataclass(frozen=True)
class Tell:
    """A direct message to one person, such as the requester learning the outcome and the mapping."""

    user: str
    reply: Reply


Notice = CardNeeded | CardDecided | CardReopened | CardClosed | FollowUp | Tell


def requester(request: LinkRequest) -> str:
    """Who asked, as a live mention, or plain words for a connection made outside natlink."""
    return request.requester if request.made_outside else f"<@{request.requester}>"


def tell_requester(request: LinkRequest, reply: Reply) -> tuple[Tell, ...]:
    """The requester's message, or none for a connection made outside natlink: nobody to tell."""
    return () if request.made_outside else (Tell(request.requester, reply),)


@dataclass(frozen=True)
class Outcome:
    """How an operation ended: the actor's final reply, and notices for others."""

    reply: Reply | Refusal
    notices: tuple[Notice, ...] = ()

    @property
    def failed(self) -> bool:
        return isinstance(self.reply, Refusal)
