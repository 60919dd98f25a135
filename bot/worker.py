"""The worker pool: claims queued operations from storage and runs them against Azure.

Operations are claimed atomically, so several threads (or natlink processes) never run the same
one. A running operation's heartbeat keeps it claimed; one whose worker died (a crash, a kill)
goes stale and is picked up again, and the use cases are written to converge when rerun.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient
from sqlite_utils import Database

from cloud.clients import Clients
from commands import cards, perform
from commands.context import Config, Context
from commands.replies import Outcome, Refusal
from storage import operations
from storage.database import open_database
from storage.errors import StateConflictError
from storage.records import Operation

from . import logs, slack_out

log = logging.getLogger("natlink.worker")
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class WorkerSettings:
    db_path: Path
    threads: int = 4
    stale_after: timedelta = timedelta(seconds=30)
    poll_seconds: float = 1.0


class Workers:
    def __init__(self, settings: WorkerSettings, config: Config, clients: Clients, slack: WebClient) -> None:
        self.settings = settings
        self.config = config
        self.clients = clients
        self.slack = slack
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._name = f"{socket.gethostname()}:{os.getpid()}"

    def start(self) -> None:
        for index in range(self.settings.threads):
            thread = threading.Thread(
                target=self._loop, args=(index,), name=f"natlink-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A listener just queued something: no need to wait for the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        """Finish the operations in hand; queued ones wait in storage for the next start."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def alive(self) -> int:
        return sum(t.is_alive() for t in self._threads)

    def _loop(self, index: int) -> None:
        db = open_database(self.settings.db_path)
        while not self._stop.is_set():
            if index == 0:  # one sweeper is enough; every thread would only contend for the write lock
                stale = operations.requeue_or_fail_stale(
                    db, older_than=self.settings.stale_after, max_attempts=MAX_ATTEMPTS
                )
                for op in stale.failed:
                    self._abandon(db, op)
            op = operations.claim_next(db, f"{self._name}/{index}")
            if op is None:
                self._wake.wait(self.settings.poll_seconds)
                self._wake.clear()
                continue
            self._run(db, op)

    def _run(self, db: Database, op: Operation) -> None:
        ctx = Context(db, self.config, op.actor, op.reply_channel, op.id, slack_out.reach_of(self.slack))
        try:
            loaded = perform.load(op)
        except Exception:  # a payload no verb of this release reads: end it, tell the user
            log.exception("operation %s (%s) cannot be read", op.id, op.kind)
            loaded = None
        progress = slack_out.ProgressMessage(
            self.slack,
            op,
            loaded.title if loaded else f"/natlink {op.kind}",
            thread=cards.thread(db, loaded.request, op.reply_channel) if loaded else None,
        )
        if loaded and loaded.verb.progress:
            progress.open(lambda channel, ts: operations.set_reply(db, op.id, channel, ts))
        request = getattr(loaded.payload, "request", None) if loaded else None
        with (
            logs.about(operation=op.id, request=request, user=op.actor),
            _Heartbeat(self.settings.db_path, op.id, self.settings.stale_after / 3) as beat,
        ):
            outcome = self._outcome(ctx, op, loaded, lambda step: (beat.step(step), progress.step(step)))
        try:
            operations.finish(
                db,
                op.id,
                "failed" if outcome.failed else "succeeded",
                error=_plain(outcome) if outcome.failed else None,
            )
        except StateConflictError:
            log.warning(
                "operation %s was taken over after going stale; its result is not recorded twice", op.id
            )
            return
        progress.finish(outcome)
        slack_out.deliver(self.slack, db, outcome.notices, op, self.config.portal)

    def _abandon(self, db: Database, op: Operation) -> None:
        """Tell the person, in the operation's own message when it has one, that natlink gave up."""
        ctx = Context(db, self.config, op.actor, op.reply_channel, op.id)
        title, outcome = perform.abandoned(ctx, op, MAX_ATTEMPTS)
        where = op.reply_channel if op.reply_ts else None
        progress = slack_out.ProgressMessage(self.slack, op, title, channel=where, ts=op.reply_ts)
        progress.finish(outcome)

    def _outcome(
        self, ctx: Context, op: Operation, loaded: perform.Loaded | None, progress: Callable[[str], object]
    ) -> Outcome:
        if loaded is None:
            return Outcome(Refusal(f"natlink cannot read operation {op.id}; it is in the bot's log."))
        try:
            return perform.run(ctx, self.clients, loaded, progress)
        except Exception:  # a bug must still end the operation and tell the user, without a traceback
            log.exception("operation %s (%s) failed unexpectedly", op.id, op.kind)
            return Outcome(
                Refusal(f"natlink hit an internal error running operation {op.id}; it is in the bot's log.")
            )


def _plain(outcome: Outcome) -> str:
    reply = outcome.reply
    return reply.reason if isinstance(reply, Refusal) else ""


class _Heartbeat:
    """Keeps a running operation's ``updated_at`` fresh from a thread of its own (its own connection)."""

    def __init__(self, db_path: Path, op_id: int, every: timedelta) -> None:
        self._db_path, self._op_id, self._every = db_path, op_id, every.total_seconds()
        self._step = "started"
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"natlink-heartbeat-{op_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def step(self, text: str) -> None:
        self._step = text

    def _beat(self) -> None:
        db = open_database(self._db_path)
        while True:
            try:
                operations.update_step(db, self._op_id, self._step, now=datetime.now(UTC))
            except StateConflictError:
                return
            if self._done.wait(self._every):
                return
