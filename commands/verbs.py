"""The one table of /natlink verbs: grammar, help, docs and the policy action all read it.

A verb's arguments, flags, cross-flag rules, examples and who may run it sit together, so the
parser, ``help_text`` and ``docs/commands.md`` cannot disagree about what a verb accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .validate import LIMIT_MAX, LIMIT_MIN, NAT_IPS_MAX, NAT_IPS_MIN, PORTS_MAX, REASON_MAX, Kind
from .values import Value

SLASH = "/natlink"


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
    """One /natlink verb; ``action`` is the policy action, refined by an argument via ``action_by``."""

    name: str
    summary: str
    usage: str
    who: str
    action: str
    args: tuple[Arg, ...] = ()
    flags: tuple[Flag, ...] = ()
    rules: tuple[Rule, ...] = ()
    examples: tuple[str, ...] = ()
    action_by: tuple[str, tuple[tuple[str, str], ...]] | None = None

    def flag(self, name: str) -> Flag | None:
        """The flag called ``name`` (without dashes), or None."""
        return next((f for f in self.flags if f.name == name), None)

    @property
    def usage_line(self) -> str:
        """The usage as shown to users, with the slash command in front."""
        return f"{SLASH} {self.usage}"


_FOR = Flag(
    "for", Kind.DURATION, "how long access lasts, `5m` to `365d` (default: until revoked)", "DURATION"
)
_OWNERS_OR_ADMINS = "owners of the service, or an admin"

_TABLE: tuple[Verb, ...] = (
    Verb(
        "create",
        "Expose a VM port (or an existing load balancer frontend) as a private link service.",
        "create <name> (--vm VM --port P[,P] | --lb LB --frontend FE) [--nat-ips N] [--visibility SUB[,SUB]|*] "
        "[--auto-approve SUB[,SUB]] [--proxy-protocol] [--owners @a,@b]",
        "an admin, or anyone with a `create` grant on the target subscription or resource group",
        "create",
        args=(Arg("name", Kind.SERVICE, "service name: lower-case a-z, 0-9 and -, 3-40 characters"),),
        flags=(
            Flag("vm", Kind.AZURE_NAME, "VM to expose; natlink builds the internal load balancer", "VM"),
            Flag(
                "port", Kind.PORTS, f"ports to expose, comma list, at most {PORTS_MAX} (with --vm)", "P[,P]"
            ),
            Flag("lb", Kind.AZURE_NAME, "existing internal Standard load balancer", "LB"),
            Flag("frontend", Kind.AZURE_NAME, "frontend of --lb to put the service on", "FE"),
            Flag(
                "nat-ips",
                Kind.NAT_IPS,
                f"NAT IPs to take from the subnet, {NAT_IPS_MIN}-{NAT_IPS_MAX}",
                "N",
                default=1,
            ),
            Flag(
                "visibility",
                Kind.SUBSCRIPTIONS_OR_STAR,
                "subscriptions that may find and request the service; `*` for anyone with the alias "
                "(default: role-based access only)",
                "SUB[,SUB]|*",
            ),
            Flag(
                "auto-approve",
                Kind.SUBSCRIPTIONS,
                "subscriptions whose requests are approved at once",
                "SUB[,SUB]",
            ),
            Flag(
                "proxy-protocol",
                Kind.BOOL,
                "pass the consumer's address with PROXY protocol v2",
                default=False,
            ),
            Flag("owners", Kind.USERS, "owners besides you, who approve requests", "@a,@b"),
        ),
        rules=(
            OneOf(("vm", "lb")),
            Requires("vm", "port"),
            Requires("port", "vm"),
            Requires("lb", "frontend"),
            Requires("frontend", "lb"),
        ),
        examples=(
            "create rdp-vmb --vm VM-Win2019-2 --port 3389",
            "create web-b --vm VM-Win2019-2 --port 80,443 --nat-ips 2 --owners <@U02BOB|bob>",
            "create sql-b --lb sql-ilb --frontend fe-1433 --visibility 11111111-1111-1111-1111-111111111111",
        ),
    ),
    Verb(
        "share",
        "Post a service's alias to a channel with a Request endpoint button.",
        "share <service> [#channel]",
        _OWNERS_OR_ADMINS,
        "share",
        args=(
            Arg("service", Kind.SERVICE, "service to share"),
            Arg("channel", Kind.CHANNEL, "where to post (default: this channel)", required=False),
        ),
        examples=("share rdp-vmb <#C01TEAMA|team-a>",),
    ),
    Verb(
        "request",
        "Ask for a private endpoint to a service, from a VM's subnet or a given subnet.",
        "request <alias|service> (--vm VM | --vnet V --subnet S [--subscription SUB]) [--name PE] "
        "[--reason TEXT] [--for DURATION]",
        "an admin, or anyone with a `request` grant on the consumer subscription or resource group",
        "request",
        args=(Arg("target", Kind.TARGET, "the provider's alias, or a natlink service name"),),
        flags=(
            Flag("vm", Kind.AZURE_NAME, "VM that needs access; the endpoint goes in its subnet", "VM"),
            Flag("vnet", Kind.AZURE_NAME, "virtual network for the endpoint", "V"),
            Flag("subnet", Kind.AZURE_NAME, "subnet of --vnet for the endpoint", "S"),
            Flag(
                "subscription",
                Kind.SUBSCRIPTION,
                "subscription of --vnet, when its name alone is ambiguous",
                "SUB",
            ),
            Flag("name", Kind.AZURE_NAME, "private endpoint name (default: `pe-<service>`)", "PE"),
            Flag(
                "reason",
                Kind.REASON,
                f"why, shown to the owners and in Azure; at most {REASON_MAX} characters",
                "TEXT",
            ),
            _FOR,
        ),
        rules=(
            OneOf(("vm", "vnet")),
            Requires("vnet", "subnet"),
            Requires("subnet", "vnet"),
            Requires("subscription", "vnet"),
        ),
        examples=(
            'request rdp-vmb --vm VM-Win2019 --reason "RDP for the nightly jobs" --for 30d',
            "request rdp-vmb.2f0e9a36-6c5d-4a2b-9d7e-1b2c3d4e5f60.japaneast.azure.privatelinkservice "
            "--vnet RG-normal-vnet --subnet default",
        ),
    ),
    Verb(
        "approve",
        "Approve a pending request; the endpoint starts working.",
        "approve <request-id> [reason] [--for DURATION]",
        "owners of the service, or an admin; not the requester unless self-approval is allowed",
        "approve",
        args=(
            Arg("request", Kind.REQUEST_ID, "id from the approval card, like `r-Ab3x9Q_k`"),
            Arg(
                "reason", Kind.REASON, "note for the requester (rest of the line)", required=False, many=True
            ),
        ),
        flags=(_FOR,),
        examples=("approve r-Ab3x9Q_k", "approve r-Ab3x9Q_k ok for the migration --for 7d"),
    ),
    Verb(
        "reject",
        "Reject a pending request.",
        "reject <request-id> [reason]",
        "owners of the service, or an admin",
        "reject",
        args=(
            Arg("request", Kind.REQUEST_ID, "id from the approval card"),
            Arg(
                "reason", Kind.REASON, "note for the requester (rest of the line)", required=False, many=True
            ),
        ),
        examples=("reject r-Ab3x9Q_k use the staging service instead",),
    ),
    Verb(
        "revoke",
        "Cut off an approved endpoint (its connection becomes Disconnected).",
        "revoke <request-id>",
        _OWNERS_OR_ADMINS,
        "revoke",
        args=(Arg("request", Kind.REQUEST_ID, "id of the approved request"),),
        examples=("revoke r-Ab3x9Q_k",),
    ),
    Verb(
        "delete",
        "Delete a service and the load balancer natlink built for it.",
        "delete <service> [--force]",
        _OWNERS_OR_ADMINS,
        "delete",
        args=(Arg("service", Kind.SERVICE, "service to delete"),),
        flags=(Flag("force", Kind.BOOL, "delete even with connected endpoints", default=False),),
        examples=("delete rdp-vmb", "delete rdp-vmb --force"),
    ),
    Verb(
        "status",
        "Health of one service or all: provisioning, connections, NAT IPs.",
        "status [service] [--refresh]",
        "everyone",
        "read",
        args=(Arg("service", Kind.SERVICE, "one service (default: all)", required=False),),
        flags=(Flag("refresh", Kind.BOOL, "read Azure now instead of the last sweep", default=False),),
        examples=("status", "status rdp-vmb --refresh"),
    ),
    Verb(
        "map",
        "Who sees which address: consumer VM → endpoint IP → NAT IP → provider VM.",
        "map [service]",
        "everyone",
        "read",
        args=(Arg("service", Kind.SERVICE, "one service (default: all)", required=False),),
        examples=("map", "map rdp-vmb"),
    ),
    Verb(
        "list", "List services with their aliases and owners.", "list", "everyone", "read", examples=("list",)
    ),
    Verb(
        "pending",
        "List requests waiting for a decision.",
        "pending",
        "everyone",
        "read",
        examples=("pending",),
    ),
    Verb(
        "owners",
        "Show or change who owns a service.",
        "owners <service> add|remove|list [@user...]",
        "`list`: everyone; `add`, `remove`: owners of the service, or an admin",
        "owners.add",
        args=(
            Arg("service", Kind.SERVICE, "the service"),
            Arg("op", Kind.CHOICE, "what to do", choices=("add", "remove", "list")),
            Arg("users", Kind.USERS, "users to add or remove", required=False, many=True),
        ),
        rules=(
            WhenArg("op", ("add", "remove"), "users", required=True),
            WhenArg("op", ("list",), "users", required=False),
        ),
        examples=("owners rdp-vmb list", "owners rdp-vmb add <@U02BOB|bob> <@U03CAROL|carol>"),
        action_by=("op", (("add", "owners.add"), ("remove", "owners.remove"), ("list", "read"))),
    ),
    *(
        Verb(
            name,
            summary,
            f"{name} @user create|request <subscription>[/<resource-group>]",
            "admins",
            name,
            args=(
                Arg("user", Kind.USER, "who"),
                Arg("action", Kind.CHOICE, "what they may do", choices=("create", "request")),
                Arg("scope", Kind.SCOPE, "a subscription id, or subscription/resource-group"),
            ),
            examples=(f"{name} <@U02BOB|bob> create 22222222-2222-2222-2222-222222222222/rg-team-b",),
        )
        for name, summary in (
            (
                "grant",
                "Allow a user to create services or request endpoints in a subscription or resource group.",
            ),
            ("ungrant", "Take back a grant."),
        )
    ),
    Verb(
        "subscribe",
        "Post a service's events (or every service's) to a channel.",
        "subscribe <service|*> #channel [--events all|problems] [--digest daily|hourly|off]",
        "`<service>`: owners of the service, or an admin; `*`: admins",
        "subscribe",
        args=(
            Arg("service", Kind.SERVICE_OR_STAR, "a service, or `*` for all"),
            Arg("channel", Kind.CHANNEL, "where to post"),
        ),
        flags=(
            Flag("events", Kind.CHOICE, "which events to post", "all|problems", "all", ("all", "problems")),
            Flag(
                "digest",
                Kind.CHOICE,
                "a summary with the address map",
                "daily|hourly|off",
                "off",
                ("daily", "hourly", "off"),
            ),
        ),
        examples=("subscribe rdp-vmb <#C01TEAMA|team-a> --events problems --digest daily",),
    ),
    Verb(
        "unsubscribe",
        "Stop posting a service's events to a channel.",
        "unsubscribe <service|*> #channel",
        "`<service>`: owners of the service, or an admin; `*`: admins",
        "unsubscribe",
        args=(
            Arg("service", Kind.SERVICE_OR_STAR, "a service, or `*`"),
            Arg("channel", Kind.CHANNEL, "the channel"),
        ),
        examples=("unsubscribe rdp-vmb <#C01TEAMA|team-a>",),
    ),
    Verb(
        "audit",
        "Show the audit trail: who did what, including refused attempts.",
        "audit [service] [--limit N]",
        "admins",
        "audit",
        args=(Arg("service", Kind.SERVICE, "one service (default: all)", required=False),),
        flags=(Flag("limit", Kind.LIMIT, f"how many entries, {LIMIT_MIN}-{LIMIT_MAX}", "N", default=20),),
        examples=("audit rdp-vmb --limit 50",),
    ),
)

NAMES: tuple[str, ...] = (*(v.name for v in _TABLE), "help")

VERBS: Mapping[str, Verb] = {
    **{v.name: v for v in _TABLE},
    "help": Verb(
        "help",
        "Show the verbs, or one verb in detail.",
        "help [verb]",
        "everyone",
        "read",
        args=(Arg("verb", Kind.VERB, "a verb", required=False, choices=NAMES),),
        examples=("help", "help request"),
    ),
}
"""Every verb by name, in the order help and the docs list them."""

GENERAL_USAGE = f"{SLASH} <verb> [arguments] [--flags]   (verbs: {', '.join(NAMES)}; try `{SLASH} help`)"


def usage_line(verb: str | None) -> str:
    """The usage line for ``verb``, or the general one when the verb is unknown or missing."""
    found = VERBS.get(verb) if verb else None
    return found.usage_line if found else GENERAL_USAGE


def action_of(verb: Verb, args: Mapping[str, Value]) -> str:
    """The policy action a parsed command asks for; ``owners list`` is a read, ``owners add`` is not.

    An argument value missing from ``action_by`` falls back to ``action``, the verb's most
    privileged action, so a new choice is never silently a read.
    """
    if verb.action_by is None:
        return verb.action
    arg, table = verb.action_by
    return dict(table).get(str(args.get(arg)), verb.action)


def flag_names(verbs: Sequence[Verb] = tuple(VERBS.values())) -> frozenset[str]:
    """Every flag name any verb takes, to tell "wrong verb for this flag" from "no such flag"."""
    return frozenset(f.name for v in verbs for f in v.flags)
