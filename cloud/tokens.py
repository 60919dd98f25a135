"""The request ID and the natlink token that carries it: their one home.

A request ID is ``r-`` and six characters of a lower-case alphabet without ``0 o 1 l`` (people
read IDs aloud and retype them from approval cards), e.g. ``r-7k2m9x``: 32**6, about 10**9,
possibilities. :func:`new_request_id` is the only place IDs are made; storage keeps them unique.

A connection on a private link service only shows the consumer's message, so natlink puts the
token ``natlink:<request ID>`` first in it, and first in every decision's description, to match
a connection to the request that made it exactly, never by name or timing.

What is read is wider than what is issued, on purpose, and each set holds the one before:

* issued: ``r-`` and :data:`ID_LENGTH` characters of :data:`ID_ALPHABET`;
* accepted from a person (:data:`REQUEST_ID`, the ``request-id`` argument): ``r-`` and
  :data:`ID_MIN`-:data:`ID_MAX` URL-safe characters, so IDs can grow without changing what a
  reason may hold (:data:`TOKEN_MAX` is reserved in the 140-character message);
* read back from Azure (:func:`parse_token`): any ``natlink:`` and 3-32 URL-safe characters, so a
  token written by another version of natlink, or by hand, is still matched.

Plain Python with no Azure import, so ``commands`` (the validator) may use it; ``storage`` imports
nothing of natlink, so its callers pass it the IDs made here.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "natlink:"
ID_PREFIX = "r-"
ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
ID_LENGTH = 6
ID_MIN, ID_MAX = 6, 10
"""Lengths of the part after ``r-`` that a person may type; issued IDs have :data:`ID_LENGTH`."""
TOKEN_MAX = len(PREFIX) + len(ID_PREFIX) + ID_MAX
"""The longest token of an accepted ID: 8 + 2 + 10 = 20 characters."""
EXAMPLE_ID = "r-7k2m9x"
"""An ID as storage could issue it, for help texts and docs."""

_URL_SAFE = "A-Za-z0-9_-"
REQUEST_ID = re.compile(rf"{re.escape(ID_PREFIX)}[{_URL_SAFE}]{{{ID_MIN},{ID_MAX}}}")
"""What a request ID argument must match in full."""
_TOKEN = re.compile(rf"\b{re.escape(PREFIX)}([{_URL_SAFE}]{{3,32}})(?![{_URL_SAFE}])")


def new_request_id() -> str:
    """A fresh random request ID such as ``r-7k2m9x``."""
    return ID_PREFIX + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def is_request_id(text: str) -> bool:
    """Whether ``text`` is a whole request ID as a person may give one."""
    return REQUEST_ID.fullmatch(text) is not None


def token(request_id: str) -> str:
    """The token for a request: ``natlink:r-7k2m9x``."""
    if not is_request_id(request_id):
        raise ValueError(f"{request_id!r} is not a request ID like {EXAMPLE_ID!r}")
    return PREFIX + request_id


def parse_token(text: str | None) -> str | None:
    """The first token in ``text`` (e.g. ``natlink:Ab3_x9`` in a message), or None."""
    match = _TOKEN.search(text or "")
    return PREFIX + match.group(1) if match else None


def request_id_of(text: str | None) -> str | None:
    """The ID that the first token in ``text`` carries (``r-7k2m9x`` from ``natlink:r-7k2m9x bob``)."""
    found = parse_token(text)
    return found.removeprefix(PREFIX) if found else None
