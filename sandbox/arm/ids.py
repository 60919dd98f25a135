"""ARM resource IDs: building, parsing and case-insensitive keys.

ARM treats IDs case-insensitively and echoes the casing it was given at creation, so the
world stores resources under a lower-cased key and keeps the original casing in the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME_RULE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")


def key(resource_id: str) -> str:
    return resource_id.rstrip("/").lower()


def resource_id(subscription: str, group: str, namespace: str, *type_names: str) -> str:
    """``resource_id(sub, rg, "Microsoft.Network", "virtualNetworks", "v", "subnets", "s")``."""
    tail = "/".join(type_names)
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{namespace}/{tail}"


def child_id(parent_id: str, child_type: str, name: str) -> str:
    return f"{parent_id}/{child_type}/{name}"


@dataclass(frozen=True)
class ParsedId:
    subscription: str
    group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def parent(self) -> str:
        """The top-level resource this ID belongs to (itself when it is top-level)."""
        return resource_id(self.subscription, self.group, self.namespace, self.types[0], self.names[0])


_ID = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/([^/]+)/(.+)$", re.I)


def parse(resource_id_: str) -> ParsedId | None:
    """Parse a full resource ID; ``None`` when it is not one (callers decide the error)."""
    match = _ID.match(resource_id_.rstrip("/"))
    if not match:
        return None
    parts = match.group(4).split("/")
    if len(parts) % 2:
        return None
    return ParsedId(
        subscription=match.group(1),
        group=match.group(2),
        namespace=match.group(3),
        types=tuple(parts[0::2]),
        names=tuple(parts[1::2]),
    )


def subscription_of(resource_id_: str) -> str:
    parsed = parse(resource_id_)
    return parsed.subscription if parsed else ""


def valid_name(name: str) -> bool:
    """Azure's naming rule for network resources: 1-80 characters of letters, digits, ``_.-``,
    starting with a letter or digit and ending with a letter, digit or underscore."""
    return bool(NAME_RULE.match(name))
