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
    wanted = label.lower()
    for index in range(len(parts) - 1):
        if parts[index].lower() == wanted:
            return parts[index + 1]
    return None


def name(resource_id: str | None) -> str | None:
    """The last segment: the resource's own name."""
    return (resource_id or "").rstrip("/").rsplit("/", 1)[-1] or None


def parent(resource_id: str) -> str:
    """The ID one level up: a subnet's VNet, a frontend's load balancer, a connection's service."""
    return resource_id.rstrip("/").rsplit("/", 2)[0]


def network_path(resource_id: str) -> tuple[str, str, str]:
    """``(subscription, resource group, name)`` of a top-level resource, for the SDK's get calls."""
    sub, group, own = (
        segment(resource_id, "subscriptions"),
        segment(resource_id, "resourceGroups"),
        name(resource_id),
    )
    if not (sub and group and own):
        raise ValueError(f"not an ARM resource ID: {resource_id!r}")
    return sub, group, own
