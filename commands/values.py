"""The typed values a parsed command carries.

Plain frozen dataclasses, so use cases and the policy can take them without knowing Slack's wire
format or how the text was spelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

STAR = "*"
""""Every service" or "every subscription", where a verb allows it."""


@dataclass(frozen=True)
class User:
    """A Slack user, from an escaped mention: only the id is trustworthy, the name is a label."""

    id: str
    name: str | None = None

    @property
    def mention(self) -> str:
        """How to write this user back into Slack so it renders as a live mention."""
        return f"<@{self.id}>"


@dataclass(frozen=True)
class Channel:
    """A Slack channel, from an escaped channel link: only the id is trustworthy."""

    id: str
    name: str | None = None

    @property
    def mention(self) -> str:
        """How to write this channel back into Slack so it renders as a link."""
        return f"<#{self.id}>"


@dataclass(frozen=True)
class Scope:
    """A subscription, or one resource group in it: what a grant covers or a resource sits in.

    The subscription is stored lower-case; resource group names keep their spelling but compare
    case-insensitively, as Azure does.
    """

    subscription: str
    resource_group: str | None = None

    def covers(self, other: Scope) -> bool:
        """A subscription scope covers all its resource groups; a resource-group scope only itself."""
        if self.subscription.lower() != other.subscription.lower():
            return False
        if self.resource_group is None:
            return True
        return (
            other.resource_group is not None and self.resource_group.lower() == other.resource_group.lower()
        )

    def __str__(self) -> str:
        return (
            self.subscription if self.resource_group is None else f"{self.subscription}/{self.resource_group}"
        )

    @classmethod
    def parse(cls, text: str) -> Scope:
        """The inverse of ``str``: ``<subscription>`` or ``<subscription>/<resource-group>``."""
        subscription, _, group = text.partition("/")
        return cls(subscription, group or None)


@dataclass(frozen=True)
class Alias:
    """A private link service alias, ``name.<guid>.<region>.azure.privatelinkservice``.

    The consumer may only know the alias (the provider can be in another tenant), so it is kept
    whole in ``text`` and its parts are split out for display and lookups.
    """

    text: str
    name: str
    guid: str
    region: str


Value = (
    str
    | int
    | bool
    | timedelta
    | User
    | Channel
    | Scope
    | Alias
    | tuple[int, ...]
    | tuple[str, ...]
    | tuple[User, ...]
)
"""Everything a positional argument or flag can hold after parsing."""
