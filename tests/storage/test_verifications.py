"""The latest verification per connection, and how status, map and the digest word it with its age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlite_utils import Database

from cloud.model import Mapping
from commands.usecases.verify import map_note, service_note, words
from storage import verifications

THEN = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _record(db: Database, request_id: str = "r-7k2m9x", **verdicts: str) -> verifications.Verification:
    fields = {"reach": "proven", "arrival": "proven", "source": "not checked", **verdicts}
    return verifications.record(
        db,
        request_id=request_id,
        service="rdp-vmb",
        connection="pe-rdp.conn-1",
        verified_by="U0BOB",
        details={"status": "Reachable"},
        now=THEN,
        **fields,
    )


def test_a_new_verification_replaces_the_connections_last(db: Database) -> None:
    _record(db, reach="failed", summary="the backend VM-Win2019-2 is deallocated")
    latest = _record(db)
    assert verifications.latest(db, "r-7k2m9x") == latest
    assert [v.reach for v in verifications.for_service(db, "RDP-VMB")] == ["proven"]
    assert latest.details == {"status": "Reachable"}


def test_a_verdict_is_one_of_three(db: Database) -> None:
    with pytest.raises(ValueError, match="proven, failed, not checked"):
        _record(db, source="probably")


def test_status_map_and_digest_show_the_age(db: Database) -> None:
    row = Mapping(
        "rdp-vmb",
        "PE-RDP.conn-1",
        "Approved",
        True,
        None,
        None,
        "10.0.0.5",
        3389,
        ("10.2.0.6",),
        None,
        None,
        None,
    )
    assert map_note(db, row) == "" and service_note(db, "rdp-vmb") == ""
    _record(db, reach="failed", summary="port 3389 is not exposed")
    later = THEN + timedelta(hours=3, minutes=5)
    expected = "verified 3 h ago: reach failed, arrival proven, source not checked (port 3389 is not exposed)"
    assert map_note(db, row, later) == f" — {expected}"
    assert service_note(db, "rdp-vmb", later) == f"; `r-7k2m9x` {expected}"
    assert words(None) == "never verified"
    assert words(verifications.latest(db, "r-7k2m9x"), THEN + timedelta(minutes=7)).startswith(
        "verified 7 min ago"
    )
