"""Who may do what: small pure rules that decide; enforcement (and audit) happen elsewhere.

``decide`` asks each rule in turn; a rule returns a ``Decision`` or ``None`` to abstain, and when
every rule abstains the answer is no. Every refusal names what is missing, because "denied" alone
sends people to ask an admin what they lack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .values import Scope

ACTIONS = frozenset(
    {
        "create", "request", "approve", "reject", "revoke", "delete", "share", "owners.add", "owners.remove",
        "grant", "ungrant", "subscribe", "unsubscribe", "audit", "read", "verify", "adopt", "forget", "page",
    }
)  # fmt: skip
OWNER_ACTIONS = frozenset(
    {
        "approve",
        "reject",
        "revoke",
        "delete",
        "share",
        "owners.add",
        "owners.remove",
        "subscribe",
        "unsubscribe",
        "forget",
    }
)
"""What owners may do for their own service. ``unsubscribe`` is here because ``subscribe`` is."""
ADMIN_ACTIONS = frozenset({"grant", "ungrant", "audit"})
GRANTED_ACTIONS = frozenset({"create", "request", "adopt"})
"""Actions allowed by a grant on the subscription (or resource group) they touch."""
GRANT_FOR = {"adopt": "create"}
"""The grant an action needs when it is not its own: adopting a service takes on what its creator
would own, so a ``create`` grant on the service's scope allows it."""


@dataclass(frozen=True)
class Actor:
    """Who asks: a Slack user id, and whether the caller already knows them to be an admin."""

    user_id: str
    is_admin: bool = False


@dataclass(frozen=True)
class Resource:
    """What the action is on: a service, the subscription/resource group touched, a request's requester."""

    service: str | None = None
    subscription: str | None = None
    resource_group: str | None = None
    requester: str | None = None
    asked_by: str | None = None
    """Who asked for a listing whose page or CSV a button asks for (``page``)."""
    located: bool = True
    """False before Azure says where a new resource lands (the first phase of ``create``/``request``)."""

    @property
    def scope(self) -> Scope | None:
        """Where in Azure the action lands, when known."""
        return Scope(self.subscription, self.resource_group) if self.subscription else None


@dataclass(frozen=True)
class Facts:
    """What storage and settings know: admins (NATLINK_ADMINS), the service (does it exist, its owners),
    the actor's grants."""

    admins: frozenset[str] = frozenset()
    service_exists: bool = False
    owners: frozenset[str] = frozenset()
    grants: frozenset[tuple[str, Scope]] = frozenset()
    allow_self_approval: bool = False
    service_active: bool = True
    """False once the service is gone from Azure (or was deleted): nothing may be requested from it."""
    visibility: frozenset[str] | None = None
    """The subscriptions (lower-case) Azure lets find the service by its alias, its own included;
    None when natlink does not know (an adopted service) or everyone may."""


@dataclass(frozen=True)
class Decision:
    """Allowed or not, and a sentence saying why, for the user and the audit.

    The reason is Slack mrkdwn: people are written as ``<@U123>`` so Slack renders their names.
    """

    allowed: bool
    reason: str


def _mentions(users: Iterable[str]) -> str:
    return ", ".join(f"<@{u}>" for u in sorted(users))


def _admins(facts: Facts) -> str:
    """The admins by name, so a refused person knows whom to ask."""
    return f"({_mentions(facts.admins)})" if facts.admins else "(none are set in NATLINK_ADMINS)"


def _ask_admins(facts: Facts) -> str:
    return f"ask an admin {_admins(facts)}"


def _self_approval(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """Four eyes: nobody, admins included, approves their own request unless the setting allows it."""
    if action == "approve" and resource.requester == actor.user_id and not facts.allow_self_approval:
        others = _mentions(facts.owners - {actor.user_id})
        who = f"another owner ({others}) or an admin" if others else f"an admin {_admins(facts)}"
        return Decision(False, f"you cannot approve your own request (self-approval is off): {who} must")
    return None


def _page(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """A listing's Previous/Next and Export CSV buttons: only for the person who asked for it, admins
    included. Its rows are worked out for that person (what they may see, ``--mine``), and a page
    edits the message everyone in the channel sees; anyone else types the command for their own."""
    if action != "page":
        return None
    if resource.asked_by == actor.user_id:
        return Decision(True, "you asked for this listing")
    who = f"<@{resource.asked_by}>" if resource.asked_by else "someone else"
    return Decision(False, f"this listing was asked for by {who}; type the command for a listing of your own")


def _admin(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """Admins may do everything that is an action at all."""
    if action in ACTIONS and (actor.is_admin or actor.user_id in facts.admins):
        return Decision(True, "you are an admin")
    return None


def _read(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """Status, map, list, pending and help show nothing secret inside the workspace."""
    return Decision(True, "everyone may read") if action == "read" else None


def _admin_only(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """Grants shape everyone's rights and the audit trail shows everyone's actions: admins only."""
    if action not in ADMIN_ACTIONS:
        return None
    return Decision(False, f"only admins may {action}; {_ask_admins(facts)}")


def _verify(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """Proving a link probes both teams' VMs: the requester of the link, or the service's owners."""
    if action != "verify":
        return None
    if resource.requester is not None and resource.requester == actor.user_id:
        return Decision(True, "you asked for this link")
    if actor.user_id in facts.owners:
        return Decision(True, f"you are an owner of {resource.service}")
    owners = f"owners: {_mentions(facts.owners)}" if facts.owners else "it has no owners"
    asker = "its requester, " if resource.requester else ""
    return Decision(False, f"only {asker}an owner of {resource.service} ({owners}) or an admin may verify it")


def _taken(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """A service name is one private link service for life: only its owners may create it again."""
    if action != "create" or not facts.service_exists or actor.user_id in facts.owners:
        return None
    who = _mentions(facts.owners) or "its owners"
    return Decision(False, f"*{resource.service}* already exists and belongs to {who}.")


def _owner(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """Owners run their own service: decisions on its requests, sharing, deleting, its owner list."""
    if action not in OWNER_ACTIONS:
        return None
    if resource.service is None:
        return Decision(False, f"only admins may {action} for every service; {_ask_admins(facts)}")
    if actor.user_id in facts.owners:
        return Decision(True, f"you are an owner of {resource.service}")
    if facts.owners:
        return Decision(
            False, f"you are not an owner of {resource.service}; its owners are {_mentions(facts.owners)}"
        )
    return Decision(
        False, f"you are not an owner of {resource.service}, which has none; {_ask_admins(facts)}"
    )


def visible(visibility: frozenset[str] | None, subscription: str) -> bool:
    """Whether ``subscription`` may find a service by alias, as natlink knows its visibility."""
    return visibility is None or subscription.lower() in visibility


def _requestable(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """A request to a service Azure would refuse fails later, in Azure's words: refuse it now, admins
    included. A gone service; or one not visible to the consumer subscription (before Azure places
    the consumer: to any subscription the actor's request grants name)."""
    if action != "request" or resource.service is None:
        return None
    if not facts.service_active:
        return Decision(
            False,
            f"*{resource.service}* is no longer offered (deleted, or gone from Azure); "
            "`/natlink list` shows the services you may request",
        )
    if resource.subscription is not None:
        wanted = {resource.subscription.lower()}
    elif actor.is_admin or actor.user_id in facts.admins:
        return None
    else:
        wanted = {scope.subscription.lower() for granted, scope in facts.grants if granted == action}
    if not wanted or any(visible(facts.visibility, sub) for sub in wanted):
        return None
    owners = f"its owners ({_mentions(facts.owners)})" if facts.owners else f"an admin {_admins(facts)}"
    where = (
        f"subscription {resource.subscription}"
        if resource.subscription
        else "the subscriptions you may request from"
    )
    return Decision(False, f"*{resource.service}* is not offered to {where}; {owners} can say who may see it")


def _granted(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision | None:
    """Creating a service or an endpoint spends Azure resources: it needs a grant covering where."""
    if action not in GRANTED_ACTIONS:
        return None
    action = GRANT_FOR.get(action, action)
    if not resource.located:
        held = any(granted_action == action for granted_action, _ in facts.grants)
        if held:
            return Decision(True, f"you hold a {action} grant; where it lands is checked once Azure says")
        return Decision(
            False,
            f"you hold no *{action}* grant; {_ask_admins(facts)}, who can give you one with `/natlink grant`",
        )
    target = resource.scope
    if target is None:
        return Decision(False, f"cannot check your {action} grant: the target subscription is not known")
    for granted_action, scope in sorted(facts.grants, key=str):
        if granted_action == action and scope.covers(target):
            return Decision(True, f"your {action} grant on {scope} covers {target}")
    return Decision(False, f"you have no {action} grant covering {target}; {_ask_admins(facts)} for one")


RULES: tuple[Callable[[Actor, str, Resource, Facts], Decision | None], ...] = (
    _self_approval,
    _requestable,
    _page,
    _admin,
    _read,
    _admin_only,
    _verify,
    _taken,
    _owner,
    _granted,
)
"""In order: the first rule that does not abstain decides."""


def decide(actor: Actor, action: str, resource: Resource, facts: Facts) -> Decision:
    """May ``actor`` do ``action`` on ``resource``? Default deny, always with a reason."""
    for rule in RULES:
        if (decision := rule(actor, action, resource, facts)) is not None:
            return decision
    return Decision(False, f"no rule allows `{action}`")
