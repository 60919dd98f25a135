"""``grant`` and ``ungrant``: who may create services or request endpoints, and where.

Both are answered at once, so a replayed delivery or a second click runs them twice. The second
run changes nothing and says so ("already granted", "held no grant"), rather than reporting the
same change again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from storage import audit, grants
from storage.records import Grant as StoredGrant
from storage.transactions import write

from ..context import Context
from ..escapes import escape
from ..replies import Reply
from ..usecase import Payload


@dataclass(frozen=True)
class Grant(Payload):
    TARGET = "scope"
    VERB: ClassVar[str] = "grant"
    user: str
    action: str
    scope: str


@dataclass(frozen=True)
class Ungrant(Grant):
    VERB = "ungrant"


def answer(ctx: Context, payload: Grant) -> Reply:
    """Make or take back the grant; the audit records a change only when there was one."""
    with write(ctx.db):
        if payload.VERB == "grant":
            held, made = grants.grant_once(
                ctx.db,
                payload.user,
                payload.action,  # type: ignore[arg-type]
                payload.scope,
                granted_by=ctx.actor,
            )
        else:
            held, made = None, grants.remove_grant(ctx.db, payload.user, payload.action, payload.scope)  # type: ignore[arg-type]
        if made:
            _audit(ctx, payload)
    return _told(payload, held, made)


def _audit(ctx: Context, payload: Grant) -> None:
    audit.record(
        ctx.db,
        actor=ctx.actor,
        action=payload.VERB,
        target=payload.scope,
        outcome="allowed",
        reason=f"{payload.action} for <@{payload.user}>",
    )


def _told(payload: Grant, held: StoredGrant | None, made: bool) -> Reply:
    who, action, scope = f"<@{payload.user}>", payload.action, escape(payload.scope)
    if payload.VERB == "ungrant":
        if made:
            return Reply("Grants", (f"{who} may no longer *{action}* in `{scope}`.",))
        return Reply("Grants", (f"{who} held no *{action}* grant on `{scope}`; nothing changed.",))
    if made or held is None:
        return Reply("Grants", (f"{who} may now *{action}* in `{scope}`.",))
    since = f"{held.granted_at:%Y-%m-%d %H:%M} UTC"
    return Reply(
        "Grants",
        (
            f"{who} was already granted *{action}* in `{scope}` by <@{held.granted_by}> at {since}; nothing changed.",
        ),
    )
