"""How a /natlink verb is declared: its words (arguments, flags, rules) and what runs it.

``verbs.py`` holds the table of rows; the grammar, help, docs, enforcement, the queue and the
worker all read a row, so nothing about a verb is said twice.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .context import Context
from .policy import Resource
from .replies import Refusal
from .usecase import SLASH as SLASH  # re-exported: the rest of commands reads it from here
from .usecase import Locate, Payload, Run
from .validate import Kind
from .values import Value


def field_name(name: str) -> str:
    """The payload field of an argument or flag: ``nat-ips`` is ``nat_ips``, ``for`` is ``for_``."""
    name = name.replace("-", "_")
    return f"{name}_" if keyword.iskeyword(name) else name


@dataclass(frozen=True)
class Arg:
    """A positional argument; ``many`` takes every remaining word (a user list, or free text)."""

    name: str
    kind: Kind
    help: str
    required: bool = True
    choices: tuple[str, ...] = ()
    many: bool = False

    @property
    def label(self) -> str:
        """``<name>``, ``[<name>]`` when optional, with ``...`` when it takes the rest of the words."""
        name = f"<{self.name}>" + ("..." if self.many else "")
        return name if self.required else f"[{name}]"


@dataclass(frozen=True)
class Flag:
    """A ``--name value`` (or ``--name`` for BOOL) option; ``default`` fills it when not given."""

    name: str
    kind: Kind
    help: str
    metavar: str = ""
    default: Value | None = None
    choices: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``--name METAVAR``, or just ``--name`` for a switch."""
        return f"--{self.name} {self.metavar}".rstrip()


@dataclass(frozen=True)
class OneOf:
    """Exactly one of these flags: they name alternative ways to say the same thing."""

    flags: tuple[str, ...]

    def problem(self, given: frozenset[str], args: Mapping[str, Value]) -> str | None:
        """Why the given flags break the rule, or None."""
        present = [f"--{f}" for f in self.flags if f in given]
        names = " or ".join(f"--{f}" for f in self.flags)
        if not present:
            return f"give one of {names}"
        if len(present) > 1:
            return f"{' and '.join(present)} cannot be used together; give one of {names}"
        return None


@dataclass(frozen=True)
class Requires:
    """A flag that only makes sense with another flag."""

    flag: str
    needs: str

    def problem(self, given: frozenset[str], args: Mapping[str, Value]) -> str | None:
        """Why the given flags break the rule, or None."""
        if self.flag in given and self.needs not in given:
            return f"--{self.flag} needs --{self.needs}"
        return None


@dataclass(frozen=True)
class WhenArg:
    """An argument whose value decides whether another (list) argument must or must not be given."""

    arg: str
    values: tuple[str, ...]
    other: str
    required: bool

    def problem(self, given: frozenset[str], args: Mapping[str, Value]) -> str | None:
        """Why the arguments break the rule, or None."""
        value = args.get(self.arg)
        if value not in self.values:
            return None
        if self.required and self.other not in args:
            return f"`{value}` needs at least one <{self.other}>"
        if not self.required and self.other in args:
            return f"`{value}` takes no <{self.other}>"
        return None


Rule = OneOf | Requires | WhenArg


@dataclass(frozen=True)
class Verb:
    """One /natlink verb: its words, who may run it and how the policy is asked, and its use case.

    ``resource`` finds what the policy judges before anything runs (or refuses: no such service);
    ``locate``, for verbs whose target only Azure can place (a VM's subscription), is the second
    phase of the same check, run by the worker. ``answer`` runs at once, before Slack's 3 seconds;
    ``run`` runs in a worker; a verb with ``run`` and no ``answer`` is queued as soon as it is
    allowed. ``audit_allowed`` is False for verbs that audit the change themselves once it is
    really made (a second click on Approve must not read as a second approval).
    """

    name: str
    summary: str
    usage: str
    who: str
    action: str
    payload: type[Payload]
    resource: Callable[[Context, Payload], Resource | Refusal]
    args: tuple[Arg, ...] = ()
    flags: tuple[Flag, ...] = ()
    rules: tuple[Rule, ...] = ()
    examples: tuple[str, ...] = ()
    action_by: tuple[str, tuple[tuple[str, str], ...]] | None = None
    answer: Callable[[Context, Payload], object] | None = None
    run: Run | None = None
    locate: Locate | None = None
    progress: bool = False
    audit_allowed: bool = True

    def flag(self, name: str) -> Flag | None:
        """The flag called ``name`` (without dashes), or None."""
        return next((f for f in self.flags if f.name == name), None)

    @property
    def usage_line(self) -> str:
        """The usage as shown to users, with the slash command in front."""
        return f"{SLASH} {self.usage}"

    @property
    def queued(self) -> bool:
        """Whether the verb's work goes to a worker (it needs Azure)."""
        return self.run is not None

    def action_for(self, payload: Payload) -> str:
        """The policy action a command asks for; ``owners list`` is a read, ``owners add`` is not.

        A value missing from ``action_by`` falls back to ``action``, the verb's most privileged
        action, so a new choice is never silently a read.
        """
        if self.action_by is None:
            return self.action
        field, table = self.action_by
        return dict(table).get(str(getattr(payload, field_name(field), None)), self.action)
