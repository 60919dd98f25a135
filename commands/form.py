"""The request form: who may open it, what its pickers offer, and what is wrong with a submission.

The pickers offer the places (VMs, subnets) of every subscription natlink manages, each with its
subscription, so a VNet name shared by two subscriptions is no longer a dead end; and only those
the person's ``request`` grants cover, judged by the same policy as the command. A submission is
checked before the form closes (place still there and unambiguous, rights, the reason's rule from
``validate``) so a mistake is shown in the form instead of failing later in the channel; what
passes becomes the ``request`` command and takes the command's path.
"""

from __future__ import annotations

import contextlib
import hashlib
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cloud.errors import CloudError
from cloud.places import SUBNET, VM, Place, Places
from storage import requests, services

from .context import Context
from .enforce import authorize, facts, offered_to, request_subscriptions
from .escapes import escape
from .policy import Actor, Resource, decide
from .replies import Refusal
from .validate import InvalidValue, reason

MAX_OPTIONS = 100
"""Slack shows at most 100 options of an external select (Block Kit: select menus)."""
LABEL_MAX = 75
"""An option's text, and an option group's label, at most 75 characters (Block Kit: option object)."""
FRESH_SECONDS = 30.0
"""How long one read of the places answers the pickers: typing sends an options load per keystroke,
and each must be answered within 3 seconds."""


class Unavailable(Exception):
    """Azure could not be read for the places; the text says why, for the form and the log."""


class Catalog:
    """The places, read at most every ``FRESH_SECONDS`` and shared by every listener thread; a
    caller that finds it stale reads once while the others wait for that read."""

    def __init__(self, read: Callable[[], Places], fresh_seconds: float = FRESH_SECONDS) -> None:
        self._read, self._fresh = read, fresh_seconds
        self._lock = threading.Lock()
        self._value: Places | None = None
        self._at = 0.0

    def places(self) -> Places:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > self._fresh:
                try:
                    self._value, self._at = self._read(), time.monotonic()
                except CloudError as error:
                    raise Unavailable(
                        f"natlink could not read Azure just now ({error.code}); try again."
                    ) from error
            return self._value

    def warm(self) -> None:
        """Read in the background when stale, as a form opens: its first options load (which Slack
        sends as the picker opens) then finds the places read. A failure is met again, and said,
        by the loads and the submission."""
        threading.Thread(target=self._quietly, name="natlink-places", daemon=True).start()

    def _quietly(self) -> None:
        with contextlib.suppress(Unavailable):
            self.places()


def key(place: Place) -> str:
    """An option's value: short (Slack allows 150 characters; IDs run longer) and stable across reads."""
    return hashlib.sha256(place.id.lower().encode()).hexdigest()[:24]


def label(place: Place) -> str:
    where = f"{place.vnet}/{place.subnet}"
    text = (
        f"{place.name} ({place.resource_group}, {where})"
        if place.kind == VM
        else f"{where} ({place.resource_group})"
    )
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


@dataclass(frozen=True)
class Group:
    """The options of one subscription."""

    subscription: str
    options: tuple[tuple[str, str], ...]  # (text, value)


def options(ctx: Context, catalog: Catalog, kind: str, typed: str) -> list[Group]:
    """The VMs or subnets matching ``typed`` that the person may request from, by subscription,
    at most ``MAX_OPTIONS`` in all. Listing is not a decision on anything, so it is not audited."""
    held = facts(ctx, None)
    actor = Actor(ctx.actor, ctx.is_admin)
    wanted = typed.strip().lower()
    groups: dict[str, list[tuple[str, str]]] = {}
    shown = 0
    for place in sorted(catalog.places().places, key=lambda p: (p.subscription, label(p).lower())):
        if shown == MAX_OPTIONS:
            break
        if place.kind != kind or wanted not in label(place).lower():
            continue
        if decide(actor, "request", _where(None, place), held).allowed:
            groups.setdefault(place.subscription, []).append((label(place), key(place)))
            shown += 1
    return [Group(sub, tuple(found)) for sub, found in groups.items()]


def service_options(ctx: Context, typed: str) -> list[str]:
    """The active services whose name contains ``typed`` and that a subscription the person may
    request from can find (``visibility``), for the form opened without one: one the person could
    not request is not offered."""
    wanted = typed.strip().lower()
    mine = request_subscriptions(ctx)
    names = sorted(
        s.name
        for s in services.list_services(ctx.db, state="active")
        if wanted in s.name and offered_to(s, mine)
    )
    return names[:MAX_OPTIONS]


def service_about(ctx: Context, kind: str, value: str) -> str | Refusal:
    """The service a natlink message is about: named by it (a share card), or through its request
    (an approval card). A service or request natlink no longer knows is said so."""
    if kind == "request":
        found = requests.get_request(ctx.db, value)
        if found is None:
            return Refusal(f"natlink no longer knows request `{escape(value)}`.")
        value = found.service
    service = services.get_service(ctx.db, value)
    if service is None or service.state != "active":
        return Refusal(
            f"*{escape(value)}* is no longer a service natlink offers.", hint="`/natlink list` shows them."
        )
    return service.name


def may_open(ctx: Context, service: str | None) -> Refusal | None:
    """Refuse the form to someone who could not submit it: no ``request`` grant anywhere (the
    refusal names the admins, and is audited as every denial is)."""
    decision = authorize(ctx, "request", Resource(service=service, located=False))
    return None if decision.allowed else Refusal(decision.reason)


@dataclass(frozen=True)
class Submission:
    """What the form holds: the service, the picked VM or subnet (option values), the reason."""

    service: str
    vm: str | None
    subnet: str | None
    reason: str


def judge(ctx: Context, catalog: Catalog, form: Submission) -> dict[str, str] | str:
    """Errors by input block (``service``, ``vm``, ``subnet``, ``reason``; mrkdwn, which the bot
    makes plain), or the ``request`` command the submission stands for. A refused right is audited
    (``authorize``); an allowed one is audited by the command's own second check, in the worker."""
    errors: dict[str, str] = {} if form.service else {"service": "Pick the service to reach."}
    why = ""
    try:
        why = reason(form.reason) if form.reason else ""
    except InvalidValue as error:
        errors["reason"] = str(error)
    if bool(form.vm) == bool(form.subnet):
        errors["vm"] = "Pick your VM, or else a subnet below (one of the two)."
        return errors
    kind, block = (VM, "vm") if form.vm else (SUBNET, "subnet")
    place, problem = _find(catalog, kind, str(form.vm or form.subnet))
    if place is None:
        return errors | {block: problem}
    if form.service:
        offered = authorize(ctx, "request", _where(form.service, place, located=False), audit_allowed=False)
        if not offered.allowed:
            return errors | {"service": offered.reason}
    decision = authorize(ctx, "request", _where(form.service or None, place), audit_allowed=False)
    if not decision.allowed:
        return errors | {block: decision.reason}
    if errors:
        return errors
    words = ["request", form.service]
    if kind == VM:
        words += ["--vm", place.name, "--subscription", place.subscription]
    else:
        words += ["--vnet", place.vnet, "--subnet", place.subnet, "--subscription", place.subscription]
    if why:
        words += ["--reason", why]
    return " ".join(shlex.quote(w) for w in words)


def _find(catalog: Catalog, kind: str, value: str) -> tuple[Place | None, str]:
    """The picked place, or why it cannot be used: gone since it was offered, or a VM whose name
    its subscription holds twice (natlink finds VMs by name, and never guesses between two)."""
    try:
        every = catalog.places().places
    except Unavailable as error:
        return None, str(error)
    place = next((p for p in every if p.kind == kind and key(p) == value), None)
    if place is None:
        return (
            None,
            f"That {'VM' if kind == VM else 'subnet'} is no longer in Azure as natlink reads it; pick again.",
        )
    if kind == VM:
        twins = [
            p
            for p in every
            if p.kind == VM and p.subscription == place.subscription and p.name.lower() == place.name.lower()
        ]
        if len(twins) > 1:
            groups = ", ".join(sorted(p.resource_group for p in twins))
            return None, (
                f"{len(twins)} VMs are called {place.name} in its subscription ({groups}), and natlink "
                "never guesses: pick the subnet instead."
            )
    return place, ""


def _where(service: str | None, place: Place, *, located: bool = True) -> Resource:
    """The policy's resource for a request from ``place``; not ``located``, it judges the service
    (gone, or not visible to the place's subscription) and that a grant is held, not where."""
    return Resource(
        service=service, subscription=place.subscription, resource_group=place.resource_group, located=located
    )
