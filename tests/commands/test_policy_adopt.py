"""The policy for adopt and forget: adopting takes a create grant covering the service's scope,
forgetting is for the service's owners, and admins may do both."""

from __future__ import annotations

import pytest

from commands.policy import Actor, Facts, Resource, decide
from commands.values import Scope

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"
ADMIN, OWNER, GRANTED, OTHER = "UADMIN", "UOWNER", "UGRANTED", "UOTHER"
ORDERS = Resource(service="orders-api", subscription=SUB_B, resource_group="rg-orders")
BEFORE_AZURE = Resource(service="orders-api", located=False)


def facts(*grants: tuple[str, Scope], owners: frozenset[str] = frozenset()) -> Facts:
    return Facts(admins=frozenset({ADMIN}), owners=owners, grants=frozenset(grants))


@pytest.mark.parametrize(
    ("actor", "resource", "held", "allowed", "reason"),
    [
        (ADMIN, ORDERS, facts(), True, "you are an admin"),
        (GRANTED, ORDERS, facts(("create", Scope(SUB_B))), True, f"your create grant on {SUB_B} covers {SUB_B}/rg-orders"),
        (GRANTED, ORDERS, facts(("create", Scope(SUB_B, "rg-orders"))), True, f"your create grant on {SUB_B}/rg-orders covers {SUB_B}/rg-orders"),
        (GRANTED, ORDERS, facts(("create", Scope(SUB_B, "rg-team-b"))), False, f"you have no create grant covering {SUB_B}/rg-orders; ask an admin (<@UADMIN>) for one"),
        (GRANTED, ORDERS, facts(("create", Scope(SUB_A))), False, f"you have no create grant covering {SUB_B}/rg-orders; ask an admin (<@UADMIN>) for one"),
        (GRANTED, ORDERS, facts(("request", Scope(SUB_B))), False, f"you have no create grant covering {SUB_B}/rg-orders; ask an admin (<@UADMIN>) for one"),
        (OTHER, ORDERS, facts(), False, f"you have no create grant covering {SUB_B}/rg-orders; ask an admin (<@UADMIN>) for one"),
        # Before Azure is read (the first phase): any create grant lets the worker look.
        (GRANTED, BEFORE_AZURE, facts(("create", Scope(SUB_A))), True, "you hold a create grant; where it lands is checked once Azure says"),
        (OTHER, BEFORE_AZURE, facts(("request", Scope(SUB_B))), False, "you hold no *create* grant; ask an admin (<@UADMIN>), who can give you one with `/natlink grant`"),
    ],
)  # fmt: skip
def test_adopt_needs_a_create_grant_on_the_services_scope(
    actor: str, resource: Resource, held: Facts, allowed: bool, reason: str
) -> None:
    decision = decide(Actor(actor), "adopt", resource, held)
    assert (decision.allowed, decision.reason) == (allowed, reason)


@pytest.mark.parametrize(
    ("actor", "allowed", "reason"),
    [
        (ADMIN, True, "you are an admin"),
        (OWNER, True, "you are an owner of orders-api"),
        (GRANTED, False, "you are not an owner of orders-api; its owners are <@UOWNER>"),
    ],
)
def test_forget_is_for_owners_and_admins(actor: str, allowed: bool, reason: str) -> None:
    held = facts(("create", Scope(SUB_B)), owners=frozenset({OWNER}))
    decision = decide(Actor(actor), "forget", Resource(service="orders-api"), held)
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_a_create_grant_does_not_allow_forgetting_every_service() -> None:
    decision = decide(Actor(GRANTED), "forget", Resource(), facts(("create", Scope(SUB_B))))
    assert (decision.allowed, decision.reason) == (
        False,
        "only admins may forget for every service; ask an admin (<@UADMIN>)",
    )
