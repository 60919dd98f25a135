"""natlink's custom roles: the JSON `az role definition create` takes, well-formed actions, each
with the step that needs it, and the hint that names the role for a missing action."""

from __future__ import annotations

import json
import re

import pytest

from bot.cli import main
from cloud import roles
from cloud.errors import hint_for
from tests.conftest import TEAM_A, TEAM_B

# <Namespace>/<type>[/<child type>…]/(read|write|delete|<name>/action): Azure's operation format.
ACTION = re.compile(r"^Microsoft\.[A-Za-z]+(/[A-Za-z]+)+/(read|write|delete|[A-Za-z]+/action)$")
AZ_KEYS = [
    "Name",
    "IsCustom",
    "Description",
    "Actions",
    "NotActions",
    "DataActions",
    "NotDataActions",
    "AssignableScopes",
]


@pytest.mark.parametrize("side", roles.SIDES)
def test_the_definition_is_what_az_role_definition_create_takes(side: str) -> None:
    scopes = [f"/subscriptions/{TEAM_A}", f"/subscriptions/{TEAM_B}"]
    role = json.loads(roles.render(side, scopes))
    assert list(role) == AZ_KEYS
    assert role["IsCustom"] is True and role["AssignableScopes"] == scopes
    assert role["NotActions"] == role["DataActions"] == role["NotDataActions"] == []
    assert role["Actions"] == sorted(set(role["Actions"]), key=str.lower), "sorted, no duplicates"
    assert not [a for a in role["Actions"] if "*" in a], "least privilege: no wildcards"


def test_every_action_is_well_formed_and_says_which_step_uses_it() -> None:
    for table in (roles.SWEEP, roles.PROVIDER, roles.CONSUMER, roles.VERIFY):
        for action, step in table.items():
            assert ACTION.match(action), action
            assert step.strip(), f"{action} says which natlink step uses it"


def test_no_action_is_listed_twice_in_one_role() -> None:
    for table in (roles.PROVIDER, roles.CONSUMER, roles.VERIFY):
        assert not {a.lower() for a in table} & {a.lower() for a in roles.SWEEP}
    everything = [a.lower() for t in (roles.SWEEP, roles.PROVIDER, roles.CONSUMER, roles.VERIFY) for a in t]
    shared = {a for a in everything if everything.count(a) > 1}
    assert shared == {"microsoft.network/virtualnetworks/subnets/join/action"}, (
        "only the subnet join is both sides'"
    )


def test_the_sides_split_the_work() -> None:
    provider, consumer = set(roles.actions("provider")), set(roles.actions("consumer"))
    assert "Microsoft.Network/privateLinkServices/write" in provider - consumer
    assert "Microsoft.Network/privateEndpoints/write" in consumer - provider
    assert set(roles.actions("all")) == provider | consumer
    assert "Microsoft.Insights/metrics/read" in provider & consumer
    assert not [a for a in roles.actions("all") if "networkWatchers" in a], "verify's rights only when asked"
    assert set(roles.actions("consumer", verify=True)) - consumer == set(roles.VERIFY)


def test_natlink_role_prints_it(capsys, monkeypatch) -> None:
    monkeypatch.setenv("NATLINK_SUBSCRIPTIONS", f"{TEAM_A},{TEAM_B}")
    assert main(["role", "--side", "consumer"]) == 0
    role = json.loads(capsys.readouterr().out)
    assert role["Name"] == "natlink consumer"
    assert role["AssignableScopes"] == [f"/subscriptions/{TEAM_A}", f"/subscriptions/{TEAM_B}"]
    assert (
        main(["role", "--scope", f"/subscriptions/{TEAM_B}/resourceGroups/rg-team-b", "--with-verify"]) == 0
    )
    role = json.loads(capsys.readouterr().out)
    assert (
        role["Name"] == "natlink (with verify)"
        and "Microsoft.Network/networkWatchers/read" in role["Actions"]
    )


def test_natlink_role_needs_a_scope(capsys, monkeypatch) -> None:
    monkeypatch.delenv("NATLINK_SUBSCRIPTIONS", raising=False)
    assert main(["role"]) == 2
    assert "--scope /subscriptions/<id>" in capsys.readouterr().err
    assert main(["role", "--scope", "rg-team-b"]) == 2


def test_the_hint_names_the_missing_action_and_the_role() -> None:
    message = (
        "The client 'c' with object id 'c' does not have authorization to perform action "
        "'Microsoft.Network/privateLinkServices/privateEndpointConnections/write' over scope '/subscriptions/s/x' "
        "or the scope is invalid. If access was recently granted, please refresh your credentials."
    )
    hint = hint_for("AuthorizationFailed", message, None)
    assert "'Microsoft.Network/privateLinkServices/privateEndpointConnections/write'" in hint
    assert "grant the natlink provider role: `natlink role --side provider`" in hint


def test_a_join_is_put_on_the_side_of_the_write_it_was_for() -> None:
    message = (
        "The client 'c' with object id 'c' has permission to perform action 'Microsoft.Network/privateEndpoints/write' "
        "on scope '/x/pe'; however, it does not have permission to perform action "
        "'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) '/x/subnet' or the linked "
        "scope(s) are invalid."
    )
    hint = hint_for("LinkedAuthorizationFailed", message, None)
    assert hint.endswith("grant the natlink consumer role: `natlink role --side consumer`.")
    assert "'/x/subnet'" in hint


def test_an_action_natlink_never_uses_keeps_the_codes_own_hint() -> None:
    message = "... does not have authorization to perform action 'Microsoft.Storage/storageAccounts/write' over scope '/s'"
    assert hint_for("AuthorizationFailed", message, None).startswith("Assign the natlink identity")
