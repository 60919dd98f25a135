"""A listing's buttons and its file: what a Previous/Next/Export CSV button carries, and the whole
listing uploaded as a CSV with Slack's upload flow.

A button's value is the listing's own command (``commands.replies.Listing``) and the page it asks
for, as JSON: Slack hands it back unchanged with the click (at most 2,000 characters, Block Kit's
button reference), so a page is worked out again from what was asked, filters kept.

The file goes up with ``files_upload_v2``: ``files.getUploadURLExternal``, the upload, then
``files.completeUploadExternal`` with ``channel_id`` (``files.upload`` was retired on March 11,
2025; api.slack.com/methods/files.upload). It goes to the person's DM with natlink: the rows are
worked out for them, and a DM always reaches them (no ``not_in_channel``). Scope ``files:write``
(app.yaml).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from commands.replies import Listing, Reply, Turn

from . import views

log = logging.getLogger("natlink.listing")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
"""Cell starts a spreadsheet would run as a formula (OWASP, "CSV Injection"): such cells get a ``'``."""


def button_value(listing: Listing, turn: Turn) -> str:
    """What a listing's button carries: the command and the page it asks for (a Previous/Next
    button: the key of the row it turns from, and the rows the page counted)."""
    kept = {"after": turn.after, "before": turn.before, "n": turn.total}
    return json.dumps(
        {"v": listing.verb, "a": dict(listing.args), "by": listing.asked_by, "p": turn.page}
        | {k: v for k, v in kept.items() if v is not None}
    )


def read_button(value: str) -> tuple[Listing, Turn]:
    """A button's value back; ``ValueError`` for one natlink did not write. A button of the release
    before keyed pages carries only ``p``, a page number, and still turns to it."""
    data = json.loads(value)
    if not isinstance(data, dict) or not isinstance(data.get("a"), dict):
        raise ValueError("not a listing's button")
    after, before, total = data.get("after"), data.get("before"), data.get("n")
    if not all(isinstance(k, str | None) for k in (after, before)) or not isinstance(total, int | None):
        raise ValueError("not a listing's button")
    return Listing(str(data["v"]), data["a"], str(data["by"])), Turn(int(data["p"]), after, before, total)


def to_csv(table: Sequence[Sequence[str]]) -> str:
    """The table as CSV (RFC 4180 quoting), each cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in table:
        writer.writerow([f"'{cell}" if str(cell).startswith(_FORMULA) else cell for cell in row])
    return out.getvalue()


def upload(slack: WebClient, user: str, reply: Reply) -> views.Message:
    """Upload the reply's whole table to ``user``'s DM; what to tell them, success or Slack's refusal."""
    verb = reply.listing.verb if reply.listing else "list"
    name = f"natlink-{verb}.csv"
    rows = len(reply.table) - 1
    try:
        dm = slack.conversations_open(users=user)["channel"]["id"]
        slack.files_upload_v2(
            channel=dm,
            filename=name,
            content=to_csv(reply.table),
            title=f"{reply.title} ({views.plural(rows, 'row')})",
            initial_comment=f"{reply.title}: every row ({views.plural(rows, 'row')}).",
        )
    except SlackClientError as error:
        code = error.response.get("error") if isinstance(error, SlackApiError) else str(error)
        log.warning("uploading %s for %s failed: %s", name, user, code)
        hint = (
            "an admin must reinstall natlink with the files:write scope" if code == "missing_scope" else None
        )
        return views.error(f"natlink could not upload {name}: Slack answered {code}.", hint=hint)
    return views.lines_message(
        f"{reply.title}: CSV",
        (f"The whole list, {views.plural(rows, 'row')}, is in your DM with natlink as *{name}*.",),
        "",
    )
