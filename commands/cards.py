"""Where a request's messages live (its approval card, and the reply to the request itself), so
they can be updated in place later, and where its follow-ups go: the card's thread (issue 12, §3).

The channel sees one line per request, the card, edited in place; reminders, the decision and
verifications go in its thread there. A follow-up meant for another place (a person's DM, a
channel the card is not in) goes there as before, and so does one whose card natlink never posted.
"""

from __future__ import annotations

from sqlite_utils import Database

from storage import operations, requests
from storage.records import LinkRequest


def remember(db: Database, request_id: str, channel: str, ts: str) -> None:
    requests.set_card(db, request_id, channel, ts)


def current(db: Database, request_id: str) -> LinkRequest | None:
    return requests.get_request(db, request_id)


def request_message(db: Database, request: LinkRequest) -> tuple[str, str] | None:
    """The channel and ts of the message that answered the request ("Waiting for an owner…"),
    when natlink posted one: the operation that made the request remembers it."""
    op = operations.get_operation(db, request.operation_id) if request.operation_id else None
    return (op.reply_channel, op.reply_ts) if op and op.reply_channel and op.reply_ts else None


def thread(db: Database, request_id: str | None, channel: str | None) -> str | None:
    """The card's ts when the request's card lives in ``channel``: a follow-up posted there goes in
    its thread. None for anything else, which is posted on its own, as before."""
    request = requests.get_request(db, request_id) if request_id else None
    if request is None or not channel or request.card_channel != channel:
        return None
    return request.card_ts
