"""Socket Mode through the stand-in: slack_sdk's own built-in client dials the URL that
``apps.connections.open`` gives it, is greeted with ``hello``, receives the driver's envelopes and
its acks come back to the driver. A raw client checks the WebSocket edges the SDK never shows."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from sandbox.slack.driver import Driver
from sandbox.slack.launch import RunningSlack
from sandbox.slack.socket_mode import accept_key, encode_frame

CARD = [
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "pec-1",
            }
        ],
    }
]


def wait_for(probe: Callable[[], Any], timeout: float = 10, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return result


def connections(slack: RunningSlack) -> list[dict[str, Any]]:
    return slack.control("GET", "socket")["connections"]


class App:
    """A Socket Mode app on slack_sdk's built-in client that records what arrives and acks with ``answer``."""

    def __init__(self, slack: RunningSlack, answer: Callable[[SocketModeRequest], dict | None]) -> None:
        self.messages: list[dict[str, Any]] = []
        self.requests: list[SocketModeRequest] = []
        self.answer = answer
        self.client = SocketModeClient(
            app_token=slack.config["app_token"],
            web_client=WebClient(base_url=slack.api_url),
            on_message_listeners=[lambda raw: self.messages.append(json.loads(raw))],
        )
        self.client.socket_mode_request_listeners.append(self._on_request)

    def _on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        self.requests.append(request)
        payload = self.answer(request)
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))


@pytest.fixture
def socket_app(slack: RunningSlack) -> Iterator[Callable[..., App]]:
    started: list[App] = []

    def start(answer: Callable[[SocketModeRequest], dict | None] = lambda r: None) -> App:
        app = App(slack, answer)
        started.append(app)
        app.client.connect()
        wait_for(lambda: any(m.get("type") == "hello" for m in app.messages), what="hello")
        return app

    yield start
    for app in started:
        app.client.close()
    wait_for(lambda: not connections(slack), what="the connections to close")


@pytest.fixture
def driver(slack: RunningSlack) -> Driver:
    return Driver(None, slack.config, socket_mode=True)


# -- apps.connections.open --------------------------------------------------------------------------


def test_the_world_names_an_app_level_token(slack: RunningSlack) -> None:
    assert slack.config["app_token"].startswith("xapp-")
    assert slack.control("GET", "world")["app_token"] == slack.config["app_token"]


def test_apps_connections_open_gives_a_one_use_websocket_url(slack: RunningSlack) -> None:
    answer = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.config["app_token"])
    url = urlsplit(answer["url"])
    assert answer["ok"] is True and url.scheme == "ws" and url.hostname == "127.0.0.1"
    assert url.path == "/link/" and "ticket=" in url.query and url.port not in (None, 443)
    again = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.config["app_token"])
    assert again["url"] != answer["url"] and urlsplit(again["url"]).port == url.port


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("BOT", "not_allowed_token_type"),
        ("xapp-1-A0NATLINK-1-wrong", "invalid_auth"),
    ],
)
def test_apps_connections_open_takes_the_app_token_only(slack: RunningSlack, token: str, error: str) -> None:
    token = slack.bot_token if token == "BOT" else token
    with pytest.raises(SlackApiError) as caught:
        WebClient(base_url=slack.api_url).apps_connections_open(app_token=token)
    assert caught.value.response["error"] == error


def test_the_app_token_cannot_post(slack: RunningSlack) -> None:
    client = WebClient(token=slack.config["app_token"], base_url=slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=slack.channel("team-a"), text="hi")
    assert caught.value.response["error"] == "not_allowed_token_type"


# -- slack_sdk's client ------------------------------------------------------------------------------


def test_the_sdk_client_connects_and_is_greeted(slack: RunningSlack, socket_app) -> None:
    app = socket_app()
    hello = next(m for m in app.messages if m.get("type") == "hello")
    assert hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": slack.config["api_app_id"]}
    assert "host" in hello["debug_info"]
    assert app.client.is_connected()
    assert len(connections(slack)) == 1


def test_a_slash_command_arrives_as_an_envelope_and_its_ack_reaches_the_driver(
    slack: RunningSlack, socket_app, driver: Driver
) -> None:
    app = socket_app(lambda request: {"response_type": "ephemeral", "text": f"got {request.payload['text']}"})
    reply = driver.slash_command("alice", "#team-a", "status rdp-vmb")
    assert reply.status == 200
    assert reply.json() == {"response_type": "ephemeral", "text": "got status rdp-vmb"}
    request = app.requests[-1]
    assert request.type == "slash_commands"
    assert request.payload["command"] == "/natlink" and request.payload["user_id"] == slack.user("alice")
    assert request.payload["channel_id"] == slack.channel("team-a")
    assert request.payload["response_url"].startswith(slack.config["base_url"] + "/hooks/response/")
    envelope = next(m for m in app.messages if m.get("envelope_id") == request.envelope_id)
    assert envelope["accepts_response_payload"] is True
    assert reply.socket is not None and reply.socket["envelope_id"] == request.envelope_id


def test_a_bare_ack_is_an_empty_reply(socket_app, driver: Driver) -> None:
    socket_app()
    reply = driver.slash_command("bob", "#team-a", "help")
    assert reply.status == 200 and reply.body == b"" and reply.json() is None


def test_a_click_is_an_interactive_envelope(
    slack: RunningSlack, client: WebClient, socket_app, driver: Driver
) -> None:
    app = socket_app()
    posted = client.chat_postMessage(channel=slack.channel("team-b"), text="card", blocks=CARD)
    assert driver.click("alice", "#team-b", posted["ts"], "approve").status == 200
    request = app.requests[-1]
    assert request.type == "interactive" and request.payload["type"] == "block_actions"
    assert request.payload["actions"][0]["value"] == "pec-1"
    envelope = next(m for m in app.messages if m.get("envelope_id") == request.envelope_id)
    assert envelope["accepts_response_payload"] is False


def test_frames_past_64_kib_both_ways(socket_app, driver: Driver) -> None:
    big = "x" * 70_000  # 64-bit lengths on both sides; the acks of short texts use 7 and 16 bits
    app = socket_app(lambda request: {"text": request.payload["text"] * 2})
    reply = driver.slash_command("alice", "#team-a", big)
    assert app.requests[-1].payload["text"] == big
    assert reply.json() == {"text": big * 2}
    assert driver.slash_command("alice", "#team-a", "y" * 300).json() == {"text": "y" * 600}


def test_without_a_connection_the_delivery_is_refused(slack: RunningSlack, driver: Driver) -> None:
    wait_for(lambda: not connections(slack), what="no connections")
    reply = driver.slash_command("alice", "#team-a", "help")
    assert reply.status == 409 and reply.json()["error"] == "no_socket_connection"


def test_socket_mode_deliveries_are_not_signed(driver: Driver) -> None:
    with pytest.raises(ValueError):
        driver.slash_command("alice", "#team-a", "help", wrong_signature=True)


def test_a_replay_carries_retry_fields(slack: RunningSlack, socket_app, driver: Driver) -> None:
    app = socket_app()
    first = driver.slash_command("alice", "#team-a", "help")
    driver.replay(first, retry_num=2, reason="timeout")
    retried = app.requests[-1]
    assert retried.retry_attempt == 2 and retried.retry_reason == "timeout"
    assert retried.payload == app.requests[-2].payload and retried.envelope_id != app.requests[-2].envelope_id


def test_disconnect_makes_the_sdk_reconnect(slack: RunningSlack, socket_app) -> None:
    socket_app()
    before = {c["id"] for c in connections(slack)}
    assert slack.control("POST", "socket/disconnect", {"reason": "refresh_requested"})["sent"] == 1
    wait_for(
        lambda: (now := {c["id"] for c in connections(slack)}) and now.isdisjoint(before) and len(now) == 1,
        what="a new connection replacing the old one",
    )


# -- the WebSocket edges, with a raw client ------------------------------------------------------------


class RawClient:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.file = self.sock.makefile("rb")
        self.status = int(self.file.readline().split()[1])
        self.headers = {}
        while (line := self.file.readline().strip()) != b"":
            name, _, value = line.decode().partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def send(self, opcode: int, payload: bytes, *, masked: bool = True, fin: bool = True) -> None:
        self.sock.sendall(encode_frame(opcode, payload, fin=fin, mask=os.urandom(4) if masked else None))

    def receive(self) -> tuple[int, bytes]:
        head = self.file.read(2)
        size = head[1] & 0x7F
        if size == 126:
            size = struct.unpack("!H", self.file.read(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self.file.read(8))[0]
        assert not head[1] & 0x80, "server frames are not masked"
        return head[0] & 0x0F, self.file.read(size)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def open_url(slack: RunningSlack) -> Iterator[Callable[[], str]]:
    def issue() -> str:
        return WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.config["app_token"])[
            "url"
        ]

    yield issue
    wait_for(lambda: not connections(slack), what="raw connections to close")


def test_the_handshake_and_a_ticket_used_twice(open_url) -> None:
    url = open_url()
    raw = RawClient(url)
    try:
        assert raw.status == 101 and raw.headers["sec-websocket-accept"] == accept_key(raw.key)
        opcode, hello = raw.receive()
        assert opcode == 0x1 and json.loads(hello)["type"] == "hello"
    finally:
        raw.close()
    again = RawClient(url)
    assert again.status == 401
    again.close()


def test_ping_pong_fragments_and_close(slack: RunningSlack, open_url, driver: Driver) -> None:
    raw = RawClient(open_url())
    try:
        raw.receive()  # hello
        raw.send(0x9, b"are you there")
        assert raw.receive() == (0xA, b"are you there")

        answered: dict[str, Any] = {}
        thread = threading.Thread(
            target=lambda: answered.update(reply=driver.slash_command("bob", "#team-a", "x"))
        )
        thread.start()
        opcode, data = raw.receive()
        envelope = json.loads(data)
        ack = json.dumps(
            {"envelope_id": envelope["envelope_id"], "payload": {"text": "in two parts"}}
        ).encode()
        raw.send(0x1, ack[:10], fin=False)
        raw.send(0x9, b"between")  # control frames may come between fragments
        raw.send(0x0, ack[10:])
        assert raw.receive() == (0xA, b"between")
        thread.join(10)
        assert answered["reply"].json() == {"text": "in two parts"}

        raw.send(0x8, struct.pack("!H", 1000))
        opcode, data = raw.receive()
        assert opcode == 0x8 and struct.unpack("!H", data[:2])[0] == 1000
    finally:
        raw.close()


def test_an_unmasked_client_frame_is_a_protocol_error(open_url) -> None:
    raw = RawClient(open_url())
    try:
        raw.receive()  # hello
        raw.send(0x1, b"{}", masked=False)
        opcode, data = raw.receive()
        assert opcode == 0x8 and struct.unpack("!H", data[:2])[0] == 1002
    finally:
        raw.close()


def test_an_app_that_never_acks_times_out(slack: RunningSlack, open_url) -> None:
    raw = RawClient(open_url())
    try:
        raw.receive()  # hello
        reply = Driver(None, slack.config, socket_mode=True, timeout=0.5).slash_command("bob", "#team-a", "x")
        assert reply.status == 504 and reply.json()["error"] == "operation_timeout"
    finally:
        raw.close()
