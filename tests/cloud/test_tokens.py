"""The request token is found wherever it sits in a message, and only when it is well formed."""

from __future__ import annotations

import pytest

from cloud.tokens import parse_token


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("natlink:req-1 bob", "natlink:req-1"),
        ("please approve (natlink:Ab3_x9Zk-Q0) thanks", "natlink:Ab3_x9Zk-Q0"),
        ("natlink:a1 too short, then natlink:second", "natlink:second"),
        ("approved by alice", None),
        ("notnatlink:abcdef", None),
        ("natlink:" + "x" * 33, None),
        ("", None),
        (None, None),
    ],
)
def test_parse_token(text: str | None, token: str | None) -> None:
    assert parse_token(text) == token
