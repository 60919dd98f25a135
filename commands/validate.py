"""Value checks, one per kind of argument, each failing with a message that names the problem.

Every check takes the token as Slack sent it and returns the typed value, or raises
``InvalidValue`` whose text the grammar prefixes with the argument's name and shows to the user
as is. natlink's own limits live here as constants, and Azure's are imported from
:mod:`cloud.limits`, so the docs and tests quote the same numbers.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import TypeVar

from cloud import tokens
from cloud.limits import (
    ENDPOINT_NAME_MAX,
    ENDPOINT_NAME_MIN,
    NAT_IPS_MAX,
    NAT_IPS_MIN,
    REQUEST_MESSAGE_MAX,
    RESOURCE_GROUP_MAX,
)
from cloud.limits import NAME_MAX as AZURE_NAME_MAX

from . import escapes
from .values import STAR, Alias, Channel, Scope, User, Value

SERVICE_MIN, SERVICE_MAX = 3, 40
PORTS_MAX = 8
"""Each port becomes one load-balancer rule and probe; more than eight is several services."""
DURATION_MIN, DURATION_MAX = timedelta(minutes=5), timedelta(days=365)
REQUEST_ID_PREFIX, REQUEST_ID_MIN, REQUEST_ID_MAX = tokens.ID_PREFIX, tokens.ID_MIN, tokens.ID_MAX
"""What a request id argument may be; :mod:`cloud.tokens` says why it is wider than what is issued."""
TOKEN_PREFIX, TOKEN_MAX = tokens.PREFIX, tokens.TOKEN_MAX
"""The token is ``natlink:<request-id>``, at most 8 + 12 = 20 characters."""
REASON_MAX = REQUEST_MESSAGE_MAX - TOKEN_MAX - 1
"""The message is ``natlink:<request-id> <reason>``: 140 - 20 - 1 space = 119 characters (the requester
is added only when it fits too: ``cloud.endpoints.request_message``)."""
LIMIT_MIN, LIMIT_MAX = 1, 500
CAPTURE_MIN, CAPTURE_MAX = timedelta(seconds=5), timedelta(minutes=10)
"""How long ``verify --capture`` captures: a worker waits that long, so minutes, not Azure's five hours."""
PAGE_MAX = 10_000

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_AZURE_CHAR = re.compile(r"[A-Za-z0-9_.-]")
_SERVICE = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]")
_PORT = re.compile(r"[0-9]{1,5}")
_INT = re.compile(r"[0-9]{1,6}")
_DURATION = re.compile(r"([0-9]{1,6})([mhd])")
_SECONDS = re.compile(r"([0-9]{1,6})([sm])")
_ALIAS = re.compile(r"(.+)\.([0-9a-fA-F-]{36})\.([A-Za-z0-9]+)\.azure\.privatelinkservice", re.IGNORECASE)
_ALIAS_SUFFIX = ".azure.privatelinkservice"
_PLS_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/privateLinkServices/[^/]+",
    re.IGNORECASE,
)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
P = TypeVar("P", User, Channel)


class InvalidValue(ValueError):
    """A value that does not fit its kind; the text is a complete sentence for the user."""


class Kind(StrEnum):
    """The kinds of value an argument or flag can take; each has one check below."""

    SERVICE = "service"
    AZURE_NAME = "azure-name"
    ENDPOINT_NAME = "endpoint-name"
    TARGET = "alias-or-service"
    REQUEST_OR_SERVICE = "request-id-or-service"
    PLS = "pls-name-or-id"
    SERVICE_OR_STAR = "service-or-star"
    PORTS = "ports"
    NAT_IPS = "nat-ips"
    SUBSCRIPTION = "subscription"
    SUBSCRIPTIONS = "subscriptions"
    SUBSCRIPTIONS_OR_STAR = "subscriptions-or-star"
    SCOPE = "scope"
    DURATION = "duration"
    SECONDS = "seconds"
    REQUEST_ID = "request-id"
    REASON = "reason"
    USER = "user"
    USERS = "users"
    CHANNEL = "channel"
    CHOICE = "choice"
    VERB = "verb"
    LIMIT = "limit"
    PAGE = "page"
    BOOL = "bool"


LIST_KINDS = frozenset({Kind.PORTS, Kind.SUBSCRIPTIONS, Kind.SUBSCRIPTIONS_OR_STAR, Kind.USERS})
"""Kinds that take a comma list, so a repeated flag adds to the list instead of clashing."""


def show(text: str, limit: int = 40) -> str:
    """Quote the user's text back in messages, cut short so one bad token cannot flood the reply."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"`{shown}`"


def _not_escape(token: str, expected: str) -> str:
    """The token's plain text, refusing a mention or link where a plain word was expected."""
    if what := escapes.describe(token):
        raise InvalidValue(f"expected {expected}, got {what}")
    return escapes.unescape(token)


def _items(text: str, what: str) -> list[str]:
    """Split a comma list, refusing empty items so ``80,,443`` is not silently ``80,443``."""
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise InvalidValue(f"empty item in the {what} list {show(text)}")
    return items


def _no_repeats(items: Sequence[object], shown: Callable[[object], str], what: str) -> None:
    seen: set[object] = set()
    for item in items:
        if item in seen:
            raise InvalidValue(f"{what} {shown(item)} is listed twice")
        seen.add(item)


def azure_name(token: str, what: str = "name") -> str:
    """An Azure resource name: 1-80 of letters, digits, ``_.-``; starts alphanumeric; ends alphanumeric or ``_``."""
    text = _not_escape(token, f"an Azure {what}")
    if not text:
        raise InvalidValue(f"{what} is empty")
    if len(text) > AZURE_NAME_MAX:
        raise InvalidValue(f"{what} is {len(text)} characters; Azure allows at most {AZURE_NAME_MAX}")
    bad = sorted({c for c in text if not _AZURE_CHAR.fullmatch(c)})
    if bad:
        raise InvalidValue(
            f"{what} {show(text)} has {show(''.join(bad))}; use letters, digits, `_`, `.` and `-`"
        )
    if not text[0].isalnum():
        raise InvalidValue(f"{what} {show(text)} must start with a letter or digit")
    if not (text[-1].isalnum() or text[-1] == "_"):
        raise InvalidValue(f"{what} {show(text)} must end with a letter, digit or `_`")
    return text


def endpoint_name(token: str) -> str:
    """A private endpoint's name: an Azure name of 2-64 characters (Azure's rule for this type)."""
    text = azure_name(token, "endpoint name")
    if not ENDPOINT_NAME_MIN <= len(text) <= ENDPOINT_NAME_MAX:
        raise InvalidValue(
            f"endpoint name {show(text)} is {len(text)} characters; Azure allows "
            f"{ENDPOINT_NAME_MIN} to {ENDPOINT_NAME_MAX} for a private endpoint"
        )
    return text


def service(token: str) -> str:
    """A natlink service name, used as the PLS name: lower-case ``a-z0-9-``, 3-40, starts with a letter."""
    text = _not_escape(token, "a service name")
    if not SERVICE_MIN <= len(text) <= SERVICE_MAX:
        raise InvalidValue(
            f"service name {show(text)} is {len(text)} characters; use {SERVICE_MIN} to {SERVICE_MAX}"
        )
    if text != text.lower() and _SERVICE.fullmatch(text.lower()):
        raise InvalidValue(f"service names are lower-case: try `{text.lower()}`")
    if _SERVICE.fullmatch(text):
        return text
    bad = sorted({c for c in text if not re.fullmatch(r"[a-z0-9-]", c)})
    if bad:
        raise InvalidValue(f"service name {show(text)} has {show(''.join(bad))}; use a-z, 0-9 and `-`")
    if not text[0].isalpha():
        raise InvalidValue(f"service name {show(text)} must start with a letter")
    raise InvalidValue(f"service name {show(text)} must end with a letter or digit")


def alias(token: str) -> Alias:
    """A private link service alias, ``name.<guid>.<region>.azure.privatelinkservice``."""
    text = _not_escape(token, "an alias")
    match = _ALIAS.fullmatch(text)
    if match is None or not _GUID.fullmatch(match.group(2)):
        raise InvalidValue(
            f"{show(text)} is not an alias like `name.<guid>.<region>.azure.privatelinkservice`"
        )
    name = azure_name(match.group(1), "alias name")
    return Alias(text, name, match.group(2).lower(), match.group(3).lower())


def target(token: str) -> Alias | str:
    """What a consumer asks for: an alias (from the provider, maybe another tenant) or a service name."""
    if escapes.unescape(token).lower().endswith(_ALIAS_SUFFIX):
        return alias(token)
    return service(token)


def pls(token: str) -> str:
    """A private link service natlink did not make: its Azure name, or its resource ID."""
    text = _not_escape(token, "a private link service name or ID")
    if not text.startswith("/"):
        return azure_name(text, "private link service name")
    if not _PLS_ID.fullmatch(text) or not _GUID.fullmatch(text.split("/")[2]):
        raise InvalidValue(
            f"{show(text, 60)} is not a private link service ID like `/subscriptions/<guid>/resourceGroups/"
            "<group>/providers/Microsoft.Network/privateLinkServices/<name>`"
        )
    resource_group(text.split("/")[4])
    azure_name(text.rsplit("/", 1)[1], "private link service name")
    return text


def service_or_star(token: str) -> str:
    """A service name, or ``*`` for every service."""
    return STAR if token == STAR else service(token)


def ports(token: str) -> tuple[int, ...]:
    """Ports 1-65535 as a comma list: no repeats, at most ``PORTS_MAX``."""
    items = _items(_not_escape(token, "a port"), "port")
    numbers: list[int] = []
    for item in items:
        if not _PORT.fullmatch(item):
            hint = "; ranges are not supported, list the ports" if "-" in item else ""
            raise InvalidValue(f"port {show(item)} is not a number{hint}")
        number = int(item)
        if not 1 <= number <= 65535:
            raise InvalidValue(f"port {number} is out of range 1-65535")
        numbers.append(number)
    _no_repeats(numbers, str, "port")
    if len(numbers) > PORTS_MAX:
        raise InvalidValue(f"{len(numbers)} ports given; at most {PORTS_MAX} per service")
    return tuple(numbers)


def _bounded_int(token: str, what: str, low: int, high: int) -> int:
    text = _not_escape(token, what)
    if not _INT.fullmatch(text):
        raise InvalidValue(f"{what} {show(text)} is not a whole number")
    number = int(text)
    if not low <= number <= high:
        raise InvalidValue(f"{what} {number} is out of range {low}-{high}")
    return number


def nat_ips(token: str) -> int:
    """How many NAT IPs the private link service takes from its subnet: 1-8, as Azure allows."""
    return _bounded_int(token, "NAT IP count", NAT_IPS_MIN, NAT_IPS_MAX)


def limit(token: str) -> int:
    """How many rows a listing shows: enough to be useful, few enough for one Slack message."""
    return _bounded_int(token, "limit", LIMIT_MIN, LIMIT_MAX)


def page(token: str) -> int:
    """Which page of a long list: every row of a big estate is reachable, one message at a time."""
    return _bounded_int(token, "page", 1, PAGE_MAX)


def subscription(token: str) -> str:
    """A subscription id: a GUID, normalised to lower case as ARM compares ids case-insensitively."""
    text = _not_escape(token, "a subscription id")
    if text == STAR:
        raise InvalidValue("`*` is not allowed here; give one subscription id")
    if not _GUID.fullmatch(text):
        raise InvalidValue(
            f"subscription {show(text)} is not a GUID like `11111111-2222-3333-4444-555555555555`"
        )
    return text.lower()


def subscriptions(token: str) -> tuple[str, ...]:
    """A comma list of subscription ids, no repeats."""
    subs = tuple(
        subscription(item) for item in _items(_not_escape(token, "a subscription id"), "subscription")
    )
    _no_repeats(subs, str, "subscription")
    return subs


def subscriptions_or_star(token: str) -> tuple[str, ...]:
    """Subscription ids, or ``*`` alone for everyone who has the alias."""
    items = _items(_not_escape(token, "a subscription id"), "subscription")
    if STAR in items:
        if len(items) > 1:
            raise InvalidValue("`*` already means every subscription; give it alone")
        return (STAR,)
    return subscriptions(token)


def resource_group(text: str) -> str:
    """A resource group name: 1-90 of letters, digits, ``_-.()``; must not end with ``.``."""
    if not text:
        raise InvalidValue("resource group is empty")
    if len(text) > RESOURCE_GROUP_MAX:
        raise InvalidValue(
            f"resource group is {len(text)} characters; Azure allows at most {RESOURCE_GROUP_MAX}"
        )
    bad = sorted({c for c in text if not (c.isalnum() or c in "_-.()")})
    if bad:
        raise InvalidValue(
            f"resource group {show(text)} has {show(''.join(bad))}; use letters, digits and `_-.()`"
        )
    if text.endswith("."):
        raise InvalidValue(f"resource group {show(text)} must not end with `.`")
    return text


def scope(token: str) -> Scope:
    """``<subscription>`` or ``<subscription>/<resource-group>``: what a grant covers."""
    text = _not_escape(token, "a subscription")
    sub, slash, group = text.partition("/")
    return Scope(subscription(sub), resource_group(group) if slash else None)


def duration(token: str) -> timedelta:
    """``30m``, ``12h`` or ``7d``, between 5 minutes and 365 days: how long access lasts."""
    text = _not_escape(token, "a duration")
    match = _DURATION.fullmatch(text.lower())
    if match is None:
        raise InvalidValue(f"duration {show(text)} is not like `30m`, `12h` or `7d`")
    value = int(match.group(1)) * _UNITS[match.group(2)]
    if not DURATION_MIN <= value <= DURATION_MAX:
        raise InvalidValue(f"duration {text} is out of range 5m-365d")
    return value


def seconds(token: str) -> timedelta:
    """``30s`` or ``2m``, between ``CAPTURE_MIN`` and ``CAPTURE_MAX``: how long a capture runs."""
    text = _not_escape(token, "a time")
    match = _SECONDS.fullmatch(text.lower())
    if match is None:
        raise InvalidValue(f"time {show(text)} is not like `30s` or `2m`")
    value = int(match.group(1)) * (timedelta(seconds=1) if match.group(2) == "s" else timedelta(minutes=1))
    if not CAPTURE_MIN <= value <= CAPTURE_MAX:
        raise InvalidValue(f"time {text} is out of range 5s-10m")
    return value


def request_or_service(token: str) -> str:
    """A request id (``r-7k2m9x``: one connection) or a service name (its approved connections)."""
    text = _not_escape(token, "a request id or a service name")
    return text if tokens.is_request_id(text) else service(token)


def request_id(token: str) -> str:
    """A request id as shown on approval cards, ``r-7k2m9x``: the pattern of :mod:`cloud.tokens` (case matters)."""
    text = _not_escape(token, "a request id")
    if not tokens.is_request_id(text):
        raise InvalidValue(
            f"{show(text)} is not a request id like `{tokens.EXAMPLE_ID}` (see the approval card)"
        )
    return text


def reason(token: str) -> str:
    """Free text for a request or decision, readable outside Slack and short enough for Azure."""
    text = escapes.plain(token).strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidValue("reason has a control character (such as a line break); keep it on one line")
    if len(text) > REASON_MAX:
        raise InvalidValue(
            f"reason is {len(text)} characters; at most {REASON_MAX} fit in Azure's {REQUEST_MESSAGE_MAX}-character "
            f"request message beside the {TOKEN_MAX}-character natlink token"
        )
    return text


def user(token: str) -> User:
    """A Slack user; only an escaped mention carries the id, so plain ``@alice`` is refused."""
    return _picked(token, escapes.user, "a user mention (@someone)", "@", "mention", "user")


def users(token: str) -> tuple[User, ...]:
    """A comma list of user mentions, no one twice."""
    found = tuple(user(item) for item in _items(token, "user"))
    names = {u.id: f"@{u.name or u.id}" for u in reversed(found)}  # as first written
    _no_repeats([u.id for u in found], lambda i: names[str(i)], "user")
    return found


def channel(token: str) -> Channel:
    """A Slack channel; only an escaped ``#channel`` link carries the id."""
    return _picked(token, escapes.channel, "a channel (#channel)", "#", "channel link", "channel")


def _picked(
    token: str, parse: Callable[[str], P | None], expected: str, sign: str, form: str, noun: str
) -> P:
    """A user or channel as Slack escapes it; anything else is refused, saying how to pick one."""
    if found := parse(token):
        return found
    if what := escapes.describe(token):
        raise InvalidValue(f"expected {expected}, got {what}")
    text = escapes.unescape(token)
    if text.startswith(sign):
        raise InvalidValue(f"{show(text)} is not a Slack {form}; pick the {noun} from Slack's {sign} list")
    raise InvalidValue(f"expected {expected}, got {show(text)}")


def choice(token: str, choices: Sequence[str]) -> str:
    """One of a fixed set of words, case-insensitive, suggesting the closest on a typo."""
    text = _not_escape(token, "one of " + ", ".join(choices)).lower()
    if text in choices:
        return text
    close = difflib.get_close_matches(text, choices, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    raise InvalidValue(f"{show(text)} is not one of {', '.join(choices)}{hint}")


def verb(token: str, names: Sequence[str]) -> str:
    """A verb name, as ``help <verb>`` takes; the names come from the verb table."""
    text = _not_escape(token, "a verb").lower()
    if text in names:
        return text
    close = difflib.get_close_matches(text, names, n=1)
    raise InvalidValue(f"unknown verb {show(text)}" + (f"; did you mean `{close[0]}`?" if close else ""))


_CHECKS: dict[Kind, Callable[[str], Value]] = {
    Kind.SERVICE: service,
    Kind.AZURE_NAME: azure_name,
    Kind.ENDPOINT_NAME: endpoint_name,
    Kind.TARGET: target,
    Kind.PLS: pls,
    Kind.SERVICE_OR_STAR: service_or_star,
    Kind.PORTS: ports,
    Kind.NAT_IPS: nat_ips,
    Kind.SUBSCRIPTION: subscription,
    Kind.SUBSCRIPTIONS: subscriptions,
    Kind.SUBSCRIPTIONS_OR_STAR: subscriptions_or_star,
    Kind.SCOPE: scope,
    Kind.DURATION: duration,
    Kind.SECONDS: seconds,
    Kind.REQUEST_OR_SERVICE: request_or_service,
    Kind.REQUEST_ID: request_id,
    Kind.REASON: reason,
    Kind.USER: user,
    Kind.USERS: users,
    Kind.CHANNEL: channel,
    Kind.LIMIT: limit,
    Kind.PAGE: page,
}


def check(kind: Kind, token: str, choices: Sequence[str] = ()) -> Value:
    """Check ``token`` as ``kind`` and return its typed value, or raise ``InvalidValue``."""
    if kind is Kind.CHOICE:
        return choice(token, choices)
    if kind is Kind.VERB:
        return verb(token, choices)
    if kind is Kind.BOOL:
        raise InvalidValue("takes no value")
    return _CHECKS[kind](token)
