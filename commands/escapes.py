"""Slack's escaped forms in slash-command text.

With "Escape channels, users, and links" on, Slack sends ``@alice`` as ``<@U123|alice>`` and
``#team-b`` as ``<#C123|team-b>``, and HTML-escapes the ``&``, ``<`` and ``>`` a person typed. So a
literal ``<@U1>`` in the text is always a real mention and can never be forged; entities must be
decoded only after mentions have been recognised.
"""

from __future__ import annotations

import re

from .values import Channel, User

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^<>]*))?>")
_SPECIAL = re.compile(r"<!([^<>|]+)(?:\|([^<>]*))?>")
_LINK = re.compile(r"<([^@#!<>|][^<>|]*)(?:\|([^<>]*))?>")
_ANY = re.compile(r"<[@#!]?[^<>]+>")


def unescape(text: str) -> str:
    """Decode Slack's three entities; ``&amp;`` last, so a typed ``&lt;`` survives as ``&lt;``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """Encode text for a Slack message, where a bare ``<...>`` would be read as a link or mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_FORMATTING = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"})
"""mrkdwn's formatting characters and look-alikes that Slack renders as themselves.

mrkdwn has no escape for ``*_~`` and backticks, so a reason typed as ``*urgent*`` or with a stray
backtick would render bold or as code and could swallow the rest of the line."""


def free_text(text: str) -> str:
    """Text a person typed (a reason), for mrkdwn: escaped, and its formatting shown as typed.

    Only for prose: names keep their characters, since people copy them back into commands."""
    return escape(text).translate(_FORMATTING)


def user(token: str) -> User | None:
    """The user a whole token mentions, or None when the token is not a user mention."""
    match = _USER.fullmatch(token)
    if match is None:
        return None
    return User(match.group(1), unescape(match.group(2)) if match.group(2) else None)


def channel(token: str) -> Channel | None:
    """The channel a whole token links, or None when the token is not a channel link."""
    match = _CHANNEL.fullmatch(token)
    if match is None:
        return None
    return Channel(match.group(1), unescape(match.group(2)) if match.group(2) else None)


def describe(token: str) -> str | None:
    """Say what kind of Slack escape a token is, for messages like "expected a port, got ..."."""
    if found := user(token):
        return f"a user mention (@{found.name or found.id})"
    if found_channel := channel(token):
        return f"a channel (#{found_channel.name or found_channel.id})"
    if match := _SPECIAL.fullmatch(token):
        return f"a special mention (@{unescape(match.group(2) or match.group(1)).lstrip('@')})"
    if _LINK.fullmatch(token):
        return "a link"
    return None


def _readable(match: re.Match[str]) -> str:
    token = match.group(0)
    if found := user(token):
        return f"@{found.name or found.id}"
    if found_channel := channel(token):
        return f"#{found_channel.name or found_channel.id}"
    if special := _SPECIAL.fullmatch(token):
        return "@" + unescape(special.group(2) or special.group(1)).lstrip("@")
    if link := _LINK.fullmatch(token):
        return unescape(link.group(1))
    return token


def plain(text: str) -> str:
    """Free text as the person typed it: mentions as ``@name``, links as URLs, entities decoded.

    Reasons end up in Azure's request message, which no Slack client renders.
    """
    return unescape(_ANY.sub(_readable, text))
