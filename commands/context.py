"""What a use case runs with: who asks and where, this thread's database, and the deployment's rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database


@dataclass(frozen=True)
class Config:
    """The deployment's rules, from settings: admins, self-approval, the subscriptions natlink sweeps."""

    admins: frozenset[str]
    allow_self_approval: bool
    subscriptions: tuple[str, ...]


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

    @property
    def is_admin(self) -> bool:
        return self.actor in self.config.admins
