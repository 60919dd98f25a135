"""The scheduler inside ``natlink serve``: sweep, post, digest, remind and expire, on one instance.

APScheduler fires the jobs on every instance; each job first takes (or renews) the scheduler
lease in storage, and only the holder does the work, so two instances never sweep twice. Within
the holder the jobs overlap (each posts after its work, and the post job drains every two
seconds); the poster posts only the events it claimed, so none goes out twice. Each job's last
run is kept in storage: at start, a digest or sweep missed while natlink was down runs once, not
once per missed period.

Every job is a plain method that takes ``now``, so tests drive them with their own clock.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cloud.clients import Clients
from commands.context import Config
from commands.digest import queue_digests
from commands.expiry import expire
from commands.reminders import queue_reminders
from commands.sweep import sweep
from storage import leases, observations

from .poster import Poster
from .settings import Schedule
from .threaddb import ThreadDatabase

log = logging.getLogger("natlink.scheduler")
LEASE = "scheduler"
LEASE_TTL = timedelta(seconds=30)
POST_SECONDS = 2
REMIND_MINUTES = 15
EXPIRY_SECONDS = 60


def holder_name() -> str:
    """Unique per process: a restarted natlink is a new holder and waits out (or takes back) the lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Jobs:
    db_path: Path
    config: Config
    clients: Clients
    poster: Poster
    schedule: Schedule
    holder: str

    def __post_init__(self) -> None:
        self.db = ThreadDatabase(self.db_path)

    def holds_lease(self, now: datetime | None = None) -> bool:
        return leases.acquire(self.db(), LEASE, self.holder, LEASE_TTL, now=now) is not None

    def release(self) -> None:
        leases.release(self.db(), LEASE, self.holder)

    # The jobs. Each returns what it did, for `natlink sweep --once` and the tests.
    def sweep(self, now: datetime | None = None) -> int:
        """Sweep Azure, then post what it found; without the lease, do nothing (the holder sweeps)."""
        now = now or datetime.now(UTC)
        if not self.holds_lease(now):
            return 0
        result = sweep(self.db(), self.config, self.clients, now)
        self._ran("sweep", now)
        self.post(now)
        return result.events

    def post(self, now: datetime | None = None) -> int:
        """Drain the outbox. Every job posts after its work and the post job every few seconds, so
        drains overlap; the poster posts only what it claimed, so each event goes out once."""
        return self.poster.drain(self.db(), now=now) if self.holds_lease(now) else 0

    def digest(self, frequency: str, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        if not self.holds_lease(now):
            return 0
        queued = queue_digests(self.db(), self.config, self.clients, frequency, now)
        self._ran(f"digest-{frequency}", now)
        self.post(now)
        return queued

    def reminders(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        if not self.holds_lease(now):
            return 0
        queued = queue_reminders(self.db(), self.config, self.schedule.remind_after, now)
        self.post(now)
        return queued

    def expiry(self, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        if not self.holds_lease(now):
            return 0
        removed = expire(self.db(), self.clients, now)
        self.post(now)
        return removed

    def last_run(self, job: str) -> datetime | None:
        value = observations.meta(self.db(), f"job:{job}")
        return datetime.fromisoformat(value) if value else None

    def _ran(self, job: str, now: datetime) -> None:
        observations.set_meta(self.db(), f"job:{job}", now.isoformat(), now=now)


def missed(trigger: CronTrigger | IntervalTrigger, last: datetime | None, now: datetime) -> bool:
    """Whether ``trigger`` should have fired between the last run and now (so it runs once at start)."""
    if isinstance(trigger, IntervalTrigger):
        return last is None or now - last >= trigger.interval
    if last is None:
        return False  # a digest never sent waits for its hour
    upcoming = trigger.get_next_fire_time(None, last + timedelta(seconds=1))
    return upcoming is not None and upcoming <= now


def start(jobs: Jobs, schedule: Schedule) -> BackgroundScheduler:
    """Add every job and start; jobs missed while natlink was down run once, now."""
    tz = ZoneInfo(schedule.timezone)
    scheduler = BackgroundScheduler(
        timezone=tz, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )
    now = datetime.now(tz)
    plan: list[tuple[str, CronTrigger | IntervalTrigger, Callable[..., int], list[str]]] = [
        ("sweep", IntervalTrigger(seconds=schedule.sweep_seconds, timezone=tz), jobs.sweep, []),
        ("digest-daily", CronTrigger.from_crontab(schedule.digest_cron, timezone=tz), jobs.digest, ["daily"]),
        ("digest-hourly", CronTrigger(minute=0, timezone=tz), jobs.digest, ["hourly"]),
        ("reminders", IntervalTrigger(minutes=REMIND_MINUTES, timezone=tz), jobs.reminders, []),
        ("expiry", IntervalTrigger(seconds=EXPIRY_SECONDS, timezone=tz), jobs.expiry, []),
        ("post", IntervalTrigger(seconds=POST_SECONDS, timezone=tz), jobs.post, []),
    ]
    for job_id, trigger, func, args in plan:
        catch_up = job_id.startswith("digest") or job_id == "sweep"
        first = now if catch_up and missed(trigger, jobs.last_run(job_id), now) else None
        scheduler.add_job(
            _logged(job_id, func),
            trigger,
            args=args,
            id=job_id,
            **({"next_run_time": first} if first else {}),
        )
    scheduler.start()
    return scheduler


def _logged(job_id: str, func: Callable[..., int]) -> Callable[..., None]:
    """A job never kills the scheduler: a failure is logged and the next run tries again."""

    def run(*args: str) -> None:
        try:
            func(*args)
        except Exception:
            log.exception("scheduled job %s failed", job_id)

    return run
