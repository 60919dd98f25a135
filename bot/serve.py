"""``natlink serve``: wire settings, storage, Azure, the workers and the bolt app, then serve.

This is natlink's composition root: the one place that knows every part.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from functools import partial

from slack_bolt import App
from sqlite_utils import Database

from cloud import inventory
from cloud.clients import Clients
from cloud.errors import CloudError
from cloud.places import places
from cloud.settings import SettingsError
from commands.context import Config
from commands.form import Catalog
from commands.sweep import sweep
from storage import leases, operations
from storage.database import open_database

from . import doctor, logs
from .app import build_app, web_client
from .listeners import Deps
from .metrics import Metrics
from .poster import Poster
from .scheduler import LEASE, Jobs, holder_name
from .scheduler import start as start_scheduler
from .server import HttpServer, wsgi_application
from .settings import BotSettings
from .worker import Workers, WorkerSettings

log = logging.getLogger("natlink")


def _logging() -> None:
    """natlink's own lines at NATLINK_LOG_LEVEL; the libraries' per-request and per-job chatter only as warnings."""
    try:
        logs.configure(
            os.environ.get("NATLINK_LOG_LEVEL", "INFO"), os.environ.get("NATLINK_LOG_FORMAT", "text")
        )
    except ValueError as error:
        logs.configure(os.environ.get("NATLINK_LOG_LEVEL", "INFO"), "text")
        log.error("%s; logging as text", error)
    for noisy in ("apscheduler", "azure", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def serve(socket_mode: bool) -> int:
    _logging()
    try:
        settings = BotSettings.from_env(os.environ, socket_mode=socket_mode)
    except SettingsError as error:
        print(f"natlink serve: {error}", file=sys.stderr)
        return 2
    open_database(settings.db_path)  # applies migrations once, before any thread starts
    if not doctor.at_start(settings, socket_mode):  # logs the doctor's table; a blocker stops here
        return 1
    config = Config(
        settings.admins,
        settings.allow_self_approval,
        settings.cloud.subscriptions,
        settings.cloud.portal_home,
    )
    metrics = Metrics(settings.db_path)
    slack = web_client(
        settings, on_error=lambda method, error: metrics.slack_errors.labels(method, error).inc()
    )
    clients = Clients(
        settings.cloud,
        on_response=lambda status: metrics.arm.labels(str(status)).inc(),
        on_sweep=metrics.sweep,
    )
    workers = Workers(
        WorkerSettings(settings.db_path, settings.workers, timedelta(seconds=settings.stale_seconds)),
        config,
        clients,
        slack,
    )
    deps = Deps(
        settings.db_path,
        config,
        workers.wake,
        lambda verb, s: metrics.ack.labels(verb).observe(s),
        snapshots=partial(inventory.snapshot, clients),
        catalog=Catalog(lambda: places(clients, config.subscriptions)),
    )
    app = build_app(settings, deps, slack)
    jobs = Jobs(
        settings.db_path,
        config,
        clients,
        Poster(slack, portal=config.portal),
        settings.schedule,
        holder_name(),
    )
    workers.start()
    scheduler = start_scheduler(jobs, settings.schedule)
    try:
        if socket_mode:
            _serve_socket_mode(app, settings.app_token or "")
        else:

            def health() -> dict[str, object]:
                return {"ok": workers.alive() > 0, "workers": workers.alive(), "queued": _queued(deps.db())}

            server = HttpServer(wsgi_application(app, health, metrics.render), settings.host, settings.port)
            log.info("natlink serving on %s:%s", settings.host, server.port)
            server.serve()
    finally:
        scheduler.shutdown(wait=True)
        jobs.release()
        workers.stop()
        log.info("natlink stopped")
    return 0


def _queued(db: Database) -> int:
    return sum(op.state == "queued" for op in operations.unfinished(db))


def sweep_once() -> int:
    """``natlink sweep --once``: one sweep now, exit 0. It posts what it found, unless another
    instance holds the scheduler lease: that one posts. For cron, and for operators who want to see now."""
    _logging()
    try:
        settings = BotSettings.from_env(os.environ)
    except SettingsError as error:
        print(f"natlink sweep: {error}", file=sys.stderr)
        return 2
    open_database(settings.db_path)
    config = Config(
        settings.admins,
        settings.allow_self_approval,
        settings.cloud.subscriptions,
        settings.cloud.portal_home,
    )
    jobs = Jobs(
        settings.db_path,
        config,
        Clients(settings.cloud),
        Poster(web_client(settings), portal=config.portal),
        settings.schedule,
        holder_name(),
    )
    try:
        if jobs.holds_lease():
            print(f"natlink sweep: {jobs.sweep()} event(s) found and posted.")
            return 0
        # Another instance (natlink serve) holds the lease: sweep all the same, since a sweep records
        # and queues in one transaction and events are deduplicated, and leave posting to it.
        found = sweep(jobs.db(), config, jobs.clients).events
        holder = leases.current(jobs.db(), LEASE)
        print(
            f"natlink sweep: {found} event(s) found; the running natlink instance "
            f"({holder.holder if holder else 'another process'}) posts them."
        )
    except CloudError as error:
        print(f"natlink sweep: {error.code}: {error.message}\nhint: {error.hint or 'none'}", file=sys.stderr)
        return 1
    finally:
        jobs.release()
    return 0


def _serve_socket_mode(app: App, app_token: str) -> None:
    """Socket Mode until SIGTERM or SIGINT. bolt's own ``start()`` blocks forever and leaves SIGTERM to
    kill the process, which would skip releasing the scheduler lease and stopping the workers."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    handler = SocketModeHandler(app, app_token)
    handler.connect()
    log.info("natlink connected to Slack over Socket Mode")
    stop.wait()
    handler.close()
