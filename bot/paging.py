"""The listing buttons' listeners: Previous/Next edit the listing in place, Export CSV uploads it.

A click is the listing's own command again (``commands.handle.page``): the policy checks the
clicker (only the person who asked for the listing; a refusal is private and audited), then the
verb's own checks. A page natlink answers at once replaces the clicked message here; one that
reads Azure is queued and the worker replaces it (``slack_out.ProgressMessage``). Each acks at once
and never raises into bolt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from slack_bolt import Ack, App
from slack_sdk import WebClient

from commands.context import Context
from commands.handle import Delivery, page
from commands.replies import Queued, Refusal, Reply

from . import listing, slack_out, views

log = logging.getLogger("natlink.paging")


class Deps(Protocol):
    """What these listeners use of ``listeners.Deps`` (a protocol: listeners imports this module)."""

    wake: Callable[[], None]

    def context(self, actor: str, channel: str | None, client: Any = None) -> Context: ...


def register(app: App, deps: Deps) -> None:
    for action_id in (views.PAGE_PREVIOUS, views.PAGE_NEXT):
        app.action(action_id)(lambda ack, body, client: _click(deps, ack, body, client, csv=False))
    app.action(views.EXPORT_CSV)(lambda ack, body, client: _click(deps, ack, body, client, csv=True))


def _click(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, *, csv: bool) -> None:
    ack()
    user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
    container = body.get("container") or {}
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    ephemeral = bool(container.get("is_ephemeral"))
    response_url = body.get("response_url")
    try:
        asked, turn = listing.read_button(body["actions"][0]["value"])
    except (ValueError, KeyError, TypeError):
        log.warning("a listing button from %s carried a value natlink did not write", user)
        _tell(
            client, user, channel, response_url, slack_out.render(Refusal("natlink cannot read that button."))
        )
        return
    ctx = deps.context(user, channel)
    # a page's response URL replaces the ephemeral it was clicked in; an export's only answers
    delivery = Delivery(f"click:{body.get('trigger_id')}", response_url if ephemeral or csv else None)
    answer = page(ctx, asked, turn, delivery, csv=csv, reply_ts=None if csv else ts)
    match answer:
        case Queued():
            deps.wake()  # the worker answers: the page in place, or the file and a word on it
        case Reply() if csv:
            _tell(client, user, channel, response_url, listing.upload(client, user, answer))
        case Reply():
            place = slack_out.Place(channel, ts, response_url if ephemeral else None)
            if not ts or not slack_out.replace_message(client, place, slack_out.render(answer)):
                _tell(client, user, channel, response_url, slack_out.render(answer))
        case _:
            _tell(client, user, channel, response_url, slack_out.render(answer))  # type: ignore[arg-type]


def _tell(
    client: WebClient, user: str, channel: str | None, response_url: str | None, message: views.Message
) -> None:
    """Privately, to the person who clicked, by whatever reaches them."""
    if slack_out.private(client, user, channel, response_url, message) is not None:
        log.error("%s could not be told by any means", user)
