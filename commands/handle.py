"""The answer to one ``/natlink`` command, decided before Slack's 3-second deadline.

Verbs that only touch natlink's records answer at once. Verbs that need Azure are checked as far
as they can be without it, then recorded as an operation for a worker (``run.py``); the record is
written before the bot acknowledges, so a crash after the ack loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import operations, requests, services

from . import admin, decisions, queries
from .authorize import authorize, facts, may_hold
from .context import Context
from .escapes import escape
from .grammar import Command, UsageError, parse
from .policy import Resource
from .replies import Queued, Refusal, Reply, ShareCard

Answer = Reply | Refusal | ShareCard | Queued
QUEUED_VERBS = frozenset({"create", "request", "revoke", "delete", "status", "map"})


@dataclass(frozen=True)
class Delivery:
    """Where a command came from: ``key`` recognises a repeated delivery, ``response_url`` answers it."""

    key: str | None = None
    response_url: str | None = None


def handle(ctx: Context, text: str, delivery: Delivery) -> Answer:
    try:
        command = parse(text)
    except UsageError as error:
        return Refusal(escape(error.message), usage=error.usage)
    if command.verb in QUEUED_VERBS:
        return _queue(ctx, command, text, delivery)
    return _answer(ctx, command)


def _answer(ctx: Context, command: Command) -> Answer:
    args, flags = command.args, command.flags
    match command.verb:
        case "help":
            return queries.help_reply(args.get("verb"))  # type: ignore[arg-type]
        case "list":
            held = frozenset(s.subscription for a, s in facts(ctx, None).grants if a == "request")
            return queries.list_reply(ctx, held)
        case "pending":
            return queries.pending_reply(ctx)
        case "audit":
            decision = authorize(ctx, "audit", Resource(service=args.get("service")))  # type: ignore[arg-type]
            if not decision.allowed:
                return Refusal(decision.reason)
            return queries.audit_reply(ctx, args.get("service"), flags["limit"])  # type: ignore[arg-type]
        case "owners":
            service = services.get_service(ctx.db, args["service"])  # type: ignore[arg-type]
            if service is None:
                return queries.unknown_service(args["service"])  # type: ignore[arg-type]
            if args["op"] == "list":
                return queries.owners_reply(ctx, service)
            return admin.change_owners(ctx, service, args["op"], args.get("users") or ())  # type: ignore[arg-type]
        case "grant" | "ungrant":
            return admin.change_grant(ctx, command.verb, args["user"], args["action"], args["scope"])  # type: ignore[arg-type]
        case "subscribe":
            return admin.subscribe(ctx, args["service"], args["channel"], flags["events"], flags["digest"])  # type: ignore[arg-type]
        case "unsubscribe":
            return admin.unsubscribe(ctx, args["service"], args["channel"])  # type: ignore[arg-type]
        case "share":
            service = services.get_service(ctx.db, args["service"])  # type: ignore[arg-type]
            if service is None:
                return queries.unknown_service(args["service"])  # type: ignore[arg-type]
            return admin.share(ctx, service, args.get("channel"))  # type: ignore[arg-type]
        case "approve" | "reject":
            return decisions.begin(ctx, args["request"], command.verb, args.get("reason"), flags.get("for"))  # type: ignore[arg-type]
    raise AssertionError(
        f"verb {command.verb} has no handler"
    )  # the verb table and this match agree; a test holds them


def _queue(ctx: Context, command: Command, text: str, delivery: Delivery) -> Answer:
    refusal = _precheck(ctx, command)
    if refusal is not None:
        return refusal
    op, created = operations.enqueue(
        ctx.db,
        command.verb,
        actor=ctx.actor,
        args={"text": text},
        idempotency_key=delivery.key,
        reply_channel=ctx.channel,
        response_url=delivery.response_url,
    )
    return Queued(op, created, f"`/natlink {escape(text.strip())}`")


def _precheck(ctx: Context, command: Command) -> Refusal | None:
    """Everything that can be refused before Azure is asked."""
    args = command.args
    if command.verb in ("create", "request"):
        if command.verb == "request" and services.find_service(ctx.db, _target_text(args["target"])) is None:
            return queries.unknown_service(_target_text(args["target"]))
        decision = may_hold(ctx, command.verb)
        return None if decision.allowed else Refusal(decision.reason)
    if command.verb == "revoke":
        request = requests.get_request(ctx.db, args["request"])  # type: ignore[arg-type]
        if request is None:
            return Refusal(f"there is no request `{escape(str(args['request']))}`.")
        decision = authorize(ctx, "revoke", Resource(service=request.service, requester=request.requester))
        return None if decision.allowed else Refusal(decision.reason)
    name = args.get("service")
    if name is not None and services.get_service(ctx.db, name) is None:  # type: ignore[arg-type]
        return queries.unknown_service(name)  # type: ignore[arg-type]
    if command.verb == "delete":
        decision = authorize(ctx, "delete", Resource(service=name))  # type: ignore[arg-type]
        return None if decision.allowed else Refusal(decision.reason)
    return None


def _target_text(target: object) -> str:
    """A request's target is an alias (kept whole) or a service name."""
    return getattr(target, "text", None) or str(target)
