"""Where a request's approval card lives, so it can be updated in place later."""

from __future__ import annotations

from sqlite_utils import Database

from storage import requests
from storage.records import LinkRequest


def remember(db: Database, request_id: str, channel: str, ts: str) -> None:
    requests.set_card(db, request_id, channel, ts)


def current(db: Database, request_id: str) -> LinkRequest | None:
    return requests.get_request(db, request_id)
