"""What a use case runs with: who asks and where, this thread's database, and the deployment's rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from sqlite_utils import Database


class Reach(Enum):
    """Whether natlink can post in a channel, as its bot token sees it (the bot answers; a use
    case only asks). Slack refuses a post where the bot was not invited (``not_in_channel``), and
    a refusal found only when a card is due reaches nobody: so the verbs that make natlink post
    somewhere ask first."""

    MEMBER = "member"
    OUTSIDE = "outside"  # not a member, or a private channel it cannot see
    UNKNOWN = "unknown"  # Slack would not say (a scope the workspace did not grant, an outage)


def _assumed(channel: str) -> Reach:
    """Without a Slack client (tests of use cases, the command line), every channel is reachable."""
    return Reach.MEMBER


INVITE = "type `/invite @natlink` in it"


@dataclass(frozen=True)
class Config:
    """The deployment's rules, from settings: admins, self-approval, the subscriptions natlink sweeps,
    and where the Azure portal opens natlink's resources (``commands.portal``)."""

    admins: frozenset[str]
    allow_self_approval: bool
    subscriptions: tuple[str, ...]
    portal: str = "https://portal.azure.com/#"


@dataclass(frozen=True)
class Context:
    """One actor's request. ``db`` belongs to the calling thread (sqlite connections are per thread).

    ``operation`` is the queued operation a worker is running (``None`` for an answer given at
    once): what an operation records carries its id, so a rerun after a crash finds it again.
    """

    db: Database
    config: Config
    actor: str
    channel: str | None = None
    operation: int | None = None
    reach: Callable[[str], Reach] = _assumed

    def cannot_post(self, channel: str) -> tuple[bool, str] | None:
        """None when natlink can post in ``channel``; else whether that is certain (the bot is not
        in it) and the words that tell the person what to do."""
        match self.reach(channel):
            case Reach.OUTSIDE:
                return True, f"natlink is not in <#{channel}>, so Slack will not let it post there: {INVITE}"
            case Reach.UNKNOWN:
                return (
                    False,
                    f"natlink could not check that it may post in <#{channel}>; if nothing arrives, {INVITE}",
                )
        return None

    @property
    def is_admin(self) -> bool:
        return self.actor in self.config.admins
