"""The request token is found wherever it sits in a message, and only when it is well formed; the IDs
natlink issues are the ones it accepts back."""

from __future__ import annotations

import pytest

from cloud import tokens
from cloud.endpoints import request_message
from cloud.limits import REQUEST_MESSAGE_MAX
from cloud.tokens import parse_token
from commands.validate import Kind, check


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


def test_a_generated_id_round_trips_through_the_validator_and_the_token() -> None:
    """What storage is given to keep is what a person may type back and what Azure's message carries."""
    for _ in range(2000):
        request_id = tokens.new_request_id()
        assert check(Kind.REQUEST_ID, request_id) == request_id
        token = tokens.token(request_id)
        assert tokens.parse_token(token) == token
        message = request_message(token, "<@U0BOB>", "x" * REQUEST_MESSAGE_MAX)
        assert len(message) == REQUEST_MESSAGE_MAX
        assert tokens.request_id_of(message) == request_id


def test_the_example_id_is_one_storage_could_issue() -> None:
    example = tokens.EXAMPLE_ID.removeprefix(tokens.ID_PREFIX)
    assert len(example) == tokens.ID_LENGTH and set(example) <= set(tokens.ID_ALPHABET)
    assert check(Kind.REQUEST_ID, tokens.EXAMPLE_ID) == tokens.EXAMPLE_ID


def test_a_token_is_built_only_from_a_request_id() -> None:
    with pytest.raises(ValueError, match="not a request ID"):
        tokens.token("req 1")
    assert tokens.request_id_of("approved by alice") is None
