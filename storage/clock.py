"""Time for storage: one place that decides what "now" is and how instants are written down.

Every write function takes an optional ``now`` so tests (and replays) control time. Instants are
stored as fixed-width UTC ISO 8601 text, so that SQL comparisons and ``ORDER BY`` on the text agree
with time order.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def resolve(now: datetime | None) -> datetime:
    """``now`` if the caller supplied one, else the wall clock; naive datetimes are refused."""
    if now is None:
        return utc_now()
    if now.tzinfo is None:
        raise ValueError("storage needs timezone-aware datetimes; got a naive one")
    return now.astimezone(UTC)


def to_text(moment: datetime) -> str:
    """Fixed-width text (microseconds always present) so that text order is time order."""
    return resolve(moment).isoformat(timespec="microseconds")


def stamp(now: datetime | None) -> str:
    """The stored text for ``now``, defaulting to the wall clock."""
    return to_text(resolve(now))


def from_text(text: str) -> datetime:
    """Read back an instant written by :func:`to_text`."""
    return datetime.fromisoformat(text).astimezone(UTC)


def maybe_from_text(text: str | None) -> datetime | None:
    """Like :func:`from_text` for nullable columns."""
    return None if text is None else from_text(text)
