"""``audit``: who did what, including every refused attempt."""

from __future__ import annotations

from dataclasses import dataclass

from storage import audit

from ..context import Context
from ..escapes import escape, free_text
from ..replies import Reply
from ..usecase import Payload


@dataclass(frozen=True)
class Audit(Payload):
    TARGET = "service"
    service: str | None = None
    limit: int = 20


def answer(ctx: Context, payload: Audit) -> Reply:
    entries = audit.list_entries(ctx.db, target=payload.service, limit=payload.limit)
    lines = tuple(
        f"{e.at:%Y-%m-%d %H:%M} <@{e.actor}> {escape(e.action)} {escape(e.target)}: *{e.outcome}*"
        f"{' — ' + free_text(e.reason) if e.reason else ''}"
        for e in entries
    )
    title = f"Audit{' of ' + payload.service if payload.service else ''}"
    return Reply(title, lines, empty="Nothing recorded yet.")
