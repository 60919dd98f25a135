"""Every emoji natlink writes renders on the sandbox page (issue 12 §4): a shortcode the page does
not know shows as ``:rotating_light:`` text, which is how the alerts looked."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
SHORTCODE = re.compile(r":([a-z][a-z0-9_]+):")
NOT_EMOJI = {"class", "func", "mod", "meth", "attr", "person"}  # docstring roles, Slack's own words


def _used() -> set[str]:
    sources = [*ROOT.glob("bot/*.py"), *ROOT.glob("commands/**/*.py")]
    return {m for path in sources for m in SHORTCODE.findall(path.read_text())} - NOT_EMOJI


def test_the_page_renders_every_emoji_natlink_uses() -> None:
    table = (ROOT / "sandbox" / "slack" / "web" / "app.js").read_text()
    known = set(re.findall(r"([a-z_]+): \"", table.split("const EMOJI = {", 1)[1].split("};", 1)[0]))
    used = _used()
    assert {"white_check_mark", "rotating_light"} <= used, "the scan finds natlink's emoji"
    assert used <= known, f"the page shows these as text: {sorted(used - known)}"
