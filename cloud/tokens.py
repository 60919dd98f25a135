"""The natlink request token, carried in a private endpoint's request message.

A connection on a private link service only shows the consumer's message, so natlink puts
``natlink:<id>`` in it to match a connection to the request that made it, exactly and without
guessing from names or timing. ``<id>`` is 3-32 URL-safe characters (``secrets.token_urlsafe(8)``
gives 11), short enough to leave room in the 140-character message.
"""

from __future__ import annotations

import re

PREFIX = "natlink:"
_TOKEN = re.compile(r"\bnatlink:([A-Za-z0-9_-]{3,32})(?![A-Za-z0-9_-])")


def parse_token(text: str | None) -> str | None:
    """The first token in ``text`` (e.g. ``natlink:Ab3_x9`` in a message), or None."""
    match = _TOKEN.search(text or "")
    return PREFIX + match.group(1) if match else None
