"""The scheduler's jobs driven with a controllable clock: posting, the lease, restarts, reminders,
expiry and the digest. No test sleeps to wait for a schedule."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.poster import GONE, Poster
from bot.scheduler import Jobs, missed
from bot.settings import Schedule
from cloud.tokens import new_request_id
from commands import cards
from storage import channel_subscriptions, events, requests
from storage.records import LinkRequest
from tests.arm_story import A_RG, B_RG, pe_body
from tests.conftest import TEAM_A
from tests.e2e.harness import text_of
from tests.sweep_world import OWNER_CHANNEL

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def jobs(db, config, clients, web, holder: str = "instance-a") -> Jobs:
    """The jobs of one natlink instance, on the test's database file."""
    path = Path(db.conn.execute("PRAGMA database_list").fetchone()[2])
    return Jobs(path, config, clients, Poster(web, gap=1.0, sleep=lambda _: None), Schedule(), holder)


def _power_off(compute_b) -> None:
    compute_b.virtual_machines.begin_power_off(B_RG, "VM-Win2019-2").result()


def test_a_sweep_posts_each_event_once(db, config, clients, managed, web, slack, compute_b) -> None:
    job = jobs(db, config, clients, web)
    assert job.sweep(T0) == 0
    _power_off(compute_b)
    assert job.sweep(T0 + timedelta(minutes=5)) == 1
    (message,) = slack.messages(OWNER_CHANNEL)
    assert "VM-Win2019-2 (10.2.0.5) is *stopped*" in text_of(message) and "Start the VM" in text_of(message)
    assert job.sweep(T0 + timedelta(minutes=10)) == 0
    assert len(slack.messages(OWNER_CHANNEL)) == 1 and events.pending(db) == []


def test_many_events_for_one_channel_become_one_message(
    db, config, clients, managed, web, slack, compute_b, sandbox
) -> None:
    job = jobs(db, config, clients, web)
    job.sweep(T0)
    _power_off(compute_b)
    sandbox.control("POST", "nat-usage", {"pls": managed.pls_id, "ip": "10.2.0.6", "percent": 95})
    assert job.sweep(T0 + timedelta(minutes=5)) == 2
    (message,) = slack.messages(OWNER_CHANNEL)
    assert message["message"]["text"] == "rdp-vmb: 2 problems need attention"
    assert "95 % of its ports" in text_of(message)


def test_two_instances_one_poster(db, config, clients, managed, web, slack, compute_b) -> None:
    first, second = jobs(db, config, clients, web, "a"), jobs(db, config, clients, web, "b")
    first.sweep(T0)
    _power_off(compute_b)
    assert second.sweep(T0 + timedelta(seconds=10)) == 0  # a holds the lease: b neither sweeps nor posts
    assert first.sweep(T0 + timedelta(seconds=20)) == 1
    assert second.post(T0 + timedelta(seconds=25)) == 0
    assert len(slack.messages(OWNER_CHANNEL)) == 1
    assert second.holds_lease(T0 + timedelta(minutes=5))  # a went silent: its lease lapsed, b takes over


def test_a_restart_between_sweep_and_post_repeats_and_loses_nothing(
    db, config, clients, managed, web, slack, compute_b
) -> None:
    from commands.sweep import sweep

    jobs(db, config, clients, web, "old").sweep(T0)
    _power_off(compute_b)
    sweep(db, config, clients, T0 + timedelta(minutes=5))  # found and queued; the process dies before posting
    assert len(events.pending(db)) == 1 and slack.messages(OWNER_CHANNEL) == []
    restarted = jobs(db, config, clients, web, "new")
    assert restarted.post(T0 + timedelta(minutes=6)) == 1  # the old holder's lease has lapsed
    assert restarted.sweep(T0 + timedelta(minutes=10)) == 0
    assert len(slack.messages(OWNER_CHANNEL)) == 1


def test_slack_429s_are_retried(db, config, clients, managed, web, slack, compute_b) -> None:
    job = jobs(db, config, clients, web)
    job.sweep(T0)
    _power_off(compute_b)
    slack.control("POST", "faults", {"method": "chat.postMessage", "count": 2, "retry_after": 1})
    assert job.sweep(T0 + timedelta(minutes=5)) == 1
    assert len(slack.messages(OWNER_CHANNEL)) == 1
    assert [c["status"] for c in slack.calls("chat.postMessage")][-3:] == [429, 429, 200]


def _queued_card(db, config, clients, managed, net_a, job: Jobs) -> None:
    """An endpoint made in the portal, found by a sweep: its approval card is queued, not yet posted."""
    from commands.sweep import sweep

    job.sweep(T0)
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-portal", pe_body(managed.alias)).result()
    sweep(db, config, clients, T0 + timedelta(minutes=5))
    assert [e.kind for e in events.pending(db)] == ["approval_card"]


def test_two_drains_at_once_post_each_card_once(db, config, clients, managed, web, slack, net_a) -> None:
    """A job's own post and the post job drain together; Slack's 429 keeps the first one waiting
    while the second reads the outbox. One card, and it is the one the request remembers."""
    job = jobs(db, config, clients, web)
    _queued_card(db, config, clients, managed, net_a, job)
    slack.control("POST", "faults", {"method": "chat.postMessage", "count": 1, "retry_after": 1})
    barrier, posted = threading.Barrier(2), []

    def drain() -> None:
        barrier.wait()
        posted.append(job.post(T0 + timedelta(minutes=5)))

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    cards = slack.messages(OWNER_CHANNEL)
    assert len(cards) == 1, f"{len(cards)} cards for one event"
    assert sorted(posted) == [0, 1] and 429 in [c["status"] for c in slack.calls("chat.postMessage")]
    (event,) = events.recent(db)
    request = requests.get_request(db, event.payload["request"])
    assert event.posted and event.message_ts == request.card_ts == cards[0]["message"]["ts"]


def test_a_crashed_drainers_claim_is_posted_after_the_stale_limit(
    db, config, clients, managed, web, slack, net_a
) -> None:
    job = jobs(db, config, clients, web)
    _queued_card(db, config, clients, managed, net_a, job)
    claimed_at = T0 + timedelta(minutes=5)
    assert events.claim(db, "crashed:1:dead", now=claimed_at)  # claimed, then the process died
    assert job.post(claimed_at + timedelta(minutes=1)) == 0 and slack.messages(OWNER_CHANNEL) == []
    assert job.post(claimed_at + events.CLAIM_STALE) == 1
    assert len(slack.messages(OWNER_CHANNEL)) == 1 and events.pending(db) == []
    assert job.post(claimed_at + 3 * events.CLAIM_STALE) == 0


def test_a_card_whose_request_is_gone_is_given_back_not_posted(db, config, clients, web, slack) -> None:
    """Nothing to render is a failed attempt (counted, then left alone), not a crash of the drain."""
    (event, _) = events.add(
        db, "card:r-gone:C0TEAMB", OWNER_CHANNEL, None, "approval_card", "info", {"request": "r-gonegone"}
    )
    job = jobs(db, config, clients, web)
    assert job.post(T0) == 0 and slack.messages(OWNER_CHANNEL) == []
    failed = events.get_event(db, event.id)
    assert (failed.attempts, failed.last_error, failed.claimed_by) == (1, GONE, None)


def test_reminders_fire_at_the_right_times(db, config, clients, managed, web, slack) -> None:
    request = requests.create_request(
        db,
        request_id=new_request_id(),
        service="rdp-vmb",
        requester="U0BOB",
        consumer_subscription=TEAM_A,
        now=T0,
    )
    requests.set_state(db, request.id, "pending", now=T0)
    job = jobs(db, config, clients, web)
    assert job.reminders(T0 + timedelta(hours=23, minutes=59)) == 0
    assert job.reminders(T0 + timedelta(hours=24)) == 1
    assert job.reminders(T0 + timedelta(hours=30)) == 0
    (reminder,) = slack.messages(OWNER_CHANNEL)
    assert "has waited 24 h for a decision" in text_of(reminder)
    # a reply in the card's thread notifies only its followers, but always the people it mentions:
    # in its blocks and in its text, which is what Slack notifies from
    assert "<@U0ALICE>: `" in json.dumps(reminder["message"]["blocks"])
    assert reminder["message"]["text"].startswith("Waiting for a decision: <@U0ALICE>: r-")
    assert job.reminders(T0 + timedelta(hours=48)) == 1  # the admins, once
    assert slack.messages("U0ADMIN") and job.reminders(T0 + timedelta(hours=72)) == 0


def test_a_reminder_goes_in_its_cards_thread_or_alone_when_the_card_is_gone(
    db, config, clients, managed, web, slack
) -> None:
    """Issue 12, §3: the owner channel's line about a request is its card; a card deleted since
    (Slack answers thread_not_found) does not lose the reminder, which goes on its own."""
    kept, deleted = (
        requests.create_request(
            db,
            request_id=new_request_id(),
            service="rdp-vmb",
            requester="U0BOB",
            consumer_subscription=TEAM_A,
            now=T0,
        )
        for _ in range(2)
    )
    for request in (kept, deleted):
        requests.set_state(db, request.id, "pending", now=T0)
        posted = web.chat_postMessage(channel=OWNER_CHANNEL, text=f"card of {request.id}")
        cards.remember(db, request.id, posted["channel"], posted["ts"])
    web.chat_delete(channel=OWNER_CHANNEL, ts=requests.get_request(db, deleted.id).card_ts)
    assert jobs(db, config, clients, web).reminders(T0 + timedelta(hours=24)) == 2
    card = requests.get_request(db, kept.id).card_ts
    threaded = [m for m in slack.messages(OWNER_CHANNEL) if m["message"].get("thread_ts") == card]
    assert [m["message"]["ts"] != card for m in threaded] == [False, True]  # the card, then its reply
    assert kept.id in text_of(threaded[1]) and "has waited 24 h" in text_of(threaded[1])
    (alone,) = [m for m in slack.messages(OWNER_CHANNEL) if deleted.id in text_of(m) and not m["deleted"]]
    assert "thread_ts" not in alone["message"] and "has waited 24 h" in text_of(alone)


def _approved_until(db, net_a, managed, pe_name: str, expires_at: datetime) -> LinkRequest:
    """bob's request with an endpoint in Azure, approved until ``expires_at``, as natlink records it."""
    pe = net_a.private_endpoints.begin_create_or_update(A_RG, pe_name, pe_body(managed.alias)).result()
    request = requests.create_request(
        db,
        request_id=new_request_id(),
        service="rdp-vmb",
        requester="U0BOB",
        consumer_subscription=TEAM_A,
        expires_at=expires_at,
        now=T0,
    )
    requests.attach_endpoint(
        db,
        request.id,
        pe_id=pe.id,
        pe_name=None,
        vnet=None,
        subnet=None,
        connection_id=None,
        link_identifier=None,
    )
    return requests.set_state(db, request.id, "approved")


def test_expiry_removes_the_connection_on_time(db, config, clients, managed, web, slack, net_a) -> None:
    request = _approved_until(db, net_a, managed, "pe-timed", T0 + timedelta(days=7))
    job = jobs(db, config, clients, web)
    assert job.expiry(T0 + timedelta(days=7) - timedelta(minutes=1)) == 0
    assert job.expiry(T0 + timedelta(days=7, seconds=1)) == 1
    state = net_a.private_endpoints.get(A_RG, "pe-timed").manual_private_link_service_connections[0]
    assert state.private_link_service_connection_state.status == "Disconnected"
    assert requests.get_request(db, request.id).state == "removed"
    assert "expired" in text_of(slack.messages(OWNER_CHANNEL)[0]) and slack.messages("U0BOB")
    assert job.expiry(T0 + timedelta(days=8)) == 0


def test_an_expiry_goes_in_its_cards_thread_and_to_the_requester_by_dm(
    db, config, clients, managed, web, slack, net_a
) -> None:
    request = _approved_until(db, net_a, managed, "pe-carded", T0 + timedelta(days=1))
    card = web.chat_postMessage(channel=OWNER_CHANNEL, text=f"card of {request.id}")
    cards.remember(db, request.id, card["channel"], card["ts"])
    assert jobs(db, config, clients, web).expiry(T0 + timedelta(days=1, seconds=1)) == 1
    (parent, reply) = slack.messages(OWNER_CHANNEL)
    assert parent["message"]["ts"] == card["ts"] and parent["message"]["reply_count"] == 1
    assert reply["message"]["thread_ts"] == card["ts"] and "expired" in text_of(reply)
    (dm,) = slack.messages("U0BOB")
    assert "thread_ts" not in dm["message"] and "expired" in text_of(dm)


def test_the_digest_shows_the_exact_mapping_line(
    db, config, clients, managed, web, slack, net_a, net_b
) -> None:
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe-rdp", pe_body(managed.alias)).result()
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "rdp-vmb")
    connection.private_link_service_connection_state.status = "Approved"
    net_b.private_link_services.update_private_endpoint_connection(
        B_RG, "rdp-vmb", connection.name, connection
    )
    channel_subscriptions.add_subscription(db, "rdp-vmb", "C0TEAMA", created_by="U0ALICE", digest="daily")
    job = jobs(db, config, clients, web)
    assert job.digest("daily", T0) == 1
    assert job.digest("daily", T0 + timedelta(minutes=30)) == 0  # once per period
    (message,) = slack.messages("C0TEAMA")
    body = text_of(message)
    assert "*rdp-vmb*: ok" in body
    assert (
        "*rdp-vmb* Approved: VM-Win2019 10.0.0.4 → 10.0.0.5:3389 ⇒ NAT 10.2.0.6 → natlink-lb-temp-vnet-default 10.2.0.4:3389 → "
        "VM-Win2019-2 10.2.0.5:3389 (sees 10.2.0.6)"
    ) in body
    assert "backends see the source as 10.2.0.6" in body


def test_missed_runs_run_once() -> None:
    daily = CronTrigger.from_crontab("0 9 * * *", timezone="UTC")
    yesterday = T0 - timedelta(days=1)
    assert missed(daily, yesterday, T0 + timedelta(hours=1))
    assert not missed(daily, T0, T0 + timedelta(hours=1))
    assert missed(daily, yesterday - timedelta(days=5), T0 + timedelta(hours=1))  # five missed: still one run
    assert not missed(daily, None, T0)
    every5 = IntervalTrigger(minutes=5)
    assert missed(every5, None, T0) and missed(every5, T0, T0 + timedelta(minutes=5))
    assert not missed(every5, T0, T0 + timedelta(minutes=4))


def test_an_alert_rerouted_to_the_owners_dm_is_marked_resolved_there(
    db, config, clients, managed, web, slack, compute_b
) -> None:
    """Issue 12, §2: the owner channel refuses natlink, so the alert lands in alice's DM; the
    recovery marks that DM message resolved. When Slack no longer has it, alice is told, not the log."""
    slack.control("POST", "kick", {"channel": OWNER_CHANNEL})
    job = jobs(db, config, clients, web)
    job.sweep(T0)
    _power_off(compute_b)
    assert job.sweep(T0 + timedelta(minutes=5)) == 1
    (alert,) = [m for m in slack.messages("U0ALICE") if "is *stopped*" in text_of(m)]
    compute_b.virtual_machines.begin_start(B_RG, "VM-Win2019-2").result()
    job.sweep(T0 + timedelta(minutes=10))
    (now,) = slack.messages(alert["channel"], ts=alert["message"]["ts"])
    assert "all resolved" in text_of(now) and "need attention" not in text_of(now)
    assert not [c for c in slack.calls("chat.update") if not c["response"].get("ok")]

    _power_off(compute_b)
    job.sweep(T0 + timedelta(minutes=15))
    second = [m for m in slack.messages("U0ALICE") if "is *stopped*" in text_of(m)][-1]
    web.chat_delete(channel=second["channel"], ts=second["message"]["ts"])
    compute_b.virtual_machines.begin_start(B_RG, "VM-Win2019-2").result()
    job.sweep(T0 + timedelta(minutes=20))
    told = [m for m in slack.messages("U0ALICE") if "could not mark" in text_of(m)]
    assert len(told) == 1 and "that message was deleted" in text_of(told[0])
    assert (
        ":white_check_mark: ~*rdp-vmb*: backend VM-Win2019-2 (10.2.0.5) is *stopped*.~ resolved"
        in text_of(told[0])
    )
