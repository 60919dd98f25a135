"""``whoami``: what the actor may do here, so nobody learns their rights only from a refusal."""

from __future__ import annotations

from storage import grants, owners, requests

from ..context import Context
from ..escapes import escape
from ..replies import Reply
from ..usecase import NoArgs


def answer(ctx: Context, payload: NoArgs) -> Reply:
    """Admin or not, the grants held, the services owned and how many requests wait for them."""
    held = grants.grants_for(ctx.db, ctx.actor)
    owned = owners.services_owned_by(ctx.db, ctx.actor)
    waiting = sum(1 for r in requests.list_pending(ctx.db) if r.service in owned)
    admins = ", ".join(f"<@{a}>" for a in sorted(ctx.config.admins)) or "none set"
    lines = [
        "You are an admin: you may do everything but approve your own requests."
        if ctx.is_admin
        else f"You are not an admin (admins: {admins}).",
        *(f"You may *{g.action}* in `{escape(g.scope)}` (granted by <@{g.granted_by}>)." for g in held),
        f"You own {', '.join(f'*{escape(s)}*' for s in owned)}; {waiting} request(s) wait for a decision."
        if owned
        else "You own no service.",
    ]
    if not held and not ctx.is_admin:
        lines.append("You hold no grant: an admin can give you one with `/natlink grant`.")
    return Reply(f"What <@{ctx.actor}> may do", tuple(lines))
