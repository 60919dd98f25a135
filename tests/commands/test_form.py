"""The request form's rules without Slack or Azure: options by policy, and a submission's checks."""

from __future__ import annotations

from cloud.errors import CloudError
from cloud.places import SUBNET, VM, Place, Places
from commands import form
from commands.context import Config, Context
from storage import audit, services
from tests.commands.test_handle import ADMIN, BOB, CAROL, TEAM_A, TEAM_B, db  # noqa: F401

CONFIG = Config(frozenset({ADMIN}), False, (TEAM_A, TEAM_B))


def _vm(sub: str, group: str, name: str) -> Place:
    vm_id = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/{name}"
    return Place(VM, vm_id, sub, group, name, "vnet", "default")


def _subnet(sub: str, group: str, vnet: str, name: str) -> Place:
    subnet_id = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{name}"
    return Place(SUBNET, subnet_id, sub, group, name, vnet, name)


PLACES = (
    _vm(TEAM_A, "rg-a", "VM-Win2019"),
    _vm(TEAM_A, "rg-a2", "twin"),
    _vm(TEAM_A, "rg-a3", "TWIN"),
    _vm(TEAM_B, "rg-b", "VM-Win2019-2"),
    _subnet(TEAM_A, "rg-a", "vnet-a", "default"),
    *(_vm(TEAM_A, "rg-many", f"vm-{i:03}") for i in range(150)),
)
CATALOG = form.Catalog(lambda: Places(PLACES, ()))


def _submit(db, actor: str, vm: Place | None = None, subnet: Place | None = None, reason: str = ""):  # noqa: F811
    submission = form.Submission(
        "rdp-vmb", form.key(vm) if vm else None, form.key(subnet) if subnet else None, reason
    )
    return form.judge(Context(db, CONFIG, actor), CATALOG, submission)


def test_options_are_what_the_grants_cover_at_most_a_hundred(db) -> None:  # noqa: F811
    bob = form.options(Context(db, CONFIG, BOB), CATALOG, VM, "")
    assert [g.subscription for g in bob] == [TEAM_A]
    assert sum(len(g.options) for g in bob) == form.MAX_OPTIONS
    assert form.options(Context(db, CONFIG, BOB), CATALOG, VM, "win2019-2") == []
    assert form.options(Context(db, CONFIG, CAROL), CATALOG, VM, "") == []
    admin = form.options(Context(db, CONFIG, ADMIN), CATALOG, VM, "win2019")
    assert {g.subscription for g in admin} == {TEAM_A, TEAM_B}
    assert all(len(text) <= form.LABEL_MAX and len(value) <= 150 for g in admin for text, value in g.options)


def test_a_submission_is_judged_before_the_form_closes(db) -> None:  # noqa: F811
    assert _submit(db, BOB, PLACES[0], reason="RDP") == (
        f"request rdp-vmb --vm VM-Win2019 --subscription {TEAM_A} --reason RDP"
    )
    assert _submit(db, BOB, subnet=PLACES[4]) == (
        f"request rdp-vmb --vnet vnet-a --subnet default --subscription {TEAM_A}"
    )
    assert "never guesses: pick the subnet" in _submit(db, BOB, PLACES[1])["vm"]
    assert "reason has a control character" in _submit(db, BOB, PLACES[0], reason="a\nb")["reason"]
    assert "at most 119 fit" in _submit(db, BOB, PLACES[0], reason="x" * 120)["reason"]
    assert set(_submit(db, BOB, PLACES[0], PLACES[4])) == {"vm"}  # one of the two
    denied = _submit(db, BOB, PLACES[3])["vm"]
    assert (
        "no request grant covering" in denied and f"@{ADMIN}" in denied
    )  # plain text: the form shows no mrkdwn
    assert [e.outcome for e in audit.list_entries(db) if e.actor == BOB] == ["denied"]


def test_opening_needs_a_grant_and_names_the_admins(db) -> None:  # noqa: F811
    assert form.may_open(Context(db, CONFIG, BOB), "rdp-vmb") is None
    refused = form.may_open(Context(db, CONFIG, CAROL), None)
    assert refused is not None and f"<@{ADMIN}>" in refused.reason
    assert [e.outcome for e in audit.list_entries(db) if e.actor == CAROL] == ["denied"]


def test_azure_unreadable_is_said_in_the_form(db) -> None:  # noqa: F811
    def fail() -> Places:
        raise CloudError("AuthorizationFailed", "no")

    failing = form.Catalog(fail)
    submission = form.Submission("rdp-vmb", "f" * 24, None, "")
    assert "could not read Azure" in form.judge(Context(db, CONFIG, BOB), failing, submission)["vm"]


def test_a_form_opening_warms_the_catalog_once() -> None:
    reads: list[int] = []
    catalog = form.Catalog(lambda: (reads.append(1), Places(PLACES, ()))[1])
    catalog.warm()
    assert catalog.places().places == PLACES  # waits for the warming read, and reads no second time
    assert reads == [1]


def test_the_service_is_needed_when_the_form_did_not_name_one(db) -> None:  # noqa: F811
    judged = form.judge(Context(db, CONFIG, BOB), CATALOG, form.Submission("", form.key(PLACES[0]), None, ""))
    assert judged == {"service": "Pick the service to reach."}


def test_only_services_the_person_could_request_are_offered_or_accepted(db) -> None:  # noqa: F811
    """A service visible to no subscription of the person's grants, or gone, is neither offered nor
    accepted; the error sits under the service's block and the refusal is audited."""
    stored = services.get_service(db, "rdp-vmb")
    services.upsert_service(
        db,
        **{k: getattr(stored, k) for k in ("subscription", "resource_group", "location", "created_by")},
        name="priv-x",
        pls_id=stored.pls_id.replace("rdp-vmb", "priv-x"),
        alias=stored.alias.replace("rdp-vmb", "priv-x"),
        details={"visibility": [TEAM_B]},
    )
    bob, admin = Context(db, CONFIG, BOB), Context(db, CONFIG, ADMIN)
    assert form.service_options(bob, "") == ["rdp-vmb"]
    assert form.service_options(admin, "") == ["priv-x", "rdp-vmb"]
    picked = form.Submission("priv-x", form.key(PLACES[0]), None, "")
    assert "not offered to subscription" in form.judge(bob, CATALOG, picked)["service"]
    services.mark_state(db, "rdp-vmb", "gone")
    assert form.service_options(bob, "") == []
    assert "no longer offered" in _submit(db, BOB, PLACES[0])["service"]
    assert [e.target for e in audit.list_entries(db) if e.actor == BOB] == ["rdp-vmb", "priv-x"]
