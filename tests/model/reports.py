"""What natlink told people about each request, read from the Slack stand-in's log of Web API calls.

The log keeps every ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral`` and response-URL
post in order with its time, so the *latest* thing natlink said about a request (approved, rejected,
revoked, expired, refused by Azure, changed in the portal...) can be compared with Azure. Cards are
read from their blocks: a decided card says who decided; cards with buttons are counted (one per request).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

APPROVE = "natlink_approve"
_ID = r"(r-[A-Za-z0-9_-]{6,10})"
STATUS_STATES = {
    "approved": "approved",
    "rejected": "rejected",
    "disconnected": "removed",
    "pending": "pending",
}

# (pattern, group of the request ID, the state it reports, or the group holding a state word)
_LINES: tuple[tuple[re.Pattern[str], int, str | int], ...] = (
    (re.compile(rf"`{_ID}` for \*[^*]+\* was (approved|rejected) by"), 1, 2),
    (re.compile(rf"Your request {_ID} was (approved|rejected)"), 1, 2),
    (re.compile(rf"`{_ID}` for \*[^*]+\* was revoked by"), 1, "removed"),
    (re.compile(rf"`{_ID}` for \*[^*]+\* expired at"), 1, "removed"),
    (re.compile(rf"`{_ID}` for \*[^*]+\* is closed: "), 1, "removed"),  # a forced delete rejected it
    (
        re.compile(rf"(?:Azure refused|natlink could not reach Azure) to (?:approve|reject) `{_ID}`"),
        1,
        "pending",
    ),
    (re.compile(rf"`{_ID}` was already (\w+) by"), 1, 2),
    (re.compile(rf"`{_ID}` is (\w+); there is nothing to decide"), 1, 2),
    (re.compile(rf"\(`{_ID}`[^)]*\) went from \w+ to \*(\w+)\* outside natlink"), 1, 2),
    (re.compile(rf"\(`{_ID}`[^)]*\) is gone"), 1, "gone"),
)
_REQUEST_REPLY = re.compile(rf"`{_ID}`: endpoint \*")
_DECIDED_CARD = re.compile(rf"^[^:]+: {_ID} (approved|rejected)(?! outside natlink)\b")
_DELETED = re.compile(r"\*([a-z][a-z0-9-]{1,38}[a-z0-9])\* and its private link service are gone")
POSTING = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")


@dataclass(frozen=True)
class Report:
    time: float
    request: str
    state: str  # approved | rejected | removed | pending | gone | failed ...
    said: str
    on_request: bool = False  # the reply to the request itself (natlink read the connection as it made it)


@dataclass
class Reports:
    said: list[Report] = field(default_factory=list)
    cards_posted: Counter[str] = field(default_factory=Counter)
    deleted: list[tuple[float, str]] = field(default_factory=list)

    def latest(self) -> dict[str, Report]:
        out: dict[str, Report] = {}
        for report in self.said:
            out[report.request] = report
        return out


def texts(value: Any) -> Iterator[str]:
    """Every string a person reads in a block tree."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "text" and isinstance(v, str):
                yield v
            else:
                yield from texts(v)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def buttons(blocks: Any, action_id: str) -> list[str]:
    """The values of the buttons ``action_id`` in a block tree."""
    found = []
    if isinstance(blocks, dict):
        if blocks.get("action_id") == action_id and isinstance(blocks.get("value"), str):
            found.append(blocks["value"])
        for v in blocks.values():
            found += buttons(v, action_id)
    elif isinstance(blocks, list):
        for item in blocks:
            found += buttons(item, action_id)
    return found


def accepted(call: dict[str, Any]) -> bool:
    response = call.get("response") or {}
    return call.get("status") == 200 and response.get("ok", True) is not False


def extract(calls: Iterable[dict[str, Any]]) -> Reports:
    reports = Reports()
    for call in calls:
        if call.get("method") not in POSTING or not accepted(call):
            continue
        args, at = call.get("args") or {}, float(call.get("time") or 0)
        blocks = args.get("blocks") or []
        if isinstance(blocks, str):  # form-encoded clients send blocks as JSON text
            import json

            blocks = json.loads(blocks)
        fallback = str(args.get("text") or "")
        body = "\n".join([fallback, *texts(blocks)])
        # A card with buttons says "waiting", not what Azure holds: a change made outside natlink leaves
        # it as it was (the sweep tells the channel instead), so it is counted, not read as a report.
        for request in buttons(blocks, APPROVE):
            if call["method"] == "chat.postMessage":
                reports.cards_posted[request] += 1
        if match := _DECIDED_CARD.match(fallback):
            reports.said.append(Report(at, match[1], match[2], f"the card: {fallback}"))
        if match := _REQUEST_REPLY.search(body):
            state = "approved" if "Endpoint approved" in body else "pending"
            reports.said.append(Report(at, match[1], state, _line(body, match), on_request=True))
        for pattern, group, state in _LINES:
            for match in pattern.finditer(body):
                word = match[state] if isinstance(state, int) else state
                word = STATUS_STATES.get(word.lower(), word.lower())
                reports.said.append(Report(at, match[group], word, _line(body, match)))
        for match in _DELETED.finditer(body):
            reports.deleted.append((at, match[1]))
    return reports


def _line(body: str, match: re.Match[str]) -> str:
    start = body.rfind("\n", 0, match.start()) + 1
    end = body.find("\n", match.end())
    return body[start : end if end >= 0 else len(body)][:300]
