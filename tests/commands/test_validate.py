"""Value checks at their edges: the limits are exact and every refusal says what is wrong."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

from commands import escapes
from commands import validate as v
from commands.values import STAR, Alias, Channel, Scope, User

GUID = "2f0e9a36-6c5d-4a2b-9d7e-1b2c3d4e5f60"
SUB = "11111111-1111-1111-1111-111111111111"


@pytest.mark.parametrize("name", ["a", "A1", "VM-Win2019-2", "vm_", "a.b-c_d", "x" * 80, "9"])
def test_azure_names_accepted(name: str) -> None:
    assert v.azure_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name is empty"),
        ("x" * 81, "name is 81 characters; Azure allows at most 80"),
        ("vm 1", "name `vm 1` has ` `; use letters, digits, `_`, `.` and `-`"),
        ("v/m", "name `v/m` has `/`; use letters, digits, `_`, `.` and `-`"),
        ("_vm", "name `_vm` must start with a letter or digit"),
        ("vm-", "name `vm-` must end with a letter, digit or `_`"),
        ("vm.", "name `vm.` must end with a letter, digit or `_`"),
        ("<@U1|a>", "expected an Azure name, got a user mention (@a)"),
    ],
)
def test_azure_names_refused(name: str, message: str) -> None:
    with pytest.raises(v.InvalidValue) as caught:
        v.azure_name(name)
    assert str(caught.value) == message


@pytest.mark.parametrize("name", ["abc", "rdp-vmb", "a1b", "a--b", "a" * 40])
def test_service_names_accepted(name: str) -> None:
    assert v.service(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ab", "service name `ab` is 2 characters; use 3 to 40"),
        ("a" * 41, "service name `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…` is 41 characters; use 3 to 40"),
        ("Rdp", "service names are lower-case: try `rdp`"),
        ("rdp.vmb", "service name `rdp.vmb` has `.`; use a-z, 0-9 and `-`"),
        ("Rdp_x", "service name `Rdp_x` has `R_`; use a-z, 0-9 and `-`"),
        ("-rdp", "service name `-rdp` must start with a letter"),
        ("9rdp", "service name `9rdp` must start with a letter"),
        ("rdp-", "service name `rdp-` must end with a letter or digit"),
    ],
)
def test_service_names_refused(name: str, message: str) -> None:
    with pytest.raises(v.InvalidValue) as caught:
        v.service(name)
    assert str(caught.value) == message


def test_ports_edges() -> None:
    assert v.ports("1,65535") == (1, 65535)
    assert v.ports("080") == (80,)
    assert v.ports("80, 443") == (80, 443)
    assert v.ports(",".join(str(p) for p in range(1, 9))) == tuple(range(1, 9))
    for bad in ["65536", "+80", "\uff18\uff10", "\u00b2", "123456", "1.5"]:
        with pytest.raises(v.InvalidValue):
            v.ports(bad)


def test_nat_ip_count_edges() -> None:
    assert v.nat_ips("1") == 1
    assert v.nat_ips("8") == 8
    with pytest.raises(v.InvalidValue, match=r"NAT IP count 0 is out of range 1-8"):
        v.nat_ips("0")


def test_subscriptions_are_normalised_to_lower_case() -> None:
    assert v.subscription(SUB.upper().replace("1", "A")) == SUB.replace("1", "a")
    assert v.subscriptions_or_star("*") == (STAR,)
    assert v.subscriptions(f"{SUB},{SUB.replace('1', '2')}") == (SUB, SUB.replace("1", "2"))
    with pytest.raises(v.InvalidValue, match=f"subscription {SUB} is listed twice"):
        v.subscriptions(f"{SUB},{SUB.upper()}")
    with pytest.raises(v.InvalidValue, match="is not a GUID"):
        v.subscription("{" + SUB + "}")


def test_scopes() -> None:
    assert v.scope(SUB) == Scope(SUB)
    assert v.scope(f"{SUB}/rg-Team_B.(x)") == Scope(SUB, "rg-Team_B.(x)")
    assert v.scope(f"{SUB}/" + "r" * 90).resource_group == "r" * 90
    for bad, message in [
        (f"{SUB}/", "resource group is empty"),
        (f"{SUB}/" + "r" * 91, "resource group is 91 characters; Azure allows at most 90"),
        (f"{SUB}/rg.", "resource group `rg.` must not end with `.`"),
        (f"{SUB}/rg x", "resource group `rg x` has ` `; use letters, digits and `_-.()`"),
        ("*", "`*` is not allowed here; give one subscription id"),
    ]:
        with pytest.raises(v.InvalidValue) as caught:
            v.scope(bad)
        assert str(caught.value) == message


def test_scope_coverage() -> None:
    whole = Scope(SUB)
    group = Scope(SUB, "rg-team-b")
    assert whole.covers(group)
    assert whole.covers(whole)
    assert group.covers(Scope(SUB.upper(), "RG-Team-B"))
    assert not group.covers(whole)
    assert not group.covers(Scope(SUB, "rg-other"))
    assert not whole.covers(Scope(SUB.replace("1", "2")))
    assert str(group) == f"{SUB}/rg-team-b"


def test_aliases() -> None:
    text = f"rdp-vmb.{GUID.upper()}.JapanEast.azure.privatelinkservice"
    assert v.alias(text) == Alias(text, "rdp-vmb", GUID, "japaneast")
    assert v.target(text) == Alias(text, "rdp-vmb", GUID, "japaneast")
    assert v.target("rdp-vmb") == "rdp-vmb"
    for bad in [
        f"rdp.{GUID}.azure.privatelinkservice",
        f"rdp.{GUID[:-1]}x.japaneast.azure.privatelinkservice",
        f"-rdp.{GUID}.japaneast.azure.privatelinkservice",
        f".{GUID}.japaneast.azure.privatelinkservice",
    ]:
        with pytest.raises(v.InvalidValue):
            v.target(bad)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5m", timedelta(minutes=5)),
        ("12h", timedelta(hours=12)),
        ("7D", timedelta(days=7)),
        ("365d", timedelta(days=365)),
    ],
)
def test_durations_accepted(text: str, value: timedelta) -> None:
    assert v.duration(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4m", "duration 4m is out of range 5m-365d"),
        ("366d", "duration 366d is out of range 5m-365d"),
        ("8761h", "duration 8761h is out of range 5m-365d"),
        ("999999d", "duration 999999d is out of range 5m-365d"),
        ("99999999999d", "duration `99999999999d` is not like `30m`, `12h` or `7d`"),
        ("1w", "duration `1w` is not like `30m`, `12h` or `7d`"),
        ("1d12h", "duration `1d12h` is not like `30m`, `12h` or `7d`"),
        ("d", "duration `d` is not like `30m`, `12h` or `7d`"),
    ],
)
def test_durations_refused(text: str, message: str) -> None:
    with pytest.raises(v.InvalidValue) as caught:
        v.duration(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("rid", ["r-abcdef", "r-Ab3x9Q_k", "r-" + "Z" * 10, "r--_-_-_"])
def test_request_ids_accepted(rid: str) -> None:
    assert v.request_id(rid) == rid


@pytest.mark.parametrize(
    "rid", ["r-abcde", "r-" + "Z" * 11, "R-abcdef", "r-abc def", "r-abc.def", "abcdefgh"]
)
def test_request_ids_refused(rid: str) -> None:
    with pytest.raises(v.InvalidValue, match="is not a request id"):
        v.request_id(rid)


def test_reason_budget_is_azures_limit_minus_the_token() -> None:
    longest_token = v.TOKEN_PREFIX + "r-" + "x" * v.REQUEST_ID_MAX
    assert v.TOKEN_MAX == len(longest_token) == 20
    assert v.REASON_MAX == 119
    message = "y" * v.REASON_MAX + " " + longest_token
    assert len(message) == v.REQUEST_MESSAGE_MAX
    assert v.reason("y" * 119) == "y" * 119
    with pytest.raises(v.InvalidValue, match=r"^reason is 120 characters; at most 119 fit"):
        v.reason("y" * 120)


def test_reason_counts_what_azure_will_see() -> None:
    # Entities count once, mentions as their readable name, surrounding spaces not at all.
    assert v.reason("  &amp;" + "y" * 118 + "  ") == "&" + "y" * 118
    assert len(v.reason("<@U0123456789|bob>")) == len("@bob")
    with pytest.raises(v.InvalidValue, match="control character"):
        v.reason("two\nlines")


def test_users_and_channels_must_be_what_they_say() -> None:
    assert v.user("<@U02BOB|bob>") == User("U02BOB", "bob")
    assert v.users("<@U1ABC>,<@W2ABC|w>") == (User("U1ABC"), User("W2ABC", "w"))
    assert v.channel("<#C01|team-a>") == Channel("C01", "team-a")
    assert v.channel("<#G01>") == Channel("G01")
    for bad, message in [
        ("<#C01|team-a>", "expected a user mention (@someone), got a channel (#team-a)"),
        ("<!here>", "expected a user mention (@someone), got a special mention (@here)"),
        ("<!subteam^S1|@oncall>", "expected a user mention (@someone), got a special mention (@oncall)"),
        ("<https://x.example>", "expected a user mention (@someone), got a link"),
        ("@bob", "`@bob` is not a Slack mention; pick the user from Slack's @ list"),
        ("<@u1abc>", "expected a user mention (@someone), got `<@u1abc>`"),
    ]:
        with pytest.raises(v.InvalidValue) as caught:
            v.user(bad)
        assert str(caught.value) == message
    with pytest.raises(v.InvalidValue, match=r"^`#team-a` is not a Slack channel link"):
        v.channel("#team-a")
    with pytest.raises(v.InvalidValue, match=r"got a user mention \(@bob\)"):
        v.channel("<@U02BOB|bob>")


def test_escapes() -> None:
    assert escapes.unescape("a &lt;b&gt; &amp;amp;") == "a <b> &amp;"
    assert escapes.unescape(escapes.escape("<@U1> &lt; & >")) == "<@U1> &lt; & >"
    assert escapes.user("<@U1ABC|a&amp;b>") == User("U1ABC", "a&b")
    assert escapes.user("x<@U1ABC>") is None
    assert escapes.describe("plain") is None
    assert escapes.plain("<!here> <mailto:a@b.example|a>") == "@here mailto:a@b.example"


def test_choice_suggests_the_closest() -> None:
    assert v.choice("ALL", ("all", "problems")) == "all"
    with pytest.raises(v.InvalidValue, match="did you mean `problems`"):
        v.choice("problem", ("all", "problems"))


def test_every_kind_has_a_check() -> None:
    for kind in v.Kind:
        with contextlib.suppress(v.InvalidValue):
            v.check(kind, "x", ("x",))


@pytest.mark.parametrize("length", [2, 64])
def test_endpoint_names_within_azures_2_to_64(length: int) -> None:
    name = "p" + "e" * (length - 1)
    assert v.endpoint_name(name) == name


@pytest.mark.parametrize("name", ["p", "p" * 65, "p" * 70])
def test_endpoint_names_outside_azures_2_to_64_are_refused_before_azure(name: str) -> None:
    with pytest.raises(v.InvalidValue, match=r"Azure allows 2 to 64 for a private endpoint"):
        v.endpoint_name(name)


def test_every_generated_endpoint_name_obeys_azures_rule() -> None:
    from commands.usecases.request import _endpoint_name

    for where in ("VM-Win2019", "x" * 200, "vnet.-", "a_b-c.d" * 20):
        name = _endpoint_name("rdp-vmb" + "x" * 33, where)
        assert v.endpoint_name(name) == name
