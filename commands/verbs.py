"""The one table of /natlink verbs: each row says everything about its verb.

A row declares the words (arguments, flags, cross-flag rules, examples), who may run it (the
policy action and how to find the resource it judges), and what runs it (an answer at once, or a
use case queued for a worker, with or without a progress message). The grammar, ``help``,
``docs/commands.md``, enforcement, the queue and the worker all read the row, so adding a verb is
one row here and one module in ``usecases/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cloud.tokens import EXAMPLE_ID

from . import resources
from .declare import SLASH, Arg, Flag, OneOf, Requires, Verb, WhenArg
from .help import render_help
from .replies import Reply
from .usecase import NoArgs, Paged, Payload
from .usecases import (
    adopt,
    audit,
    create,
    decide,
    delete,
    forget,
    grant,
    owners,
    pending,
    request,
    revoke,
    share,
    status,
    subscribe,
    verify,
    whoami,
)
from .usecases import list as list_services
from .validate import LIMIT_MAX, LIMIT_MIN, NAT_IPS_MAX, NAT_IPS_MIN, PAGE_MAX, PORTS_MAX, REASON_MAX, Kind

_FOR = Flag(
    "for", Kind.DURATION, "how long access lasts, `5m` to `365d` (default: until revoked)", "DURATION"
)
_OWNERS_OR_ADMINS = "owners of the service, or an admin"
PAGING = (
    Flag("mine", Kind.BOOL, "only the services you own", default=False),
    Flag("owner", Kind.USER, "only the services this person owns", "@USER"),
    Flag("subscription", Kind.SUBSCRIPTION, "only the services in this subscription", "ID"),
    Flag(
        "page",
        Kind.PAGE,
        f"which page of a long list, 1-{PAGE_MAX} (each reply names the next)",
        "N",
        default=1,
    ),
    Flag(
        "csv",
        Kind.BOOL,
        "upload the whole list, every page, as a CSV file to your DM with natlink (instead of a page)",
        default=False,
    ),
)
"""The flags of every listing: a big estate is read a page at a time, and every row is reachable."""

_TABLE: tuple[Verb, ...] = (
    Verb(
        "create",
        "Expose a VM port (or an existing load balancer frontend) as a private link service.",
        "create <name> (--vm VM --port P[,P] [--accept-no-outbound] | --lb LB --frontend FE) [--nat-ips N] "
        "[--visibility SUB[,SUB]|*] [--auto-approve SUB[,SUB]] [--proxy-protocol] [--owners @a,@b]",
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
            Flag(
                "accept-no-outbound",
                Kind.BOOL,
                "go ahead although the VM loses its default outbound internet access behind natlink's "
                "internal load balancer (it has no public IP, NAT gateway or public load balancer; with --vm)",
            ),
        ),
        rules=(
            OneOf(("vm", "lb")),
            Requires("vm", "port"),
            Requires("port", "vm"),
            Requires("accept-no-outbound", "vm"),
            Requires("lb", "frontend"),
            Requires("frontend", "lb"),
        ),
        payload=create.Create,
        resource=resources.new_service,
        locate=create.locate,
        run=create.run,
        progress=True,
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
        payload=share.Share,
        resource=resources.service("service"),
        answer=share.answer,
        examples=("share rdp-vmb <#C01TEAMA|team-a>",),
    ),
    Verb(
        "request",
        "Ask for a private endpoint to a service, from a VM's subnet or a given subnet.",
        "request <alias|service> (--vm VM | --vnet V --subnet S) [--subscription SUB] [--name PE] "
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
                "subscription of --vm or --vnet, when the name alone is ambiguous (the request form names it)",
                "SUB",
            ),
            Flag(
                "name",
                Kind.ENDPOINT_NAME,
                "private endpoint name (default: `pe-<service>-<VM, or VNet-subnet>`)",
                "PE",
            ),
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
        ),
        payload=request.Request,
        resource=resources.requested_service,
        locate=request.locate,
        run=request.run,
        progress=True,
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
            Arg("request", Kind.REQUEST_ID, f"id from the approval card, like `{EXAMPLE_ID}`"),
            Arg(
                "reason", Kind.REASON, "note for the requester (rest of the line)", required=False, many=True
            ),
        ),
        flags=(_FOR,),
        payload=decide.Approve,
        resource=resources.link_request,
        answer=decide.answer,
        run=decide.run,
        audit_allowed=False,
        examples=(f"approve {EXAMPLE_ID}", f"approve {EXAMPLE_ID} ok for the migration --for 7d"),
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
        payload=decide.Reject,
        resource=resources.link_request,
        answer=decide.answer,
        run=decide.run,
        audit_allowed=False,
        examples=(f"reject {EXAMPLE_ID} use the staging service instead",),
    ),
    Verb(
        "revoke",
        "Cut off an approved endpoint (its connection becomes Disconnected).",
        "revoke <request-id>",
        _OWNERS_OR_ADMINS,
        "revoke",
        args=(Arg("request", Kind.REQUEST_ID, "id of the approved request"),),
        payload=revoke.Revoke,
        resource=resources.link_request,
        run=revoke.run,
        progress=True,
        examples=(f"revoke {EXAMPLE_ID}",),
    ),
    Verb(
        "delete",
        "Delete a service and the load balancer natlink built for it.",
        "delete <service> [--force]",
        _OWNERS_OR_ADMINS,
        "delete",
        args=(Arg("service", Kind.SERVICE, "service to delete"),),
        flags=(Flag("force", Kind.BOOL, "delete even with connected endpoints", default=False),),
        payload=delete.Delete,
        resource=resources.service("service"),
        run=delete.run,
        progress=True,
        examples=("delete rdp-vmb", "delete rdp-vmb --force"),
    ),
    Verb(
        "adopt",
        "Take on a private link service made elsewhere (Terraform, Bicep, the portal, AKS): natlink posts "
        "its approval cards, sweeps its health and maps it, and never changes it.",
        "adopt <pls> [--name N] [--owners @a,@b] [--channel #c] | adopt --scan [subscription]",
        "an admin, or anyone with a `create` grant on the service's subscription or resource group",
        "adopt",
        args=(
            Arg(
                "pls",
                Kind.PLS,
                "the private link service's name or resource ID (with --scan: a subscription to list)",
                required=False,
            ),
        ),
        flags=(
            Flag("name", Kind.SERVICE, "the natlink service name (default: the private link service's)", "N"),
            Flag("owners", Kind.USERS, "owners besides you, who approve requests", "@a,@b"),
            Flag(
                "channel", Kind.CHANNEL, "the owner channel, for its approval cards (default: this one)", "#c"
            ),
            Flag(
                "scan",
                Kind.BOOL,
                "list the private link services natlink could adopt, with their pending connections",
                default=False,
            ),
        ),
        payload=adopt.Adopt,
        resource=adopt.place,
        locate=adopt.locate,
        run=adopt.run,
        progress=True,
        examples=(
            "adopt orders-api --owners <@U02BOB|bob> --channel <#C02TEAMB|team-b>",
            "adopt /subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-orders/providers/"
            "Microsoft.Network/privateLinkServices/orders-api --name orders",
            "adopt --scan",
            "adopt --scan 22222222-2222-2222-2222-222222222222",
        ),
    ),
    Verb(
        "forget",
        "Stop watching an adopted service; its private link service and load balancer stay as they are.",
        "forget <service>",
        _OWNERS_OR_ADMINS,
        "forget",
        args=(Arg("service", Kind.SERVICE, "the adopted service"),),
        payload=forget.Forget,
        resource=resources.service("service"),
        run=forget.run,
        examples=("forget orders-api",),
    ),
    Verb(
        "status",
        "Health of one service or all: provisioning, connections, NAT IPs.",
        "status [service] [--refresh] [--mine] [--owner @USER] [--subscription ID] [--page N] [--csv]",
        "everyone",
        "read",
        args=(Arg("service", Kind.SERVICE, "one service (default: all)", required=False),),
        flags=(
            Flag(
                "refresh",
                Kind.BOOL,
                "sweep Azure now (refreshes at the same moment share one sweep; one per person every 10 s)",
                default=False,
            ),
            *PAGING,
        ),
        payload=status.Status,
        resource=resources.service("service", optional=True),
        run=status.run,
        examples=("status", "status rdp-vmb --refresh", "status --mine --page 2"),
    ),
    Verb(
        "map",
        "Who sees which address: consumer VM → endpoint IP → NAT IP → provider VM.",
        "map [service] [--mine] [--owner @USER] [--subscription ID] [--page N] [--csv]",
        "everyone",
        "read",
        args=(Arg("service", Kind.SERVICE, "one service (default: all)", required=False),),
        flags=PAGING,
        payload=status.Map,
        resource=resources.service("service", optional=True),
        run=status.run_map,
        examples=("map", "map rdp-vmb", "map --page 3"),
    ),
    Verb(
        "verify",
        "Prove a link's double NAT with Azure Network Watcher: what A connects to, what arrives at B, "
        "what B sees as the source.",
        "verify <request-id|service> [--capture 30s] [--install-agent]",
        "the requester, owners of the service, or an admin",
        "verify",
        args=(
            Arg(
                "target",
                Kind.REQUEST_OR_SERVICE,
                f"a request id like `{EXAMPLE_ID}`, or a service (its approved connections)",
            ),
        ),
        flags=(
            Flag(
                "capture",
                Kind.SECONDS,
                "also capture packets on the provider VM for this long, `5s` to `10m` (needs "
                "NATLINK_CAPTURE_STORAGE), to prove what arrives at B and the source it sees",
                "30s",
            ),
            Flag(
                "install-agent",
                Kind.BOOL,
                "install the Network Watcher agent extension on a VM that lacks it",
                default=False,
            ),
        ),
        payload=verify.Verify,
        resource=verify.target,
        run=verify.run,
        progress=True,
        examples=(
            f"verify {EXAMPLE_ID}",
            f"verify {EXAMPLE_ID} --capture 30s",
            "verify rdp-vmb --install-agent",
        ),
    ),
    Verb(
        "list",
        "List services with their aliases and owners.",
        "list [--mine] [--owner @USER] [--subscription ID] [--page N] [--csv]",
        "everyone",
        "read",
        flags=PAGING,
        payload=Paged,
        resource=resources.nothing,
        answer=list_services.answer,
        examples=("list", "list --mine", "list --page 2"),
    ),
    Verb(
        "pending",
        "List requests waiting for a decision.",
        "pending [--mine] [--owner @USER] [--subscription ID] [--page N] [--csv]",
        "everyone",
        "read",
        flags=PAGING,
        payload=Paged,
        resource=resources.nothing,
        answer=pending.answer,
        examples=("pending", "pending --page 2"),
    ),
    Verb(
        "whoami",
        "Show what you may do: admin or not, your grants, the services you own.",
        "whoami",
        "everyone",
        "read",
        payload=NoArgs,
        resource=resources.nothing,
        answer=whoami.answer,
        examples=("whoami",),
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
        payload=owners.Owners,
        resource=resources.service("service"),
        answer=owners.answer,
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
            payload=payload,
            resource=resources.scope,
            answer=grant.answer,
            audit_allowed=False,  # grant.answer audits a change it made, and not a repeat
            examples=(f"{name} <@U02BOB|bob> create 22222222-2222-2222-2222-222222222222/rg-team-b",),
        )
        for name, summary, payload in (
            (
                "grant",
                "Allow a user to create services or request endpoints in a subscription or resource group.",
                grant.Grant,
            ),
            ("ungrant", "Take back a grant.", grant.Ungrant),
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
        payload=subscribe.Subscribe,
        resource=resources.service_or_star,
        answer=subscribe.subscribe,
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
        payload=subscribe.Unsubscribe,
        resource=resources.service_or_star,
        answer=subscribe.unsubscribe,
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
        payload=audit.Audit,
        resource=resources.audited_service,
        answer=audit.answer,
        examples=("audit rdp-vmb --limit 50",),
    ),
)

NAMES: tuple[str, ...] = (*(v.name for v in _TABLE), "help")


@dataclass(frozen=True)
class Help(Payload):
    TARGET = "verb"
    verb: str | None = None


def help_text(verb: str | None = None) -> str:
    """Help for one verb, or the list of verbs: help belongs to the table it describes."""
    return render_help(VERBS, verb)


def _help(payload: Help) -> Reply:
    return Reply(f"/natlink help {payload.verb or ''}".strip(), tuple(help_text(payload.verb).splitlines()))


VERBS: Mapping[str, Verb] = {
    **{v.name: v for v in _TABLE},
    "help": Verb(
        "help",
        "Show the verbs, or one verb in detail.",
        "help [verb]",
        "everyone",
        "read",
        args=(Arg("verb", Kind.VERB, "a verb", required=False, choices=NAMES),),
        payload=Help,
        resource=resources.nothing,
        answer=lambda ctx, payload: _help(payload),
        examples=("help", "help request"),
    ),
}
"""Every verb by name, in the order help and the docs list them."""

GENERAL_USAGE = f"{SLASH} <verb> [arguments] [--flags]   (verbs: {', '.join(NAMES)}; try `{SLASH} help`)"


def usage_line(verb: str | None) -> str:
    """The usage line for ``verb``, or the general one when the verb is unknown or missing."""
    found = VERBS.get(verb) if verb else None
    return found.usage_line if found else GENERAL_USAGE


def flag_names(verbs: Sequence[Verb] = tuple(VERBS.values())) -> frozenset[str]:
    """Every flag name any verb takes, to tell "wrong verb for this flag" from "no such flag"."""
    return frozenset(f.name for v in verbs for f in v.flags)
