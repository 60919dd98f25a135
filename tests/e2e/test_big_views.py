"""Issue 12: the big views of a workspace with 1,000 services and 3,000 connections.

Previous/Next edit the listing in place (the same message, its filters kept) until every row was
shown; a click by someone who did not ask is refused privately and audited; Export CSV and
``--csv`` upload every row of the filtered table; every Azure name links to the portal in the
deployment's tenant; every page stays within Slack's limits. One generated world and one bot for
the module: generating and reading 1,000 services is the slow part.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot import views
from sandbox.slack.blocks import MESSAGE_TEXT_TOTAL, text_total
from sandbox.slack.driver import Driver
from storage import audit, owners, services
from storage.database import open_database
from tests.e2e.harness import RunningBot, database, find, ok, start_bot, stored_service, text_of, wait_for

pytestmark = pytest.mark.xdist_group("big-views")  # one worker builds the big world once for all
SERVICES, ENDPOINTS, SUBSCRIPTIONS = 1000, 3, 3
OWNED = range(0, SERVICES, 100)  # alice owns 10 services, so 30 connections


@pytest.fixture(scope="module")
def big(arm, slack_process, tmp_path_factory) -> Iterator[tuple[RunningBot, Driver, list[str]]]:
    arm.control("DELETE", "faults")
    arm.control("PUT", "settings", {"page_size": 100, "lro_seconds": 0})
    subs = arm.control(
        "POST", "generate", {"subscriptions": SUBSCRIPTIONS, "services": SERVICES, "endpoints": ENDPOINTS}
    )["subscriptions"]
    slack_process.control("POST", "reset")
    bot = start_bot(arm, slack_process, tmp_path_factory.mktemp("big"), NATLINK_SUBSCRIPTIONS=",".join(subs))
    db = open_database(database(bot))
    for n in range(SERVICES):
        stored_service(db, f"pls-{n}", subs[n % SUBSCRIPTIONS], "rg-natlink")
    for n in OWNED:
        owners.add_owner(db, f"pls-{n}", "U0ALICE", added_by="U0ADMIN")
    yield bot, Driver(f"{bot.url}/slack/events", slack_process.config), subs
    assert bot.stop() == 0, bot.log.read_text()[-3000:]


def _shown(slack, driver: Driver, user: str, text: str) -> dict[str, Any]:
    """Type a command whose answer comes with the ack; Slack shows that answer as an ephemeral."""
    answer = ok(driver.slash_command(user, "#team-b", text))
    spec = {"channel": "C0TEAMB", "user": slack.user(user), "body": answer}
    return _message(slack, slack.control("POST", "command-answers", spec)["ts"])


def _message(slack, ts: str) -> dict[str, Any]:
    [record] = slack.control("GET", "messages", query={"channel": "C0TEAMB", "ts": ts})["messages"]
    return record


def _buttons(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    actions = [b for b in record["message"]["blocks"] if b["type"] == "actions"]
    return {e["action_id"]: e for b in actions for e in b["elements"]}


def _within_limits(record: dict[str, Any]) -> None:
    blocks = record["message"]["blocks"]
    assert text_total(blocks) <= MESSAGE_TEXT_TOTAL
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")


def _edited(slack, ts: str, edits: int) -> dict[str, Any] | None:
    """The message once it has been edited ``edits`` times."""
    record = _message(slack, ts)
    return record if len(record["history"]) >= edits else None


def _walk(slack, driver: Driver, user: str, first: dict[str, Any], rows: str) -> list[str]:
    """Click Next until there is none, reading each page in the same message; then Previous once."""
    record, seen, edits = first, [], len(first["history"])
    ts = first["message"]["ts"]
    while True:
        _within_limits(record)
        seen += re.findall(rows, text_of(record))
        if views.PAGE_NEXT not in _buttons(record):
            break
        ok(driver.click(user, "#team-b", ts, views.PAGE_NEXT))
        edits += 1
        record = wait_for(lambda n=edits: _edited(slack, ts, n), 60, "the next page")
    ok(driver.click(user, "#team-b", ts, views.PAGE_PREVIOUS))
    back = wait_for(lambda: _edited(slack, ts, edits + 1), 60, "the previous page")
    assert views.PAGE_NEXT in _buttons(back) and edits > 0
    return seen


def _file_rows(slack, dm: str, name: str) -> list[list[str]]:
    def uploaded() -> dict[str, Any] | None:
        found = [f for r in slack.messages(dm) for f in r["message"].get("files", []) if f["name"] == name]
        return found[-1] if found else None

    file = wait_for(uploaded, 120, f"{name} in the DM")
    url = f"{slack.config['base_url']}/web/file?id={file['id']}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        content = json.loads(answer.read())["content"]
    return list(csv.reader(io.StringIO(content)))


def test_list_pages_in_place_with_its_filter_and_exports_every_row(big, slack_process, arm) -> None:
    bot, driver, subs = big
    slack = slack_process
    first = _shown(slack, driver, "admin", f"list --subscription {subs[0]}")
    seen = _walk(slack, driver, "admin", first, r"\|(pls-\d+)>\*")
    wanted = [f"pls-{n}" for n in range(SERVICES) if n % SUBSCRIPTIONS == 0]
    assert sorted(seen) == sorted(wanted), "every row once, and only the filtered ones"
    tenant = arm.config["tenant_id"]
    link = re.escape(f"<https://portal.azure.com/#@{tenant}/resource/subscriptions/{subs[0]}/")
    assert len(re.findall(link, text_of(first))) == len(re.findall(r"\|(pls-\d+)>\*", text_of(first)))

    # someone who did not ask: refused privately, audited, and the listing is left as it was
    ts = first["message"]["ts"]
    before = len(_message(slack, ts)["history"])
    ok(driver.click("bob", "#team-b", ts, views.PAGE_NEXT))
    refusal = wait_for(lambda: find(slack, "team-b", "was asked for by", ephemeral=True), 30, "bob's refusal")
    assert refusal["to"] == slack.user("bob") and len(_message(slack, ts)["history"]) == before
    trail = audit.list_entries(open_database(database(bot)))
    assert [e for e in trail if e.actor == "U0BOB" and e.action == "page" and e.outcome == "denied"]

    # Export CSV: every row of the filtered list, in the asker's DM
    ok(driver.click("admin", "#team-b", ts, views.EXPORT_CSV))
    rows = _file_rows(slack, slack.user("admin"), "natlink-list.csv")
    assert rows[0][0] == "service" and sorted(r[0] for r in rows[1:]) == sorted(wanted)
    assert all(r[-1].startswith(f"https://portal.azure.com/#@{tenant}/resource/") for r in rows[1:])


def _latest(slack, needle: str, to: str) -> dict[str, Any] | None:
    """The newest ephemeral in #team-b for ``to`` with ``needle``."""
    found = [r for r in slack.messages("C0TEAMB") if r["to"] == to and needle in text_of(r)]
    return found[-1] if found else None


def test_map_pages_in_place_and_its_csv_holds_all_3000_connections(big, slack_process, arm) -> None:
    _, driver, _ = big
    slack = slack_process
    tenant = arm.config["tenant_id"]
    assert ok(driver.slash_command("alice", "#team-b", "map --owner <@U0ALICE|alice>")) == {}
    first = wait_for(lambda: _latest(slack, "Address map", slack.user("alice")), 120, "alice's map")
    # each row's endpoint address links to its private endpoint
    seen = _walk(slack, driver, "alice", first, r"privateEndpoints/(pe-\d+-\d+)\|")
    assert sorted(seen) == sorted(f"pe-{n}-{k}" for n in OWNED for k in range(ENDPOINTS))
    text = text_of(first)
    assert f"*<https://portal.azure.com/#@{tenant}/resource/subscriptions/" in text
    # the VMs and load balancers are plain names, so a page holds twice the rows (9 with 5 links)
    assert "vm-0" in text and "/virtualMachines/" not in text and "/loadBalancers/" not in text
    assert len(re.findall(r"privateEndpoints/(pe-\d+-\d+)\|", text)) >= 18

    # the whole estate: page 1 within Slack's limits, and --csv with every connection
    ok(driver.slash_command("admin", "#team-b", "map"))
    whole = wait_for(lambda: _latest(slack, "3000 in all", slack.user("admin")), 120, "admin's map")
    _within_limits(whole)
    ok(driver.slash_command("admin", "#team-b", "map --csv"))
    table = _file_rows(slack, slack.user("admin"), "natlink-map.csv")
    assert len(table) == 1 + SERVICES * ENDPOINTS
    # the CSV carries the portal page of every resource a row names
    cells = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    for kind, path in (
        ("consumer_vm", "virtualmachines"),
        ("load_balancer", "loadbalancers"),
        ("backend_vm", "virtualmachines"),
    ):
        named = [c for c in cells if c[kind]]
        assert named or kind == "consumer_vm", kind  # the generated consumers are subnets, not VMs
        assert all(c[f"{kind}_portal"].lower().endswith(f"/{path}/{c[kind]}".lower()) for c in named)
    endpoint = table[0].index("endpoint_portal")
    assert {r[endpoint].rsplit("/", 1)[1] for r in table[1:]} == {
        f"pe-{n}-{k}" for n in range(SERVICES) for k in range(ENDPOINTS)
    }


def test_list_buttons_show_every_row_once_while_services_come_and_go(big, slack_process) -> None:
    """Issue 12: a sweep adds and removes services between clicks. Next starts strictly after the
    last row shown, so a service added before it repeats no row and one removed skips none; the
    page says how the list changed. (Last in the module: it changes the world, then restores it.)"""
    bot, driver, subs = big
    slack, db = slack_process, open_database(database(bot))
    first = _shown(slack, driver, "admin", f"list --subscription {subs[1]}")
    ts, rows = first["message"]["ts"], r"\|([\w-]+)>\*"
    seen = re.findall(rows, text_of(first))
    listed = sum(1 for n in range(SERVICES) if n % SUBSCRIPTIONS == 1)
    ahead = "pls-9999"  # sorts after the first page; aaa-new before every row
    wanted = {f"pls-{n}" for n in range(SERVICES) if n % SUBSCRIPTIONS == 1} | {ahead}
    for name in ("aaa-new", ahead):
        services.upsert_service(
            db,
            name=name,
            pls_id=f"/subscriptions/{subs[1]}/resourceGroups/rg-natlink/providers/Microsoft.Network/privateLinkServices/{name}",
            subscription=subs[1],
            resource_group="rg-natlink",
            location="japaneast",
            alias=f"{name}.00000000-0000-0000-0000-000000000000.japaneast.azure.privatelinkservice",
            created_by="U0ALICE",
            details={"ports": [443], "visibility": ["*"]},
        )
    removed = seen[2]
    try:
        record, edits, clicks = first, len(first["history"]), 0
        for clicks in range(1, 50):  # far more than the pages of 335 services: a repeat cannot loop for ever
            if views.PAGE_NEXT not in _buttons(record):
                break
            ok(driver.click("admin", "#team-b", ts, views.PAGE_NEXT))
            edits += 1
            record = wait_for(lambda n=edits: _edited(slack, ts, n), 60, "the next page")
            _within_limits(record)
            page = re.findall(rows, text_of(record))
            # strictly after the last row shown: counted from the top, aaa-new would repeat it
            assert page[0] == min(n for n in wanted - {removed} if n > seen[-1])
            if clicks == 1:
                assert f"{listed + 2} in all now ({listed} when you turned the page)" in text_of(record)
                services.mark_state(db, removed, "gone")  # a row already shown goes: none may be skipped
            seen += page
        assert clicks > 2 and sorted(seen) == sorted(wanted), (
            "every row exactly once: none repeated, none skipped"
        )
        ok(driver.click("admin", "#team-b", ts, views.PAGE_PREVIOUS))
        back = wait_for(lambda: _edited(slack, ts, edits + 1), 60, "the previous page")
        assert re.findall(rows, text_of(back))[-1] == seen[-len(page) - 1]
    finally:
        services.mark_state(db, removed, "active")
        for name in ("aaa-new", ahead):
            services.mark_state(db, name, "gone")
