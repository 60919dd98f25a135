"""People's names for notification texts: a bounded, time-limited cache that asks Slack once a person
an hour, and users.info as the real slack_sdk reads it from the Slack stand-in, refusals included."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot import names
from bot.app import CountingWebClient
from bot.names import Names
from sandbox.slack.launch import RunningSlack


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counted(answers: dict[str, str | None]) -> tuple[names.Lookup, list[str]]:
    asked: list[str] = []

    def lookup(user: str) -> str | None:
        asked.append(user)
        return answers.get(user)

    return lookup, asked


def test_a_person_is_asked_about_once_an_hour_and_a_rename_shows_after_it() -> None:
    answers: dict[str, str | None] = {"U0BOB": "bob", "U0GONE": None}
    lookup, asked = counted(answers)
    clock = Clock()
    cache = Names(lookup, clock=clock)
    assert cache.spoken("<@U0BOB> asks <@U0BOB> and <@U0GONE>") == "bob asks bob and someone"
    answers["U0BOB"] = "Robert"
    clock.now += names.TTL_SECONDS - 1
    assert cache.spoken("<@U0BOB>, <@U0GONE>") == "bob, someone"
    assert asked == ["U0BOB", "U0GONE"], "a name and a refusal are both remembered for the hour"
    clock.now += 1
    assert cache.spoken("<@U0BOB>") == "Robert"
    assert asked == ["U0BOB", "U0GONE", "U0BOB"]


def test_a_failure_for_now_is_asked_again_after_a_minute_a_refusal_after_the_hour() -> None:
    """A stall or a 429 must not leave someone nameless for an hour; a refusal may."""
    asked: list[str] = []
    failing = {"U0BOB"}

    def lookup(user: str) -> str | None:
        asked.append(user)
        if user in failing:
            raise names.NotNow("ratelimited")
        return None if user == "U0GONE" else user.lower()

    clock = Clock()
    cache = Names(lookup, clock=clock)
    assert cache.spoken("<@U0BOB> and <@U0GONE>") == "someone and someone"
    clock.now += names.RETRY_SECONDS - 1
    assert cache.spoken("<@U0BOB> and <@U0GONE>") == "someone and someone"
    assert asked == ["U0BOB", "U0GONE"], "neither is asked again within the minute"
    failing.clear()
    clock.now += 1
    assert cache.spoken("<@U0BOB> and <@U0GONE>") == "u0bob and someone"
    assert asked == ["U0BOB", "U0GONE", "U0BOB"], "the refusal stands for the hour"


def test_the_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    lookup, asked = counted({"U1": "one", "U2": "two", "U3": "three"})
    cache = Names(lookup, clock=Clock(), most=2)
    assert [cache.name(u) for u in ("U1", "U2", "U1", "U3")] == ["one", "two", "one", "three"]
    assert cache.name("U1") == "one" and cache.name("U2") == "two"
    assert asked == ["U1", "U2", "U3", "U2"], "U2, the least recently used, was dropped for U3"


def test_a_spent_budget_reads_someone_and_remembers_nothing() -> None:
    clock = Clock()

    def slow(user: str) -> str:
        clock.now += names.BUDGET_SECONDS + 1  # the first lookup alone spends the text's budget
        return user.lower()

    cache = Names(slow, clock=clock)
    assert cache.spoken("<@U0A> and <@U0B>") == "u0a and someone"
    assert cache.spoken("<@U0B>") == "u0b", "the name left out was not remembered as unknown"


def test_a_name_lands_escaped_so_it_mentions_and_links_nobody() -> None:
    """A display name is whatever its owner typed; in the mrkdwn ``text`` it is text, never markup."""
    cache = Names(lambda user: "<!channel> & <https://evil.example|win>", clock=Clock())
    assert cache.spoken("<@U0EVE> asks") == "&lt;!channel&gt; &amp; &lt;https://evil.example|win&gt; asks"


def test_two_posts_at_once_ask_slack_once() -> None:
    asked: list[str] = []
    gate = threading.Event()

    def lookup(user: str) -> str:
        asked.append(user)
        gate.wait(5)
        return "bob"

    cache = Names(lookup)
    said: list[str] = []
    threads = [threading.Thread(target=lambda: said.append(cache.spoken("<@U0BOB>"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert said == ["bob"] * 4 and asked == ["U0BOB"]


@pytest.fixture
def quick(slack: RunningSlack) -> CountingWebClient:
    """The client natlink asks names on (bot.app.web_client): a short timeout, no retries."""
    return CountingWebClient(
        token=slack.bot_token, base_url=slack.api_url, timeout=names.TIMEOUT_SECONDS, retry_handlers=[]
    )


def test_users_info_gives_the_display_name_else_the_real_name(
    slack: RunningSlack, quick: CountingWebClient, caplog: pytest.LogCaptureFixture
) -> None:
    lookup = names.users_info(quick)
    assert lookup("U0BOB") == "bob"
    assert lookup("U0CAROL") == "Carol", "carol never set a display name"
    assert lookup("U0NOBODY") is None
    assert "users.info of U0NOBODY failed: user_not_found" in caplog.text


@pytest.mark.parametrize(
    ("refusal", "error"),
    [
        ({"method": "users.info", "status": 429, "retry_after": 30}, "ratelimited"),
        ({"method": "users.info", "error": "internal_error", "status": 500}, "internal_error"),
    ],
)
def test_a_lookup_slack_could_not_answer_is_not_now_at_once(
    slack: RunningSlack, quick: CountingWebClient, caplog: pytest.LogCaptureFixture, refusal: dict, error: str
) -> None:
    slack.control("POST", "faults", refusal)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "natlink.slack"), pytest.raises(names.NotNow):
        names.users_info(quick)("U0BOB")  # worth asking again soon: Names believes it a minute
    assert time.monotonic() - started < 1, "a 429's Retry-After is not waited out"
    assert f"users.info of U0BOB failed: {error}" in caplog.text


def test_without_users_read_it_is_someone(
    slack: RunningSlack, quick: CountingWebClient, caplog: pytest.LogCaptureFixture
) -> None:
    slack.control("PUT", "scopes", {"scopes": ["chat:write"]})
    assert names.users_info(quick)("U0BOB") is None
    assert "users.info of U0BOB failed: missing_scope" in caplog.text


class Truncating(BaseHTTPRequestHandler):
    """A Slack API that dies mid-answer: 200 and a Content-Length it never delivers (a proxy or a
    load balancer dropping the connection), which urllib reports as http.client.IncompleteRead."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", "200")
        self.end_headers()
        self.wfile.write(b'{"ok": true, "user": {"id"')
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def test_an_answer_cut_short_is_someone_and_never_stops_the_post(caplog: pytest.LogCaptureFixture) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Truncating)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        broken = CountingWebClient(
            token="xoxb-1-2-x",
            base_url=f"http://127.0.0.1:{server.server_address[1]}/api/",
            timeout=names.TIMEOUT_SECONDS,
            retry_handlers=[],
        )
        cache = Names(names.users_info(broken))
        with caplog.at_level(logging.WARNING, "natlink.slack"):
            assert cache.spoken("<@U0BOB> asks") == "someone asks"
        assert "users.info of U0BOB did not answer" in caplog.text
        assert not cache._asking, "no lock is left behind for a lookup that failed"
    finally:
        server.shutdown()
        server.server_close()
