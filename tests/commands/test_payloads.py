"""Every verb's words fit its payload, and a queued payload survives the queue and a release."""

from __future__ import annotations

import dataclasses
import json

import pytest

from commands import payloads, perform
from commands.declare import field_name
from commands.grammar import parse
from commands.verbs import VERBS
from storage.records import Operation

EXAMPLES = [(verb.name, text) for verb in VERBS.values() for text in verb.examples]


def _operation(kind: str, args: dict) -> Operation:
    """An operation as storage hands it to a worker (its args read back from JSON)."""
    return Operation(  # type: ignore[call-arg]
        **{f.name: None for f in dataclasses.fields(Operation)}
        | {
            "id": 1,
            "kind": kind,
            "args": json.loads(json.dumps(args)),
            "actor": "U0ALICE",
            "state": "running",
        }
    )


def _payload(text: str):
    command = parse(text)
    verb = VERBS[command.verb]
    return verb, payloads.from_command(verb, {**command.args, **command.flags})


@pytest.mark.parametrize("name", list(VERBS))
def test_every_argument_and_flag_has_a_payload_field(name: str) -> None:
    verb = VERBS[name]
    fields = {f.name for f in dataclasses.fields(verb.payload)}
    declared = {field_name(w.name) for w in (*verb.args, *verb.flags)}
    assert declared <= fields, f"{name}: words {sorted(declared)} but payload fields {sorted(fields)}"
    extra = [f for f in dataclasses.fields(verb.payload) if f.name not in declared]
    assert all(f.default is not dataclasses.MISSING for f in extra), f"{name}: a field no word fills"
    target = verb.payload.TARGET
    assert target in fields or not target, f"{name}: the audit target is not a field (listings name none)"


@pytest.mark.parametrize(("name", "text"), EXAMPLES, ids=[t for _, t in EXAMPLES])
def test_every_example_round_trips_through_the_queue(name: str, text: str) -> None:
    verb, payload = _payload(text)
    assert verb.name == name
    stored = payloads.encode(payload)
    assert stored["v"] == payloads.VERSION
    loaded = perform.load(_operation(name, stored))
    assert (loaded.verb, loaded.payload) == (verb, payload)
    assert "text" not in stored, "the worker never parses text"


@pytest.mark.parametrize(
    "text",
    [
        "create rdp-vmb --vm VM-Win2019-2 --port 3389,3390 --nat-ips 2 --owners <@U02BOB|bob> --proxy-protocol",
        "create sql-b --lb sql-ilb --frontend fe-1433 --visibility 11111111-1111-1111-1111-111111111111",
        'request rdp-vmb --vm VM-Win2019 --reason "RDP for the nightly jobs" --for 30d',
        "request rdp-vmb --vnet RG-normal-vnet --subnet default --name pe-one",
        "revoke r-7k2m9x",
        "delete rdp-vmb --force",
        "status rdp-vmb --refresh",
        "map",
    ],
)
def test_a_release_1_operation_loads_as_todays(text: str) -> None:
    """Release 1 queued the text typed; the worker reads it once through the grammar."""
    verb, payload = _payload(text)
    loaded = perform.load(_operation(verb.name, {"text": text}))
    assert (loaded.verb, loaded.payload) == (verb, payload)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ({"request": "r-7k2m9x", "verb": "approve", "reason": "", "for_seconds": None}, "approve r-7k2m9x"),
        (
            {"request": "r-7k2m9x", "verb": "approve", "reason": "ok", "for_seconds": 604800},
            "approve r-7k2m9x ok --for 7d",
        ),
        (
            {"request": "r-7k2m9x", "verb": "reject", "reason": "no", "for_seconds": None},
            "reject r-7k2m9x no",
        ),
    ],
)
def test_a_release_1_decision_loads_as_todays(args: dict, text: str) -> None:
    verb, payload = _payload(text)
    loaded = perform.load(_operation("decide", args))
    assert (loaded.verb, loaded.payload) == (verb, payload)


def test_a_payload_of_an_unknown_version_is_refused_not_guessed() -> None:
    _, payload = _payload("revoke r-7k2m9x")
    with pytest.raises(ValueError, match="version"):
        perform.load(_operation("revoke", {**payloads.encode(payload), "v": 2}))


def test_values_are_stored_plainly() -> None:
    _, payload = _payload(
        "create web-b --vm VM-Win2019-2 --port 80,443 --owners <@U02BOB|bob>,<@U03CAROL|carol>"
    )
    stored = payloads.encode(payload)
    assert stored["owners"] == ("U02BOB", "U03CAROL") and stored["port"] == (80, 443)
    _, timed = _payload("request rdp-vmb --vm VM-Win2019 --for 2h")
    assert payloads.encode(timed)["for_"] == 7200
