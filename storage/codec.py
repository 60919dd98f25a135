"""Encoding of the JSON columns, kept in one place so every table writes JSON the same way."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def dump_json(value: Mapping[str, Any] | None) -> str | None:
    """Compact, key-sorted JSON so equal documents store as equal text; ``None`` stays NULL."""
    if value is None:
        return None
    return json.dumps(dict(value), sort_keys=True, separators=(",", ":"))


def dump_json_value(value: Any) -> str:
    """Canonical JSON for a column holding any JSON value (equal values store as equal text).

    Refuses NaN and infinities, which are not JSON; tuples come back as lists.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def load_json_value(text: str) -> Any:
    """Decode a column written by :func:`dump_json_value`."""
    return json.loads(text)


def load_json(text: str | None) -> dict[str, Any] | None:
    """Decode a JSON column; NULL decodes to ``None``."""
    if text is None:
        return None
    decoded = json.loads(text)
    if not isinstance(decoded, dict):
        raise ValueError(f"expected a JSON object, found {type(decoded).__name__}")
    return decoded


def load_json_object(text: str | None) -> dict[str, Any]:
    """Decode a JSON column that is never absent in a record (NULL reads as ``{}``)."""
    return load_json(text) or {}


def require_choice(value: str, allowed: frozenset[str], field: str) -> str:
    """Refuse a value outside a column's vocabulary with a clear message, before SQLite's CHECK does."""
    if value not in allowed:
        raise ValueError(f"{field} must be one of {sorted(allowed)}, not {value!r}")
    return value
