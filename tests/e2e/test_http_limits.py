"""Invariant 7 over real HTTP: no body over the limit is read, malformed signature headers get a 401
(never a 500) and run nothing, and no request body reaches the log at any log level.

Requests here are written on a raw socket: an attacker's request is not what an HTTP library
would send (a 64 MiB body, a non-ASCII header), and the oversized body must be refused while it
is still being sent, which only a sender that keeps going shows.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.server import MAX_BODY_BYTES
from sandbox.slack.driver import Delivery, Driver, Reply, sign
from storage import audit, operations
from storage.database import open_database
from tests.e2e.harness import RunningBot, database, ephemerals, ok, start_bot, wait_for

MARKER = "natlink-body-marker"
MIB = 1024 * 1024
RSS_GROWTH_ALLOWED = 16 * MIB  # a 64 MiB body read once costs more than this; refusing it costs ~0


def memory(bot: RunningBot, field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of the bot process, in bytes."""
    status = Path(f"/proc/{bot.process.pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB$", status, re.MULTILINE)
    assert match, status
    return int(match.group(1)) * 1024


def reset_peak(bot: RunningBot) -> None:
    """Start VmHWM again from VmRSS: Python hands a big freed buffer straight back to the kernel,
    so only the peak shows what reading a body cost once the answer is out."""
    Path(f"/proc/{bot.process.pid}/clear_refs").write_text("5")


def exchange(bot: RunningBot, head: list[tuple[str, bytes]], body: Iterator[bytes]) -> tuple[int, bytes]:
    """POST to /slack/events: ``head`` then ``body`` from a thread that stops when the bot stops
    listening, while this thread reads the answer. Returns the answer's status and body."""
    port = urllib.parse.urlsplit(bot.url).port
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    lines = [b"POST /slack/events HTTP/1.1", f"Host: 127.0.0.1:{port}".encode()]
    lines += [name.encode() + b": " + value for name, value in head]
    sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")

    def send_body() -> None:
        try:
            for chunk in body:
                sock.sendall(chunk)
        except OSError:
            pass  # the bot closed the connection: it refused the rest

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    try:
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, answer.read()
    finally:
        sock.close()
        sender.join(30)


def fixed(size: int) -> Iterator[bytes]:
    """``size`` bytes of a form field full of MARKER, in 64 KiB pieces."""
    chunk = (f"text={MARKER}" + f"+{MARKER}" * 4096).encode()[: 64 * 1024]
    for start in range(0, size, len(chunk)):
        yield chunk[: min(len(chunk), size - start)]


def chunked(size: int) -> Iterator[bytes]:
    """The same bytes in HTTP/1.1 chunked transfer coding, with no length announced."""
    for piece in fixed(size):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def unsigned(length: int | None) -> list[tuple[str, bytes]]:
    """Headers as an attacker without the signing secret sends them: well-formed but wrong."""
    head = [
        ("Content-Type", b"application/x-www-form-urlencoded"),
        ("X-Slack-Request-Timestamp", str(int(time.time())).encode()),
        ("X-Slack-Signature", b"v0=" + b"0" * 64),
    ]
    return head + ([("Content-Length", str(length).encode())] if length is not None else [])


def _assert_refused_unread(bot: RunningBot, head: list[tuple[str, bytes]], body: Iterator[bytes]) -> None:
    reset_peak(bot)
    before = memory(bot, "VmRSS")
    status, answer = exchange(bot, head, body)
    time.sleep(0.5)  # anything still reading the body would keep growing
    peak, after = memory(bot, "VmHWM"), memory(bot, "VmRSS")
    print(f"RSS before {before / MIB:.1f} MiB, peak {peak / MIB:.1f} MiB, after {after / MIB:.1f} MiB")
    assert status == 413, status
    assert len(answer) < 200, answer
    assert peak - before < RSS_GROWTH_ALLOWED, (before, peak)
    assert MARKER not in bot.log.read_text()
    assert bot.health()["ok"]


def test_a_64_mib_body_is_refused_before_it_is_read(bot) -> None:
    size = 64 * MIB
    _assert_refused_unread(bot, unsigned(size), fixed(size))


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(bot) -> None:
    head = [*unsigned(None), ("Transfer-Encoding", b"chunked")]
    _assert_refused_unread(bot, head, chunked(64 * MIB))


def test_the_limit_is_exact(bot) -> None:
    """A body of MAX_BODY_BYTES is read and judged on its signature; one byte more is not read."""
    assert exchange(bot, unsigned(MAX_BODY_BYTES), fixed(MAX_BODY_BYTES))[0] == 401
    assert exchange(bot, unsigned(MAX_BODY_BYTES + 1), fixed(MAX_BODY_BYTES + 1))[0] == 413
    assert MARKER not in bot.log.read_text()


# -- malformed signature headers ------------------------------------------------------------------


def held_command(driver: Driver, user: str, channel: str, text: str) -> Delivery:
    """The signed delivery Slack would send for this command, built but not sent."""
    held: list[Delivery] = []
    driver.send = lambda delivery: (held.append(delivery), Reply(200, {}, b"", delivery))[1]  # type: ignore[method-assign]
    try:
        driver.slash_command(user, channel, text)
    finally:
        del driver.send
    return held[0]


def _now() -> str:
    return str(int(time.time()))


def _arabic_indic(digits: str) -> str:
    return "".join(chr(0x0660 + int(d)) for d in digits)


def _signed_over(timestamp: str) -> dict[str, str | None]:
    return {"timestamp": timestamp, "signature": "sign"}


# Each shape: the timestamp and signature header values (None: header absent; "sign": a correct
# signature over this very timestamp and body, as someone holding the secret could make).
SHAPES: dict[str, dict[str, str | None]] = {
    "non-numeric timestamp": _signed_over("abc"),
    "empty timestamp": _signed_over(""),
    "timestamp of 5000 digits": _signed_over("9" * 5000),
    "timestamp of 40 digits": _signed_over("9" * 40),
    "negative timestamp": _signed_over("-" + _now()),
    "non-ASCII digits in the timestamp": _signed_over(_arabic_indic(_now())),
    "missing timestamp": {"timestamp": None, "signature": "sign"},
    "missing signature": {"timestamp": "now", "signature": None},
    "signature without v0=": {"timestamp": "now", "signature": "bare"},
    "non-ASCII signature": {"timestamp": "now", "signature": "v0=" + "é" * 64},
}


def _malformed_head(delivery: Delivery, secret: str, shape: dict[str, str | None]) -> list[tuple[str, bytes]]:
    timestamp = _now() if shape["timestamp"] == "now" else shape["timestamp"]
    signature = sign(secret, timestamp or "", delivery.body)
    chosen = {"sign": signature, "bare": signature.removeprefix("v0=")}.get(
        shape["signature"] or "", shape["signature"]
    )
    head = [
        ("Content-Type", b"application/x-www-form-urlencoded"),
        ("Content-Length", str(len(delivery.body)).encode()),
    ]
    if timestamp is not None:
        head.append(("X-Slack-Request-Timestamp", timestamp.encode()))
    if chosen is not None:
        head.append(("X-Slack-Signature", chosen.encode()))
    return head


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_malformed_signature_headers_get_a_401_and_run_nothing(bot, driver, slack, shape) -> None:
    delivery = held_command(driver, "admin", "#team-b", f"grant <@{slack.user('alice')}|alice> create x")
    calls, messages = len(slack.calls()), len(slack.messages())

    status, _ = exchange(bot, _malformed_head(delivery, slack.signing_secret, shape), iter([delivery.body]))

    assert status == 401
    assert "Exception while serving" not in bot.log.read_text()  # waitress's line for a crashed request
    assert (len(slack.calls()), len(slack.messages())) == (calls, messages)
    db = open_database(database(bot))
    assert audit.list_entries(db) == [] and operations.list_operations(db) == []
    assert bot.health()["ok"]


# -- bodies never reach the log ---------------------------------------------------------------------


def response_url_of(reply: Reply) -> str:
    return urllib.parse.parse_qs(reply.delivery.body.decode())["response_url"][0]


def typed_into_a_select(driver: Driver, secret: str) -> Delivery:
    """A signed block_suggestion (what Slack sends as someone types into an external select) that
    natlink has no listener for: bolt's "Unhandled request" warning quotes the typed value."""
    payload = {"type": "block_suggestion", "action_id": "natlink_x", "block_id": "b", "value": MARKER}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(secret, timestamp, body),
    }
    assert driver.bot_url
    return Delivery(driver.bot_url, body, headers)


def test_no_request_body_is_logged_even_at_debug(sandbox, slack, tmp_path: Path) -> None:
    bot = start_bot(sandbox, slack, tmp_path, NATLINK_LOG_LEVEL="DEBUG")
    try:
        driver = Driver(f"{bot.url}/slack/events", slack.config)
        alice = slack.user("alice")
        genuine = driver.slash_command("alice", "#team-b", f"status {MARKER}-genuine")
        ok(genuine)
        wait_for(lambda: ephemerals(slack, "team-b", alice) or genuine.text, 30, "the answer to alice")
        forged = driver.slash_command("alice", "#team-b", f"status {MARKER}-forged", wrong_signature=True)
        assert forged.status == 401
        stale = driver.slash_command("alice", "#team-b", f"status {MARKER}-stale", age=600)
        assert stale.status == 401
        unhandled = driver.send(typed_into_a_select(driver, slack.signing_secret))
        assert unhandled.status == 404  # no listener takes it; bolt says so at WARNING
    finally:
        assert bot.stop() == 0
    log = bot.log.read_text()
    assert " DEBUG " in log, "the bot did not log at DEBUG, so this proves nothing"
    assert MARKER not in log
    assert "Unhandled request (request body withheld)" in log, "bolt's warning stays, without the body"
    for reply in (genuine, forged, stale):
        assert response_url_of(reply) not in log
