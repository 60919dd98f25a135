"""The grammar: good commands parse to the expected Command; bad ones fail with their own message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from commands.grammar import Command, UsageError, parse
from commands.values import STAR, Alias, Channel, Scope, User

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"
ALIAS = "rdp-vmb.2f0e9a36-6c5d-4a2b-9d7e-1b2c3d4e5f60.japaneast.azure.privatelinkservice"
CREATE = "create rdp-vmb --vm VM-Win2019-2 --port 3389"
CREATE_DEFAULTS = {"nat-ips": 1, "proxy-protocol": False}

GOOD: list[tuple[str, Command]] = [
    (
        CREATE,
        Command(
            "create",
            {"name": "rdp-vmb"},
            {**CREATE_DEFAULTS, "vm": "VM-Win2019-2", "port": (3389,)},
            frozenset({"vm", "port"}),
        ),
    ),
    (
        "create web-b --vm=VM-Win2019-2 --port 80,443 --port=8443 --nat-ips 2 --proxy-protocol "
        f"--visibility * --auto-approve {SUB_A.upper()},{SUB_B} --owners <@U02BOB|bob>,<@U03CAROL>",
        Command(
            "create",
            {"name": "web-b"},
            {
                "vm": "VM-Win2019-2",
                "port": (80, 443, 8443),
                "nat-ips": 2,
                "proxy-protocol": True,
                "visibility": (STAR,),
                "auto-approve": (SUB_A, SUB_B),
                "owners": (User("U02BOB", "bob"), User("U03CAROL")),
            },
            frozenset({"vm", "port", "nat-ips", "proxy-protocol", "visibility", "auto-approve", "owners"}),
        ),
    ),
    (
        "create sql-b --lb sql-ilb --frontend fe-1433",
        Command(
            "create",
            {"name": "sql-b"},
            {**CREATE_DEFAULTS, "lb": "sql-ilb", "frontend": "fe-1433"},
            frozenset({"lb", "frontend"}),
        ),
    ),
    ("share rdp-vmb", Command("share", {"service": "rdp-vmb"})),
    (
        "share rdp-vmb <#C01TEAMA|team-a>",
        Command("share", {"service": "rdp-vmb", "channel": Channel("C01TEAMA", "team-a")}),
    ),
    (
        'request rdp-vmb --vm VM-Win2019 --reason "RDP for the nightly jobs" --for 30d',
        Command(
            "request",
            {"target": "rdp-vmb"},
            {"vm": "VM-Win2019", "reason": "RDP for the nightly jobs", "for": timedelta(days=30)},
            frozenset({"vm", "reason", "for"}),
        ),
    ),
    (
        f"request {ALIAS} --vnet RG-normal-vnet --subnet default --subscription {SUB_A} --name pe-rdp",
        Command(
            "request",
            {"target": Alias(ALIAS, "rdp-vmb", "2f0e9a36-6c5d-4a2b-9d7e-1b2c3d4e5f60", "japaneast")},
            {"vnet": "RG-normal-vnet", "subnet": "default", "subscription": SUB_A, "name": "pe-rdp"},
            frozenset({"vnet", "subnet", "subscription", "name"}),
        ),
    ),
    ("approve r-7k2m9x", Command("approve", {"request": "r-7k2m9x"})),
    (
        "approve r-7k2m9x ok for the migration --for 12h",
        Command(
            "approve",
            {"request": "r-7k2m9x", "reason": "ok for the migration"},
            {"for": timedelta(hours=12)},
            frozenset({"for"}),
        ),
    ),
    (
        "reject r-7k2m9x use <#C9|staging> &amp; ask <@U02BOB|bob>",
        Command("reject", {"request": "r-7k2m9x", "reason": "use #staging & ask @bob"}),
    ),
    ("revoke r-7k2m9x", Command("revoke", {"request": "r-7k2m9x"})),
    (
        "delete rdp-vmb --force",
        Command("delete", {"service": "rdp-vmb"}, {"force": True}, frozenset({"force"})),
    ),
    ("status", Command("status", {}, {"refresh": False, "mine": False, "page": 1, "csv": False})),
    (
        "STATUS rdp-vmb --refresh",
        Command(
            "status",
            {"service": "rdp-vmb"},
            {"refresh": True, "mine": False, "page": 1, "csv": False},
            frozenset({"refresh"}),
        ),
    ),
    ("map rdp-vmb", Command("map", {"service": "rdp-vmb"}, {"mine": False, "page": 1, "csv": False})),
    ("list", Command("list", {}, {"mine": False, "page": 1, "csv": False})),
    ("  pending  ", Command("pending", {}, {"mine": False, "page": 1, "csv": False})),
    (
        "list --mine --page 3",
        Command("list", {}, {"mine": True, "page": 3, "csv": False}, frozenset({"mine", "page"})),
    ),
    ("owners rdp-vmb list", Command("owners", {"service": "rdp-vmb", "op": "list"})),
    (
        "owners rdp-vmb ADD <@U02BOB|bob> <@U03CAROL|carol>",
        Command(
            "owners",
            {"service": "rdp-vmb", "op": "add", "users": (User("U02BOB", "bob"), User("U03CAROL", "carol"))},
        ),
    ),
    (
        f"grant <@U02BOB|bob> create {SUB_B}/rg-team-b",
        Command(
            "grant", {"user": User("U02BOB", "bob"), "action": "create", "scope": Scope(SUB_B, "rg-team-b")}
        ),
    ),
    (
        f"ungrant <@W02BOB> request {SUB_A}",
        Command("ungrant", {"user": User("W02BOB"), "action": "request", "scope": Scope(SUB_A)}),
    ),
    (
        "subscribe * <#C01TEAMA|team-a> --events problems",
        Command(
            "subscribe",
            {"service": STAR, "channel": Channel("C01TEAMA", "team-a")},
            {"events": "problems", "digest": "off"},
            frozenset({"events"}),
        ),
    ),
    (
        "unsubscribe rdp-vmb <#C01TEAMA>",
        Command("unsubscribe", {"service": "rdp-vmb", "channel": Channel("C01TEAMA")}),
    ),
    ("audit", Command("audit", {}, {"limit": 20})),
    (
        "audit rdp-vmb --limit=50",
        Command("audit", {"service": "rdp-vmb"}, {"limit": 50}, frozenset({"limit"})),
    ),
    ("help", Command("help")),
    ("help Request", Command("help", {"verb": "request"})),
    # Slack on macOS: smart double quotes and -- turned into an em dash.
    (
        "request rdp-vmb \u2014vm VM-Win2019 --reason \u201cdon\u2019t wait\u201d",
        Command(
            "request",
            {"target": "rdp-vmb"},
            {"vm": "VM-Win2019", "reason": "don\u2019t wait"},
            frozenset({"vm", "reason"}),
        ),
    ),
    # `--` ends the flags, so free text may contain one.
    (
        "reject r-7k2m9x -- --force is wrong",
        Command("reject", {"request": "r-7k2m9x", "reason": "--force is wrong"}),
    ),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[t for t, _ in GOOD])
def test_good_commands_parse(text: str, expected: Command) -> None:
    assert parse(text) == expected


BAD: list[tuple[str, str]] = [
    ("", "no verb given; try `/natlink help`"),
    ("crate rdp-vmb", "unknown verb `crate`; did you mean `create`?"),
    ("xyzzy", "unknown verb `xyzzy`; try `/natlink help`"),
    ("<@U1ABC|alice> status", "the verb comes first, not a user mention (@alice); try `/natlink help`"),
    ("--vm x", "the verb comes first, before flags like `--vm`; try `/natlink help`"),
    ("create", "missing <name>: service name: lower-case a-z, 0-9 and -, 3-40 characters"),
    ("create rdp-vmb", "give one of --vm or --lb"),
    ("create rdp-vmb --vm VM-Win2019-2", "--vm needs --port"),
    (
        "create rdp-vmb --vm VM-Win2019-2 --port 3389 --lb ilb --frontend fe",
        "--vm and --lb cannot be used together; give one of --vm or --lb",
    ),
    ("create rdp-vmb --lb ilb", "--lb needs --frontend"),
    ("create rdp-vmb --lb ilb --frontend fe --port 80", "--port needs --vm"),
    (f"{CREATE} --prot 80", "unknown flag `--prot` for create; did you mean --port?"),
    (
        f"{CREATE} --force",
        "unknown flag `--force` for create (another verb's flag); it takes --vm, --port, --lb, --frontend, "
        "--nat-ips, --visibility, --auto-approve, --proxy-protocol, --owners, --accept-no-outbound",
    ),
    (
        "pending --all",
        "unknown flag `--all` for pending; it takes --mine, --owner, --subscription, --page, --csv",
    ),
    ("list --page 0", "--page: page 0 is out of range 1-10000"),
    ("whoami --all", "unknown flag `--all` for whoami; it takes no flags"),
    ("create rdp-vmb -vm VM-Win2019-2 --port 3389", "unknown flag `-vm`; did you mean `--vm`?"),
    ("create rdp-vmb --vm VM-Win2019-2 --vm VM2 --port 3389", "--vm is given twice; give it once"),
    ("delete rdp-vmb --force --force", "--force is given twice; give it once"),
    ("create rdp-vmb --vm --port 3389", "--vm needs a value (VM)"),
    ("create rdp-vmb --vm VM-Win2019-2 --port", "--port needs a value (P[,P])"),
    (f"{CREATE} --proxy-protocol=yes", "--proxy-protocol takes no value"),
    ("create RDP-VMB --vm VM-Win2019-2 --port 3389", "<name>: service names are lower-case: try `rdp-vmb`"),
    (
        "create rdp_vmb --vm VM-Win2019-2 --port 3389",
        "<name>: service name `rdp_vmb` has `_`; use a-z, 0-9 and `-`",
    ),
    ("create rd --vm VM-Win2019-2 --port 3389", "<name>: service name `rd` is 2 characters; use 3 to 40"),
    ("create rdp-vmb --vm VM. --port 3389", "--vm: name `VM.` must end with a letter, digit or `_`"),
    ("create rdp-vmb --vm VM-Win2019-2 --port 70000", "--port: port 70000 is out of range 1-65535"),
    ("create rdp-vmb --vm VM-Win2019-2 --port 80,80", "--port: port 80 is listed twice"),
    ("create rdp-vmb --vm VM-Win2019-2 --port 80 --port 80", "--port: port 80 is listed twice"),
    ("create rdp-vmb --vm VM-Win2019-2 --port 80,,443", "--port: empty item in the port list `80,,443`"),
    (
        "create rdp-vmb --vm VM-Win2019-2 --port 8000-8010",
        "--port: port `8000-8010` is not a number; ranges are not supported, list the ports",
    ),
    (
        "create rdp-vmb --vm VM-Win2019-2 --port 1,2,3,4,5,6,7,8,9",
        "--port: 9 ports given; at most 8 per service",
    ),
    (f"{CREATE} --nat-ips 9", "--nat-ips: NAT IP count 9 is out of range 1-8"),
    (f"{CREATE} --nat-ips two", "--nat-ips: NAT IP count `two` is not a whole number"),
    (
        f"{CREATE} --visibility 1234",
        "--visibility: subscription `1234` is not a GUID like `11111111-2222-3333-4444-555555555555`",
    ),
    (f"{CREATE} --visibility *,{SUB_A}", "--visibility: `*` already means every subscription; give it alone"),
    (f"{CREATE} --auto-approve *", "--auto-approve: `*` is not allowed here; give one subscription id"),
    (
        f"{CREATE} --owners @alice",
        "--owners: `@alice` is not a Slack mention; pick the user from Slack's @ list",
    ),
    (
        f"{CREATE} --owners <#C1ABC|team-b>",
        "--owners: expected a user mention (@someone), got a channel (#team-b)",
    ),
    (f"{CREATE} --owners <@U1ABC|a>,<@U1ABC>", "--owners: user @a is listed twice"),
    (
        f"{CREATE} --owners <@U1ABC|a> <@U2ABC|b>",
        "too many arguments: a user mention (@b) is not expected; create takes <name> "
        "(join users with commas: --owners @a,@b)",
    ),
    ("share rdp-vmb team-a", "<channel>: expected a channel (#channel), got `team-a`"),
    ("share rdp-vmb <@U1ABC|alice>", "<channel>: expected a channel (#channel), got a user mention (@alice)"),
    ("request rdp-vmb", "give one of --vm or --vnet"),
    ("request rdp-vmb --vnet v", "--vnet needs --subnet"),
    (
        "request rdp-vmb --vm VM-Win2019 --subscription sub-a",
        "--subscription: subscription `sub-a` is not a GUID like `11111111-2222-3333-4444-555555555555`",
    ),
    (
        "request bad.alias.azure.privatelinkservice --vm VM-Win2019",
        "<target>: `bad.alias.azure.privatelinkservice` is not an alias like "
        "`name.<guid>.<region>.azure.privatelinkservice`",
    ),
    ("request rdp-vmb --vm VM-Win2019 --for 2y", "--for: duration `2y` is not like `30m`, `12h` or `7d`"),
    ("request rdp-vmb --vm VM-Win2019 --for 1m", "--for: duration 1m is out of range 5m-365d"),
    (
        "request rdp-vmb --vm VM-Win2019 --reason \"it's fine",
        "unbalanced quotes: a quote is not closed; put text with an apostrophe inside double quotes",
    ),
    (
        "approve r-7k2m9x it's fine",
        "unbalanced quotes: a quote is not closed; put text with an apostrophe inside double quotes",
    ),
    ("status rdp-vmb\\", "the text ends with a lone `\\`; write `\\\\` for a backslash"),
    (
        "request rdp-vmb --vm VM-Win2019 --reason " + "x" * 120,
        "--reason: reason is 120 characters; at most 119 fit in Azure's 140-character request message "
        "beside the 20-character natlink token",
    ),
    ("approve", "missing <request>: id from the approval card, like `r-7k2m9x`"),
    ("approve r-abc", "<request>: `r-abc` is not a request id like `r-7k2m9x` (see the approval card)"),
    (
        "revoke r-7k2m9x now",
        "too many arguments: `now` is not expected; revoke takes <request> (put text with spaces in quotes)",
    ),
    ("list everything", "too many arguments: `everything` is not expected; list takes no arguments"),
    ("owners rdp-vmb", "missing <op>: what to do"),
    ("owners rdp-vmb add", "`add` needs at least one <users>"),
    ("owners rdp-vmb list <@U1ABC|a>", "`list` takes no <users>"),
    ("owners rdp-vmb give <@U1ABC|a>", "<op>: `give` is not one of add, remove, list"),
    ("owners rdp-vmb ad <@U1ABC|a>", "<op>: `ad` is not one of add, remove, list; did you mean `add`?"),
    (f"grant alice create {SUB_A}", "<user>: expected a user mention (@someone), got `alice`"),
    (f"grant <@U1ABC|a> delete {SUB_A}", "<action>: `delete` is not one of create, request"),
    (f"grant <@U1ABC|a> create {SUB_A}/rg.", "<scope>: resource group `rg.` must not end with `.`"),
    (
        f"grant <@U1ABC|a> create {SUB_A}/rg/x",
        "<scope>: resource group `rg/x` has `/`; use letters, digits and `_-.()`",
    ),
    ("subscribe rdp-vmb <#C1ABC|a> --digest weekly", "--digest: `weekly` is not one of daily, hourly, off"),
    ("audit --limit 0", "--limit: limit 0 is out of range 1-500"),
    ("help aprove", "<verb>: unknown verb `aprove`; did you mean `approve`?"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[t[:60] for t, _ in BAD])
def test_bad_commands_fail_with_their_own_message(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert caught.value.message == message
    assert str(caught.value) == message


def test_every_bad_command_has_a_distinct_message() -> None:
    messages = [m for _, m in BAD]
    assert len(BAD) >= 25
    # Two spellings of one mistake may share a message; nothing else does.
    assert len(set(messages)) >= len(messages) - 3


def test_usage_error_carries_the_verbs_usage_line() -> None:
    with pytest.raises(UsageError) as caught:
        parse("share rdp-vmb team-a")
    assert caught.value.verb == "share"
    assert caught.value.usage == "/natlink share <service> [#channel]"


def test_usage_error_without_a_known_verb_carries_the_general_usage() -> None:
    with pytest.raises(UsageError) as caught:
        parse("crate x")
    assert caught.value.verb is None
    assert caught.value.usage.startswith("/natlink <verb> [arguments] [--flags]")
    assert "create" in caught.value.usage


def test_unbalanced_quote_after_a_known_verb_keeps_that_verbs_usage() -> None:
    with pytest.raises(UsageError) as caught:
        parse('approve r-7k2m9x "unclosed')
    assert caught.value.usage.startswith("/natlink approve")


def test_command_names_its_policy_action() -> None:
    assert parse(CREATE).action == "create"
    assert parse("status").action == "read"
    assert parse("owners rdp-vmb list").action == "read"
    assert parse("owners rdp-vmb add <@U1ABC>").action == "owners.add"
    assert parse("owners rdp-vmb remove <@U1ABC>").action == "owners.remove"
    assert parse(f"grant <@U1ABC> create {SUB_A}").action == "grant"


def test_flag_names_and_values_are_separate_from_html_escapes() -> None:
    # Slack escapes what the person typed: a literal "<@U1>" arrives as "&lt;@U1&gt;" and is no mention.
    with pytest.raises(UsageError) as caught:
        parse(f"grant &lt;@U1ABC&gt; create {SUB_A}")
    assert caught.value.message == "<user>: expected a user mention (@someone), got `<@U1ABC>`"
    assert parse("approve r-7k2m9x a &lt; b &amp;&amp; c &gt; d").args["reason"] == "a < b && c > d"
    # "&amp;lt;" is a typed "&lt;", which must stay as typed.
    assert parse("approve r-7k2m9x &amp;lt;").args["reason"] == "&lt;"


def test_mentions_in_free_text_read_as_names() -> None:
    cmd = parse(
        "reject r-7k2m9x ask <@U02BOB|bob> or <@U03X> in <#C01|team-a> see <https://x.example/a|docs>"
    )
    assert cmd.args["reason"] == "ask @bob or @U03X in #team-a see https://x.example/a"


def test_quoted_mention_is_still_a_mention() -> None:
    assert parse('share rdp-vmb "<#C01TEAMA|team-a>"').args["channel"] == Channel("C01TEAMA", "team-a")
