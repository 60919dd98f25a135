"""ARM resource IDs: compared case-insensitively, and read by segment name, not by position.

Real IDs vary in case (``subId`` vs ``subid``) and even in spelling (``provders`` in Azure's own
examples), so lookups key on :func:`key` and parts are found by their label.
"""

from __future__ import annotations


def key(resource_id: str | None) -> str:
    """The dictionary key for an ID: ARM IDs are case-insensitive."""
    return (resource_id or "").rstrip("/").lower()


def segment(resource_id: str | None, label: str) -> str | None:
    """The value after ``label`` (case-insensitive) in an ID, e.g. ``segment(id, "subscriptions")``."""
    parts = (resource_id or "").strip("/").split("/")
    for index, part in enumerate(parts[:-1]):
        if part.lower() == label.lower():
            return parts[index + 1]
    return None


def name(resource_id: str | None) -> str | None:
    """The last segment: the resource's own name."""
    return (resource_id or "").rstrip("/").rsplit("/", 1)[-1] or None
