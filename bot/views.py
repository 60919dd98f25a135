"""Block Kit for everything natlink posts: cards, progress, errors, tables and modals.

Two rules hold for every message built here:

* user text is escaped for mrkdwn, so a reason cannot ping ``@channel`` or forge a link;
* Slack's limits hold: at most 50 blocks, section text at most 3,000 characters, button text at
  most 75, and at most about 12,000 characters of text in all the blocks of one message (beyond
  it Slack answers ``msg_blocks_too_long``; shared/reference/slack-limits.md). Long lists are cut
  with a line that says how many were left out.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands import describe, portal
from commands.escapes import escape, free_text, unescape
from commands.replies import Turn
from commands.validate import REASON_MAX

Block = dict[str, Any]

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_BUTTON_TEXT = 75
MAX_FALLBACK = 3000
MAX_TOTAL = 11_000  # all text in one message's blocks: Slack's ~12,000, less room for the note

APPROVE = "natlink_approve"
SHARE = "natlink_share"
SHARE_MODAL = "natlink_share_form"
APPROVE_FOR_DAYS = {"natlink_approve_7d": 7, "natlink_approve_30d": 30}
"""Timed approval in one click: the common answers to "for how long?" (any other: ``approve --for``)."""
REJECT = "natlink_reject"
REQUEST_ENDPOINT = "natlink_request_endpoint"
REJECT_MODAL = "natlink_reject_reason"
REQUEST_MODAL = "natlink_request_modal"
PAGE_PREVIOUS = "natlink_page_previous"
PAGE_NEXT = "natlink_page_next"
EXPORT_CSV = "natlink_export_csv"
"""A listing's buttons; each its own action_id, as Slack wants them unique within a block."""


def user(user_id: str) -> str:
    """A mention for a Slack user ID; anything else (a request made in the portal) as plain text."""
    return f"<@{user_id}>" if re.fullmatch(r"[UW][A-Z0-9]{2,}", user_id) else escape(user_id)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}}


def fields(pairs: Iterable[tuple[str, str]]) -> Block:
    """A section of label/value fields (Slack allows 10, each at most 2,000 characters)."""
    items = [{"type": "mrkdwn", "text": cut(f"*{label}*\n{value}", 2000)} for label, value in pairs]
    return {"type": "section", "fields": items[:10]}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, MAX_SECTION)}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": cut(text, 150), "emoji": True}}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: Block | None = None
) -> Block:
    out: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": cut(text, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        out["style"] = style
    if confirm:
        out["confirm"] = confirm
    return out


@dataclass(frozen=True)
class Message:
    """What a post or an update carries: fallback text (notifications, screen readers) and blocks."""

    text: str
    blocks: list[Block]

    def kwargs(self) -> dict[str, Any]:
        return {"text": cut(self.text, MAX_FALLBACK), "blocks": fit(self.blocks)}


def fit(blocks: Sequence[Block]) -> list[Block]:
    """Keep a message within 50 blocks and Slack's total text, saying how much was left out
    instead of having Slack refuse the whole message."""
    kept: list[Block] = []
    total = 0
    for block in blocks:
        size = text_size(block)
        if len(kept) == MAX_BLOCKS - 1 or total + size > MAX_TOTAL:
            left = len(blocks) - len(kept)
            return [*kept, context(f"…and {left} more not shown. Narrow the command to see them.")]
        kept.append(block)
        total += size
    return kept


def text_size(value: Any) -> int:
    """The characters Slack counts towards a message's total: the text of every text object."""
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    if not isinstance(value, dict):
        return 0
    if value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str):
        return len(value["text"])
    return sum(text_size(v) for v in value.values())


@dataclass(frozen=True)
class Shown:
    """The page a listing shows, for its buttons: the sort keys of its first and last rows, whether
    rows lie before and after them, and how many rows the list has now."""

    first: str
    last: str
    previous: bool
    next: bool
    total: int


Buttons = Callable[[Shown], Block]
"""A listing's buttons for the page shown (``page_buttons``)."""

_NOTE = "\U0010ffff"
"""The key of the notes after a listing's rows: after every row's."""


def lines_message(
    title: str,
    lines: Sequence[str],
    empty: str,
    footer: str | None = None,
    *,
    turn: Turn | None = None,
    keys: Sequence[str] = (),
    more: str = "",
    buttons: Buttons | None = None,
) -> Message:
    """A list as sections of up to 3,000 characters each, within Slack's total for one message.

    A longer list is cut into pages, each as much as one message holds; ``turn`` is the one shown:
    a typed ``--page`` counts pages from the top, a button's starts strictly next to the row it was
    clicked from (``keys`` are the rows' sort keys), so no row is shown twice or skipped when rows
    come and go between clicks. With ``more`` (the command that pages through the list) the page's
    last line says where it is; without it, it counts the lines left out. ``buttons`` (Previous,
    Next, Export CSV) go under the page; their text is within the budget's reserve."""
    if not lines:
        return Message(f"{title}: {empty}", [header(title), section(empty)])
    turn = turn or Turn()
    budget = MAX_TOTAL - len(title) - len(footer or "") - 300  # the header, the footer, the page line
    keyed = sorted(zip(_keys(keys, len(lines)), (cut(line, MAX_SECTION) for line in lines), strict=True))
    ordered = [line for _, line in keyed]
    start, end, pages = _window([key for key, _ in keyed], ordered, turn, budget)
    blocks: list[Block] = [header(title), *_sections(ordered[start:end])]
    rows = len(keys) or len(lines)
    if pages is None and more:
        blocks.append(context(_turned(turn, start, min(end, rows), rows)))
    elif pages is not None and len(pages) > 1 and more:
        at = min(turn.page, len(pages))
        only = f" (there are only {len(pages)})" if turn.page > len(pages) else ""
        after = f"; next: {pasteable(f'/natlink {more} --page {at + 1}')}" if at < len(pages) else ""
        blocks.append(context(f"Page {at} of {len(pages)}{only}, {len(lines)} in all{after}"))
    elif end - start < len(lines):
        left = len(lines) - (end - start)
        blocks.append(context(f"…and {left} more of {len(lines)} not shown. Narrow the command to see them."))
    if footer:
        blocks.append(context(footer))
    if buttons is not None:
        blocks.append(buttons(Shown(keyed[start][0], keyed[end - 1][0], start > 0, end < len(lines), rows)))
    return Message(notification(title, lines), blocks)


def _keys(keys: Sequence[str], count: int) -> list[str]:
    """Each line's sort key: the rows' own, then the notes' after them; without keys, the order given."""
    if not keys:
        return [f"{n:08d}" for n in range(count)]
    return [*keys, *(f"{_NOTE}{n:08d}" for n in range(count - len(keys)))]


def _window(
    keys: Sequence[str], lines: Sequence[str], turn: Turn, budget: int
) -> tuple[int, int, list[list[str]] | None]:
    """The lines ``turn`` shows, as [start, end): the page before its ``before`` key or the one
    after its ``after`` key (the first or last page when nothing is left on that side); or page
    ``page``, with every page."""
    if turn.before is not None and (end := bisect.bisect_left(keys, turn.before)) > 0:
        return end - len(paginate(lines[:end][::-1], budget)[0]), end, None
    if turn.after is not None and (start := bisect.bisect_right(keys, turn.after)) < len(lines):
        return start, start + len(paginate(lines[start:], budget)[0]), None
    if turn.after is not None:  # every row after it is gone: the last page
        return len(lines) - len(paginate(lines[::-1], budget)[0]), len(lines), None
    pages = paginate(lines, budget)
    if turn.before is not None:  # every row before it is gone: the first page
        return 0, len(pages[0]), None
    at = min(turn.page, len(pages))
    start = sum(len(page) for page in pages[: at - 1])
    return start, start + len(pages[at - 1]), pages


def _turned(turn: Turn, start: int, end: int, rows: int) -> str:
    """Where a button's page is, in the list as it is now, and whether the list changed since."""
    side = "after the last" if turn.after is not None else "before the first"
    then = f" ({turn.total} when you turned the page)" if turn.total not in (None, rows) else ""
    if start >= end:  # only the notes after the rows
        return f"No more rows: {rows} in all now{then}."
    return f"Rows {start + 1} to {end} of {rows} in all now{then}, {side} row you saw."


_MENTION = re.compile(r"(<@[UW][A-Z0-9]+>)")


def pasteable(command: str) -> str:
    """A command as code, but with its mentions outside the code spans: Slack shows them as
    ``@name``, so a copy pastes as a command Slack escapes again (a mention inside a code span
    shows as ``<@U…>``, which pastes as text the grammar cannot read)."""
    parts = [p.strip() for p in _MENTION.split(command) if p.strip()]
    return " ".join(p if _MENTION.fullmatch(p) else f"`{escape(p)}`" for p in parts)


def page_buttons(value: Callable[[Turn], str], shown: Shown) -> Block:
    """Previous and Next, which edit the listing in place, each carrying the key of the row it turns
    from, and Export CSV, the whole list as a file."""
    elements = [
        *(
            [button("◀ Previous", PAGE_PREVIOUS, value(Turn(before=shown.first, total=shown.total)))]
            if shown.previous
            else []
        ),
        *(
            [button("Next ▶", PAGE_NEXT, value(Turn(after=shown.last, total=shown.total)))]
            if shown.next
            else []
        ),
        button("Export CSV", EXPORT_CSV, value(Turn())),
    ]
    return {"type": "actions", "block_id": "natlink_listing", "elements": elements}


_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_ADMINS = re.compile(r" ?\((?:<@[UW][A-Z0-9]+>(?:, )?)+\)")


SOMEONE = "someone"
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
_KEPT = ("\ue000", "\ue001")
"""Private-use marks around a mention ``unmarked`` keeps for ``notification``: they survive the
text's escaping, which a typed ``&lt;@U…&gt;`` does not, and are stripped from the input first."""
_KEPT_MENTION = re.compile(f"{_KEPT[0]}([UW][A-Z0-9]+){_KEPT[1]}")


def unmarked(mrkdwn: str, mentions: bool = False) -> str:
    """Slack mrkdwn as a person reads it where Slack renders no markup (a phone's lock screen, an
    error under a form field): ``<url|label>`` is its label, ``<#C…|name>`` is #name, a list of
    admins "(<@U1>, <@U2>)" is left out, and bold, italic, strike and code marks go, but names such as
    ``rdp_vm`` keep their underscores. A mention is "someone", or with ``mentions`` is kept, marked
    (``_KEPT``), for :func:`notification` to give back as ``<@U…>``."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("#"):
            return f"#{label or target[1:]}"
        if target.startswith("@"):
            kept = mentions and re.fullmatch(r"[UW][A-Z0-9]+", target[1:])
            return f"{_KEPT[0]}{target[1:]}{_KEPT[1]}" if kept else SOMEONE
        if target.startswith("!"):
            return f"@{label or target[1:].split('^')[0]}"
        return label or target

    mrkdwn = mrkdwn.replace(_KEPT[0], "").replace(_KEPT[1], "")
    text = _LINK.sub(link, _ADMINS.sub("", mrkdwn))
    text = _ITALIC.sub(r"\1", re.sub(r"[*`]", "", text))
    text = re.sub(r"(?<!\w)~(?=\S)([^~\n]*?\S)~(?!\w)", r"\1", text)
    return unescape(text)


_WEB_LINK = re.compile(r"<(https?:[^<>|]*)\|([^<>]*)>")


def unlinked(mrkdwn: str) -> str:
    """Web links (the portal's) reduced to their labels, the rest of the mrkdwn kept: for a message
    whose links would take it past Slack's limits, so it shows every line rather than fewer."""
    return _WEB_LINK.sub(r"\2", mrkdwn)


def spoken(text: str, name: Callable[[str], str | None]) -> str:
    """A message ``text``'s ``<@U…>`` mentions as the people's names: ``name`` gives a user ID's name,
    or None when it is not known, which reads "someone". A name is escaped: a person chooses their
    own, and in the mrkdwn ``text`` "<!channel>" as a name must stay text."""
    return _USER_MENTION.sub(lambda match: escape(name(match.group(1)) or SOMEONE), text)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """ "1 row", "2 rows": a count with its noun in the right number."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def notification(title: str, lines: Sequence[str]) -> str:
    """The fallback text a phone shows on its lock screen (it renders no mrkdwn: Slack's
    chat.postMessage docs): the title and the gist of the first line, in plain words
    ("rdp-vmb is exposed: Alias: rdp-vmb.…"), not "Title: 4 lines". The one place it is built.
    Its mentions stay ``<@U…>``: bot/names.py names the people as the message is sent (a cut
    never leaves half a mention behind). Everything else is escaped: Slack parses ``text`` as
    mrkdwn, so a typed "<!channel>" must reach it as ``&lt;!channel&gt;``, which the phone shows as typed."""
    first = unmarked(lines[0], mentions=True) if lines else ""
    more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
    title = unmarked(title, mentions=True)
    text = re.sub(f"{_KEPT[0]}[^{_KEPT[1]}]*…$", "…", cut(f"{title}: {first}{more}" if first else title, 150))
    return _KEPT_MENTION.sub(r"<@\1>", escape(text))


def paginate(lines: Sequence[str], budget: int) -> list[list[str]]:
    """Lines in pages of at most ``budget`` characters and Slack's block count, in order."""
    pages: list[list[str]] = [[]]
    used = 0
    for line in lines:
        full = used + len(line) + 1 > budget or len(_sections([*pages[-1], line])) > MAX_BLOCKS - 4
        if pages[-1] and full:
            pages.append([])
            used = 0
        pages[-1].append(line)
        used += len(line) + 1
    return pages


def _sections(lines: Sequence[str]) -> list[Block]:
    """Lines joined into as few sections as Slack's 3,000 characters a section allow."""
    blocks: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > MAX_SECTION:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    return [*blocks, section("\n".join(chunk))] if chunk else blocks


def error(problem: str, usage: str | None = None, hint: str | None = None) -> Message:
    """A refusal or failure: what went wrong, what to do, and the verb's usage when it applies."""
    blocks = [section(f":warning: {escape(problem)}")]
    if hint:
        blocks.append(context(f"What to do: {escape(hint)}"))
    if usage:
        blocks.append(context(f"Usage: `{escape(usage)}`"))
    return Message(problem, blocks)


def progress(
    title: str, steps: Sequence[str], running: bool, failed: str | None = None, actor: str | None = None
) -> Message:
    """A long operation's message, updated in place as each step completes; it names who ran it,
    since everyone in the channel sees it."""
    marks = [f":white_check_mark: {escape(step)}" for step in steps]
    if failed:
        marks.append(f":x: {escape(failed)}")
    elif running:
        marks.append(":hourglass_flowing_sand: working…")
    body = "\n".join(marks) or ":hourglass_flowing_sand: queued…"
    by = f" by {user(actor)}" if actor else ""
    return Message(
        f"{title}{by}: {'failed' if failed else 'working' if running else 'done'}",
        [section(f"*{escape(title)}*{by}"), section(body)],
    )


@dataclass(frozen=True)
class CardFacts:
    """What an owner needs to decide a request, in one place."""

    request_id: str
    service: str
    requester: str
    consumer_subscription: str
    vnet: str | None
    subnet: str | None
    pe_name: str | None
    reason: str
    link_identifier: str | None
    portal: str | None = None  # the portal's home: with it the service, endpoint and subnet link there
    service_id: str | None = None
    pe_id: str | None = None
    subnet_id: str | None = None


def _card_fields(facts: CardFacts) -> Block:
    """The card's facts, marked as about its request, so the message shortcut knows every state of
    the card (open, decided, closed) by its blocks alone (``subject_of``)."""
    block = fields(
        [
            ("Service", portal.named(facts.portal, facts.service_id, facts.service)),
            ("Requested by", user(facts.requester)),
            ("Consumer subscription", f"`{escape(facts.consumer_subscription)}`"),
            (
                "VNet / subnet",
                portal.named(facts.portal, facts.subnet_id, f"{facts.vnet or '?'} / {facts.subnet or '?'}"),
            ),
            ("Private endpoint", portal.named(facts.portal, facts.pe_id, facts.pe_name or "?")),
            ("Request", f"`{escape(facts.request_id)}`"),
            ("Link identifier", escape(facts.link_identifier or "not yet known")),
            ("Reason", free_text(facts.reason) or "_none given_"),
        ]
    )
    return about_request(facts.request_id, block)


def approval_card(facts: CardFacts) -> Message:
    """The card owners decide on. Reject asks once, in the modal that takes its reason (a confirm
    dialog before it asked twice, issue 12). The notification reads well on a lock screen."""
    blocks = [
        header(f"Endpoint request for {facts.service}"),
        _card_fields(facts),
        {
            "type": "actions",
            "block_id": f"decide:{facts.request_id}",
            "elements": [
                button("Approve", APPROVE, facts.request_id, style="primary"),
                *(button(f"Approve for {d} days", a, facts.request_id) for a, d in APPROVE_FOR_DAYS.items()),
                button("Reject", REJECT, facts.request_id, style="danger"),
            ],
        },
    ]
    who = user(facts.requester)  # a person, or the words "outside natlink" for a portal's connection
    asks = (
        f"{who} requests an endpoint to {facts.service}"
        if who.startswith("<@")
        else f"An endpoint to {facts.service} was requested {who}"
    )
    return Message(notification(f"{asks} ({facts.request_id}), waiting for approval", ()), blocks)


def decided_card(
    facts: CardFacts,
    decision: str,
    by: str | None,
    at: datetime,
    reason: str | None,
    until: datetime | None = None,
) -> Message:
    """The same card after a decision: who decided (nobody in natlink, for one made in the portal),
    when, until when for a timed approval, and no buttons."""
    icon = ":white_check_mark:" if decision == "approved" else ":no_entry:"
    note = f" — {free_text(reason)}" if reason else ""
    who = f"by {user(by)}" if by else "outside natlink"
    lasts = f" {describe.until(until)}" if until else ""
    blocks = [
        header(f"Endpoint request for {facts.service}"),
        _card_fields(facts),
        context(f"{icon} *{decision.capitalize()}* {who} at {at:%Y-%m-%d %H:%M} UTC{lasts}{note}"),
    ]
    outside = "" if by else " outside natlink"
    return Message(
        notification(f"{facts.service}: {facts.request_id} {decision}{outside}{lasts}", ()), blocks
    )


def closed_card(facts: CardFacts, note: str) -> Message:
    """The card once nothing is left to decide (its connection went outside natlink): no buttons."""
    blocks = [
        header(f"Endpoint request for {facts.service}"),
        _card_fields(facts),
        context(f":wastebasket: {note}"),
    ]
    return Message(f"{facts.request_id}: {note}", blocks)


def share_card(service: str, alias: str, location: str, ports: Sequence[int]) -> Message:
    """The alias, posted to a channel with a button that opens the request form."""
    ports_text = ", ".join(str(p) for p in ports) or "?"
    blocks = [
        header(f"{service} is available over Private Link"),
        fields([("Alias", f"`{escape(alias)}`"), ("Region", escape(location)), ("Ports", ports_text)]),
        {
            "type": "actions",
            "block_id": f"share:{service}",
            "elements": [button("Request endpoint", REQUEST_ENDPOINT, service, style="primary")],
        },
        context(f"Or type `/natlink request {escape(service)} --vm <your VM>`"),
    ]
    return Message(f"{service} is available over Private Link: {alias}", blocks)


def share_button(service: str) -> Block:
    """Under the create result: share the alias without typing ``/natlink share``."""
    return {"type": "actions", "block_id": f"share:{service}", "elements": [button("Share…", SHARE, service)]}


def modal(callback_id: str, metadata: str, title: str, submit: str, blocks: list[Block]) -> dict[str, Any]:
    """A modal as natlink opens them: where it was opened from rides in ``private_metadata``, and
    Cancel closes it."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def share_modal(service: str, channel: str) -> dict[str, Any]:
    """Pick the channel to post the alias card in; where the button was clicked rides along."""
    return modal(
        SHARE_MODAL,
        f"{service}|{channel}",
        "Share a service",
        "Share",
        [
            section(f"Post *{escape(service)}*'s alias, with its *Request endpoint* button, in a channel."),
            {
                "type": "input",
                "block_id": "channel",
                "label": {"type": "plain_text", "text": "Channel"},
                "element": {
                    "type": "conversations_select",
                    "action_id": "value",
                    "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                },
            },
        ],
    )


def reject_modal(request_id: str, channel: str, ts: str) -> dict[str, Any]:
    """The optional reason for a rejection; the card's place rides along in private_metadata."""
    return modal(
        REJECT_MODAL,
        f"{request_id}|{channel}|{ts}",
        "Reject request",
        "Reject",
        [
            section(f"Reject request `{escape(request_id)}`? Its requester is told, with your reason."),
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason (shown to the requester)"},
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": REASON_MAX},
            },
        ],
    )


VM_PICKER = "natlink_pick_vm"
SUBNET_PICKER = "natlink_pick_subnet"
SERVICE_PICKER = "natlink_pick_service"
PICKERS = (VM_PICKER, SUBNET_PICKER, SERVICE_PICKER)
REQUEST_SHORTCUT = "natlink_request_shortcut"
"""The global shortcut "Request private endpoint" (app.yaml, features.shortcuts)."""
MESSAGE_SHORTCUT = "natlink_message_request"
"""The message shortcut on natlink's own messages: the request form for the service one is about."""


def request_modal(service: str | None, channel: str) -> dict[str, Any]:
    """The form behind *Request endpoint* and the shortcuts: pickers of the VMs and subnets the
    person may use, in every subscription natlink manages (each option names its place), so
    nothing is typed that could be wrong. Without a service (the global shortcut) it is picked too."""

    def picker(block_id: str, action_id: str, label: str, hint: str, placeholder: str) -> Block:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": block_id != "service",
            "label": {"type": "plain_text", "text": label},
            "hint": {"type": "plain_text", "text": hint},
            "element": {
                "type": "external_select",
                "action_id": action_id,
                "min_query_length": 0,  # offer the list as soon as it opens; typing narrows it
                "placeholder": {"type": "plain_text", "text": placeholder},
            },
        }

    about = (
        section(f"Request a private endpoint to *{escape(service)}*.")
        if service
        else picker(
            "service", SERVICE_PICKER, "Service", "A service natlink manages.", "Type part of its name"
        )
    )
    return modal(
        REQUEST_MODAL,
        f"{service or ''}|{channel}",
        "Request endpoint",
        "Request",
        [
            about,
            picker(
                "vm",
                VM_PICKER,
                "Your VM",
                "The endpoint goes in this VM's subnet. Only VMs your grants cover are listed.",
                "Type part of the VM's name",
            ),
            picker(
                "subnet", SUBNET_PICKER, "Or a subnet", "Instead of a VM.", "Type part of the VNet or subnet"
            ),
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason"},
                "hint": {"type": "plain_text", "text": "Shown to the service's owners."},
                "element": {"type": "plain_text_input", "action_id": "value", "max_length": REASON_MAX},
            },
        ],
    )


def option(text: str, value: str) -> Block:
    """One option of a select: text at most 75 characters, value at most 150 (Block Kit: option object)."""
    return {"text": {"type": "plain_text", "text": cut(text, 75)}, "value": value}


def option_groups(groups: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> list[Block]:
    """An options load's answer by group (a subscription each): labels at most 75 characters."""
    return [
        {
            "label": {"type": "plain_text", "text": cut(f"Subscription {name}", 75)},
            "options": [option(*o) for o in found],
        }
        for name, found in groups
    ]


def about_request(request_id: str, block: Block) -> Block:
    """``block`` marked as being about one request, for the message shortcut (``subject_of``)."""
    return {**block, "block_id": f"request:{request_id}"}


def subject_of(message: dict[str, Any]) -> tuple[str, str] | None:
    """What a natlink message is about, read from its own block ids: ``("service", name)`` for a
    share card, ``("request", id)`` for a request's card or natlink's answer to it; None for
    anything else."""
    for block in message.get("blocks") or []:
        kind, _, value = str(block.get("block_id", "")).partition(":")
        if value and kind == "share":
            return "service", value
        if value and kind in ("decide", "request"):
            return "request", value
    return None
