"""A parsed command as its verb's payload, and a payload as the JSON of a queued operation.

Operations outlive a release: a queued one is read back by whatever version runs next. So the
stored form is versioned (``{"v": 1, ...fields}``), holds plain values only (ids, names,
seconds), and the worker never parses text again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from storage import operations
from storage.records import Operation

from .context import Context
from .declare import Verb, field_name
from .usecase import Payload
from .values import Alias, Channel, Scope, User, Value

VERSION = 1


def from_command(verb: Verb, values: Mapping[str, Value]) -> Payload:
    """The verb's payload from parsed arguments and flags; every declared word has a field."""
    return verb.payload(**{field_name(name): plain(value) for name, value in values.items()})


def plain(value: Value) -> Any:
    """A parsed value as JSON holds it: a user or channel by id, a duration in seconds."""
    match value:
        case User(id=ident) | Channel(id=ident):
            return ident
        case Alias(text=text):
            return text
        case Scope():
            return str(value)
        case timedelta():
            return int(value.total_seconds())
        case tuple():
            return tuple(plain(v) for v in value)
    return value


def encode(payload: Payload) -> dict[str, Any]:
    """What ``operations.args`` stores."""
    return {"v": VERSION, **dataclasses.asdict(payload)}


def decode(cls: type[Payload], args: Mapping[str, Any]) -> Payload:
    """A stored payload back; lists (JSON has no tuples) become tuples again."""
    if args.get("v") != VERSION:
        raise ValueError(f"payload version {args.get('v')!r} is not {VERSION}")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items() if k in names})


def enqueue(
    ctx: Context,
    verb: str,
    payload: Payload,
    *,
    key: str | None,
    response_url: str | None = None,
    reply_ts: str | None = None,
) -> tuple[Operation, bool]:
    """Record the operation before Slack is acknowledged; a repeated ``key`` gets the first one back.
    ``reply_ts`` is a message the answer replaces (a listing's next page, ``handle.page``)."""
    return operations.enqueue(
        ctx.db,
        verb,
        actor=ctx.actor,
        args=encode(payload),
        idempotency_key=key,
        reply_channel=ctx.channel,
        reply_ts=reply_ts,
        response_url=response_url,
    )
