"""``natlink doctor``'s scopes row: every scope app.yaml asks for is checked, and only a scope natlink
works without (users:read: names in notifications) lets ``serve`` start without it."""

from __future__ import annotations

from bot import doctor
from bot.manifest import bot_scopes


def test_users_read_is_checked_but_does_not_block_serve() -> None:
    assert "users:read" in bot_scopes() and set(doctor.COSMETIC_SCOPES) <= set(bot_scopes())
    row = doctor._scopes_row("natlink in sandbox", ["users:read"])
    assert not row.ok and not row.blocks_serve
    assert 'lacks users:read (notifications say "someone" instead of people\'s names)' in row.found
    assert doctor._scopes_row("natlink in sandbox", ["im:write", "users:read"]).blocks_serve
