"""The worker's half of /natlink: load a queued operation's payload, place it, run its use case.

An Azure failure becomes a readable refusal and an audit line, never a traceback. Operations
written by the release before payloads were typed (``{"text": ...}``, and ``decide`` with its own
arguments) are read once through the grammar and run as if written today.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud import tokens
from cloud.clients import Clients
from cloud.errors import CloudError
from storage import requests
from storage.records import Operation

from . import payloads
from .context import Context
from .declare import SLASH, Verb
from .enforce import enforce_located
from .escapes import escape
from .grammar import parse
from .replies import Outcome, Refusal
from .usecase import Job, Payload, Progress, failed, refused
from .verbs import VERBS


@dataclass(frozen=True)
class Loaded:
    """A queued operation as its verb and typed payload."""

    verb: Verb
    payload: Payload

    @property
    def title(self) -> str:
        """What the progress message is about: the verb and its target, never the raw text typed."""
        return self.payload.title(self.verb.name)

    @property
    def request(self) -> str | None:
        """The one request this operation is about (a decision, a revoke, a verification of one
        connection), whose card's thread its messages go in; None for anything else."""
        about = getattr(self.payload, "request", None) or getattr(self.payload, "target", None)
        return about if isinstance(about, str) and tokens.is_request_id(about) else None


def load(op: Operation) -> Loaded:
    """The operation's verb and payload; an operation of the previous release is upgraded."""
    if "v" not in op.args:
        return _upgrade(op)
    verb = VERBS[op.kind]
    return Loaded(verb, payloads.decode(verb.payload, op.args))


def _upgrade(op: Operation) -> Loaded:
    """Release 1 queued the command's text, and decisions as ``decide`` with the verb inside."""
    if op.kind == "decide":
        verb = VERBS[op.args["verb"]]
        payload = verb.payload(
            request=op.args["request"], reason=op.args.get("reason") or None, for_=op.args.get("for_seconds")
        )
        return Loaded(verb, payload)
    command = parse(op.args["text"])
    verb = VERBS[command.verb]
    return Loaded(verb, payloads.from_command(verb, {**command.args, **command.flags}))


def abandoned(ctx: Context, op: Operation, attempts: int) -> tuple[str, Outcome]:
    """An operation whose worker died ``attempts`` times: audited, what it made marked failed, and
    its title and an answer for the person who asked (nobody would hear of it otherwise)."""
    try:
        loaded = load(op)
        title, action, target = loaded.title, loaded.verb.name, loaded.payload.audit_target
    except Exception:  # an unreadable payload still ends with a readable answer
        title, action, target = f"{SLASH} {op.kind}", op.kind, "-"
    made = requests.made_by(ctx.db, op.id)
    if made is not None and made.state == "requested":
        requests.set_state(ctx.db, made.id, "failed")
    error = CloudError(
        "OperationAbandoned",  # natlink's own code
        f"natlink stopped trying after its worker died {attempts} times while running this.",
        hint="Check `/natlink status` for what is in place, then run the command again; it converges.",
    )
    failed(ctx, action, target, error)
    return title, Outcome(Refusal(f"{error.code}: {escape(error.message)}", hint=error.hint))


def run(ctx: Context, clients: Clients, loaded: Loaded, progress: Progress) -> Outcome:
    """Place the target in Azure and judge it (the policy's second phase), then run the use case."""
    verb, payload = loaded.verb, loaded.payload
    assert verb.run is not None
    try:
        located = enforce_located(ctx, clients, verb, payload) if verb.locate else None
        if isinstance(located, Refusal):
            return Outcome(located)
        return verb.run(Job(ctx, clients, payload, located, progress))
    except CloudError as error:
        return Outcome(refused(ctx, verb.name, payload.audit_target, error))
