"""The policy table: each rule, its reasons, and the default deny."""

from __future__ import annotations

from dataclasses import replace

import pytest

from commands.policy import ACTIONS, Actor, Decision, Facts, Resource, decide
from commands.values import Scope

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"
ADMIN, OWNER, OTHER, REQUESTER = "UADMIN", "UOWNER", "UOTHER", "UREQ"
SVC = Resource(service="rdp-vmb", requester=REQUESTER)
FACTS = Facts(admins=frozenset({ADMIN}), owners=frozenset({OWNER, "UOWNER2"}))
GRANTS = Facts(
    admins=frozenset({ADMIN}),
    grants=frozenset({("create", Scope(SUB_B, "rg-team-b")), ("request", Scope(SUB_A))}),
)
ONLY_B = frozenset({SUB_B})
NOT_OWNER = "you are not an owner of rdp-vmb; its owners are <@UOWNER>, <@UOWNER2>"

# (actor, action, resource, facts, allowed, reason)
TABLE: list[tuple[str, str, Resource, Facts, bool, str]] = [
    # Admins may do everything, by NATLINK_ADMINS or as the caller already knows.
    *[(ADMIN, a, SVC, FACTS, True, "you are an admin") for a in sorted(ACTIONS - {"page"})],
    # A listing's buttons are for whoever asked for it, admins too: its rows are worked out for them.
    (OTHER, "page", Resource(asked_by=OTHER), Facts(), True, "you asked for this listing"),
    (
        ADMIN,
        "page",
        Resource(asked_by=OTHER),
        FACTS,
        False,
        f"this listing was asked for by <@{OTHER}>; type the command for a listing of your own",
    ),
    # Read verbs are for everyone.
    (OTHER, "read", Resource(), Facts(), True, "everyone may read"),
    # Owners run their own service...
    *[
        (OWNER, a, SVC, FACTS, True, "you are an owner of rdp-vmb")
        for a in ["approve", "reject", "revoke", "delete", "share", "owners.add", "owners.remove", "subscribe", "unsubscribe"]
    ],
    # ...and nobody else does.
    *[
        (OTHER, a, SVC, FACTS, False, NOT_OWNER)
        for a in ["approve", "reject", "revoke", "delete", "share", "owners.add", "owners.remove", "subscribe", "unsubscribe"]
    ],
    (OTHER, "delete", SVC, Facts(), False, "you are not an owner of rdp-vmb, which has none; ask an admin (none are set in NATLINK_ADMINS)"),
    (OWNER, "subscribe", Resource(), FACTS, False, "only admins may subscribe for every service; ask an admin (<@UADMIN>)"),
    # Grants, audit: admins only, and the reason says who the admins are.
    (OWNER, "grant", SVC, FACTS, False, "only admins may grant; ask an admin (<@UADMIN>)"),
    (OWNER, "ungrant", SVC, FACTS, False, "only admins may ungrant; ask an admin (<@UADMIN>)"),
    (OWNER, "audit", SVC, FACTS, False, "only admins may audit; ask an admin (<@UADMIN>)"),
    (OTHER, "grant", SVC, Facts(), False, "only admins may grant; ask an admin (none are set in NATLINK_ADMINS)"),
    # Self-approval: refused even to owners and admins, unless allowed.
    (REQUESTER, "approve", SVC, Facts(owners=frozenset({REQUESTER})), False,
     "you cannot approve your own request (self-approval is off): an admin (none are set in NATLINK_ADMINS) must"),
    (REQUESTER, "approve", SVC, Facts(admins=frozenset({REQUESTER})), False,
     "you cannot approve your own request (self-approval is off): an admin (<@UREQ>) must"),
    (REQUESTER, "approve", SVC, Facts(owners=frozenset({REQUESTER}), allow_self_approval=True), True,
     "you are an owner of rdp-vmb"),
    (REQUESTER, "reject", SVC, Facts(owners=frozenset({REQUESTER})), True, "you are an owner of rdp-vmb"),
    # Create needs a create grant covering the target; a subscription grant covers its resource groups.
    (OTHER, "create", Resource(subscription=SUB_B, resource_group="RG-Team-B"), GRANTS, True,
     f"your create grant on {SUB_B}/rg-team-b covers {SUB_B}/RG-Team-B"),
    (OTHER, "create", Resource(subscription=SUB_B, resource_group="rg-other"), GRANTS, False,
     f"you have no create grant covering {SUB_B}/rg-other; ask an admin (<@UADMIN>) for one"),
    (OTHER, "create", Resource(subscription=SUB_B), GRANTS, False,
     f"you have no create grant covering {SUB_B}; ask an admin (<@UADMIN>) for one"),
    (OTHER, "create", Resource(subscription=SUB_A, resource_group="rg-team-a"), GRANTS, False,
     f"you have no create grant covering {SUB_A}/rg-team-a; ask an admin (<@UADMIN>) for one"),
    (OTHER, "create", Resource(), GRANTS, False, "cannot check your create grant: the target subscription is not known"),
    # Request needs a request grant covering the consumer side.
    (OTHER, "request", Resource(subscription=SUB_A, resource_group="rg-team-a"), GRANTS, True,
     f"your request grant on {SUB_A} covers {SUB_A}/rg-team-a"),
    (OTHER, "request", Resource(subscription=SUB_B, resource_group="rg-team-b"), GRANTS, False,
     f"you have no request grant covering {SUB_B}/rg-team-b; ask an admin (<@UADMIN>) for one"),
    (OWNER, "request", Resource(service="rdp-vmb", subscription=SUB_A), FACTS, False,
     f"you have no request grant covering {SUB_A}; ask an admin (<@UADMIN>) for one"),
    # A service Azure would refuse is refused first, admins included: gone, or not visible there.
    *[
        (who, "request", Resource(service="rdp-vmb", subscription=SUB_A), replace(GRANTS, service_active=False), False,
         "*rdp-vmb* is no longer offered (deleted, or gone from Azure); `/natlink list` shows the services you may request")
        for who in (OTHER, ADMIN)
    ],
    (OTHER, "request", Resource(service="x", located=False), replace(GRANTS, visibility=ONLY_B), False,
     "*x* is not offered to the subscriptions you may request from; an admin (<@UADMIN>) can say who may see it"),
    (ADMIN, "request", Resource(service="x", subscription=SUB_A), replace(FACTS, visibility=ONLY_B), False,
     f"*x* is not offered to subscription {SUB_A}; its owners (<@UOWNER>, <@UOWNER2>) can say who may see it"),
    (ADMIN, "request", Resource(service="x", located=False), replace(FACTS, visibility=ONLY_B), True, "you are an admin"),
    (OTHER, "request", Resource(service="x", subscription=SUB_A), replace(GRANTS, visibility=ONLY_B | {SUB_A}), True,
     f"your request grant on {SUB_A} covers {SUB_A}"),
    (OTHER, "request", Resource(service="x", located=False), replace(GRANTS, visibility=None), True,
     "you hold a request grant; where it lands is checked once Azure says"),
    # Default deny: anything no rule speaks for, even for admins.
    (OTHER, "rename", SVC, FACTS, False, "no rule allows `rename`"),
    (ADMIN, "drop-tables", SVC, FACTS, False, "no rule allows `drop-tables`"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("actor", "action", "resource", "facts", "allowed", "reason"),
    TABLE,
    ids=[f"{row[0]}-{row[1]}-{i}" for i, row in enumerate(TABLE)],
)
def test_policy(
    actor: str, action: str, resource: Resource, facts: Facts, allowed: bool, reason: str
) -> None:
    assert decide(Actor(actor), action, resource, facts) == Decision(allowed, reason)


def test_admin_flag_on_the_actor_counts_too() -> None:
    assert decide(Actor(OTHER, is_admin=True), "grant", SVC, Facts()) == Decision(True, "you are an admin")


def test_every_action_is_decided_by_a_rule_not_by_the_default() -> None:
    for action in ACTIONS:
        decision = decide(Actor(OTHER), action, SVC, FACTS)
        assert not decision.reason.startswith("no rule allows"), action


def test_every_verb_maps_to_a_known_action() -> None:
    from commands.verbs import VERBS

    for verb in VERBS.values():
        actions = [verb.action, *(a for _, a in (verb.action_by[1] if verb.action_by else ()))]
        assert set(actions) <= ACTIONS, verb.name
