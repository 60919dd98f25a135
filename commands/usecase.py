"""What a use case is written against: its typed arguments, where Azure says it lands, and its job.

A use case module holds one verb's story (check, change Azure through ``cloud``, record through
``storage``, return a reply record). It takes a ``Payload`` (a frozen dataclass of plain JSON
values, so a queued operation survives a restart and a release) and, when it runs in a worker, a
``Job`` that also carries the Azure clients, what the second authorization phase located, and a
way to report progress.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from cloud.clients import Clients
from cloud.errors import CloudError
from storage import audit, owners
from storage.records import Service

from .context import Context
from .escapes import escape
from .policy import Resource
from .replies import Listing, Outcome, Refusal, Turn

SLASH = "/natlink"
"""The slash command, as people type it."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Payload:
    """A verb's arguments after parsing, as plain values (ids, names, seconds).

    ``TARGET`` names the field the audit records as the target; every subclass sets it.
    """

    TARGET: ClassVar[str] = ""

    @property
    def audit_target(self) -> str:
        """The audit target: the value of the field ``TARGET`` names, or ``-``."""
        return str(getattr(self, self.TARGET, None) or "-") if self.TARGET else "-"

    def title(self, verb: str) -> str:
        """What an operation is about, for people: the verb and its target, never the text typed
        (a reason may hold anything, and it is the person's, not the channel's)."""
        target = self.audit_target
        return f"{SLASH} {verb}" + (f" {target}" if target != "-" else "")


@dataclass(frozen=True)
class NoArgs(Payload):
    """For verbs that take nothing."""


_NOT_KEPT = ("page", "after", "before", "total", "csv", "refresh")
"""What a listing's buttons do not carry over: the page (a button carries its own, ``Turn``), the
export switch, and a ``status --refresh`` (turning a page never sweeps Azure again)."""


@dataclass(frozen=True)
class Paged(Payload):
    """A listing: which page to show, and which services it covers (``--mine``, ``--owner``,
    ``--subscription``): with a thousand services, a person narrows before paging."""

    page: int = 1
    mine: bool = False
    owner: str | None = None
    subscription: str | None = None
    csv: bool = False
    after: str | None = None  # a button's page: see ``replies.Turn``
    before: str | None = None
    total: int | None = None

    @property
    def turn(self) -> Turn:
        return Turn(self.page, self.after, self.before, self.total)

    def listing(self, verb: str, actor: str) -> Listing:
        """This listing's command for its buttons: every field but the page and the export switch."""
        args = {k: v for k, v in dataclasses.asdict(self).items() if k not in _NOT_KEPT}
        return Listing(verb, args, actor)

    def more(self, verb: str, *words: str | None) -> str:
        """The command that pages through this listing (without ``--page``); a mention stays a mention
        (``views`` keeps it out of the code span, so a copy pastes as ``@name``)."""
        narrowed = [
            *(["--mine"] if self.mine else []),
            *([f"--owner <@{self.owner}>"] if self.owner else []),
            *([f"--subscription {self.subscription}"] if self.subscription else []),
        ]
        return " ".join([verb, *(w for w in words if w), *narrowed])

    def narrow(self, ctx: Context, found: Sequence[Service]) -> list[Service]:
        """The services this listing covers, of ``found``."""
        people = [p for p in (ctx.actor if self.mine else None, self.owner) if p]
        owned = [{s.lower() for s in owners.services_owned_by(ctx.db, p)} for p in people]
        return [
            s
            for s in found
            if all(s.name.lower() in mine for mine in owned)
            and (self.subscription is None or s.subscription.lower() == self.subscription.lower())
        ]


@dataclass(frozen=True)
class Located:
    """What the second phase found in Azure: the resource the policy judges, with the use case's facts."""

    resource: Resource


P = TypeVar("P", bound=Payload)
L = TypeVar("L", bound=Located)


@dataclass(frozen=True)
class Job(Generic[P, L]):
    """One queued operation being run by a worker."""

    ctx: Context
    clients: Clients
    payload: P
    located: L | None
    progress: Progress


Run = Callable[[Job], Outcome]
Locate = Callable[[Context, Clients, Payload], "Located | Refusal"]


def succeeded(ctx: Context, action: str, target: str, reason: str = "") -> None:
    """Audit a change once Azure and natlink's records both hold it."""
    audit.record(ctx.db, actor=ctx.actor, action=action, target=target, outcome="succeeded", reason=reason)


def refused(ctx: Context, action: str, target: str, error: CloudError) -> Refusal:
    """Audit ``error`` as :func:`failed` does, and word it for the person who asked."""
    failed(ctx, action, target, error)
    problem = f"{escape(error.code)}: {escape(error.message)}"
    if error.exists:
        problem += f"\nAlready in Azure: {escape(', '.join(error.exists))}"
    return Refusal(problem, hint=error.hint or None)


def failed(ctx: Context, action: str, target: str, error: CloudError) -> None:
    """Audit a change Azure refused, with its code, so the trail shows why nothing changed."""
    audit.record(
        ctx.db,
        actor=ctx.actor,
        action=action,
        target=target,
        outcome="failed",
        reason=f"{error.code}: {error.message}",
    )
