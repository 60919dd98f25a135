"""People's names for the text Slack shows where it renders no mentions (a phone's lock screen, a
desktop notification): "bob requests an endpoint to rdp-vmb", not "someone requests…".

``views.notification`` keeps a mention as ``<@U…>``; natlink's WebClient (``bot/app.py``) names
them in the ``text`` of every chat.postMessage, chat.update and chat.postEphemeral through
:meth:`Names.spoken`, the one place that asks Slack for names (users.info, scope ``users:read``).

A name is cosmetic, so a lookup never stops a post: one Slack refuses (``missing_scope`` when the
workspace did not grant ``users:read``, ``ratelimited``, ``user_not_found``) or that does not
answer within ``TIMEOUT_SECONDS`` reads "someone" and is logged with the method, and nobody is
told: the message's blocks still mention the person, so nothing anyone must see is lost, and
``natlink doctor`` names a missing ``users:read``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import views

log = logging.getLogger("natlink.slack")

TTL_SECONDS = 3600.0
"""How long a name, or a refusal, is believed: a person who renames themselves shows by the new name
within the hour, and users.info (Tier 4, 100+ calls a minute) is asked at most once a person an
hour however many messages name them. A refusal (``missing_scope``, ``user_not_found``) is
remembered as long as a name, so a workspace without ``users:read`` costs one call a person an
hour, not one a post; a failure for now only ``RETRY_SECONDS``."""
MOST = 2000
"""Names kept at most, the least recently used dropped first: the people notifications name (the
requesters and owners of the week) are far fewer, and the memory stays small in any workspace."""
RETRY_SECONDS = 60.0
"""How long a lookup that failed for now (no answer, ``ratelimited``, a 5xx) reads "someone" before
the person is asked about again: a stall of a moment should not make someone nameless for an hour,
and a minute keeps a struggling Slack from being asked once a post."""
TIMEOUT_SECONDS = 2.0
"""users.info's own timeout, with no retries (a 429 is not waited out): what one lookup may delay a post."""
BUDGET_SECONDS = 3.0
"""After this long, one text starts no more lookups: names still unknown read "someone". A lookup
begun just before may still run its ``TIMEOUT_SECONDS``: names delay a post at most about 5 s."""

Lookup = Callable[[str], str | None]
"""A person's name, or None when Slack says it will not tell (no ``users:read``, no such user);
raises :class:`NotNow` when Slack did not answer this time."""


class NotNow(Exception):
    """Slack did not say this time (no answer, ``ratelimited``, a 5xx): worth asking again soon."""


class Names:
    """User ID → name, looked up once a person per ``ttl`` and remembered for at most ``most``
    people. Thread-safe: the poster posts to several channels at once, and two posts naming the
    same person wait for one users.info rather than asking twice."""

    def __init__(
        self,
        lookup: Lookup,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = TTL_SECONDS,
        most: int = MOST,
    ) -> None:
        self._lookup, self._clock, self._ttl, self._most = lookup, clock, ttl, most
        self._known: OrderedDict[str, tuple[float, str | None]] = OrderedDict()  # user: (until, name)
        self._asking: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def spoken(self, text: str) -> str:
        """``text`` with each ``<@U…>`` as the person's name, or "someone"."""
        deadline = self._clock() + BUDGET_SECONDS
        return views.spoken(text, lambda user: self.name(user, deadline))

    def name(self, user: str, deadline: float = float("inf")) -> str | None:
        """The person's name, remembered or asked of Slack; None when Slack would not say, or when
        ``deadline`` has passed before it could be asked (then nothing is remembered)."""
        known = self._remembered(user)
        if known is not None:
            return known[1]
        with self._lock:
            asking = self._asking.setdefault(user, threading.Lock())
        with asking:  # one users.info a person: a second post waits for the first's answer
            try:
                known = self._remembered(user)
                if known is not None:
                    return known[1]
                if self._clock() > deadline:
                    return None
                try:
                    name, believed = self._lookup(user), self._ttl
                except NotNow:
                    name, believed = None, min(RETRY_SECONDS, self._ttl)
                with self._lock:
                    self._known[user] = (self._clock() + believed, name)
                    while len(self._known) > self._most:
                        self._known.popitem(last=False)
                return name
            finally:  # a spent budget leaves no lock behind: ``_asking`` holds only lookups under way
                with self._lock:
                    if self._asking.get(user) is asking:
                        del self._asking[user]

    def _remembered(self, user: str) -> tuple[float, str | None] | None:
        with self._lock:
            known = self._known.get(user)
            if known is None or self._clock() >= known[0]:
                return None
            self._known.move_to_end(user)
            return known


def users_info(slack: WebClient) -> Lookup:
    """A person's display name, else their real name (users.info's ``user.profile.display_name``,
    ``user.profile.real_name``, ``user.real_name``), else None. ``slack`` should time out within
    ``TIMEOUT_SECONDS`` and not retry. A refusal is logged with the method and is None; no answer
    (or ``ratelimited``, a 5xx) is logged and raises :class:`NotNow`."""

    def lookup(user: str) -> str | None:
        try:
            person = slack.users_info(user=user)["user"]
        except SlackApiError as error:
            code = error.response.get("error")
            log.warning("users.info of %s failed: %s; notifications say someone", user, code)
            if code == "ratelimited" or error.response.status_code >= 500:
                raise NotNow(code) from error
            return None
        except Exception as error:
            # A name is cosmetic, so nothing may stop the post: slack_sdk passes on whatever urllib
            # raised, OSError but also http.client's IncompleteRead (an answer cut short), no OSError
            log.warning("users.info of %s did not answer: %r; notifications say someone", user, error)
            raise NotNow(repr(error)) from error
        profile = person.get("profile") or {}
        names = (profile.get("display_name"), profile.get("real_name"), person.get("real_name"))
        return next((n.strip() for n in names if isinstance(n, str) and n.strip()), None)

    return lookup
