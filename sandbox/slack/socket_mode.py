"""Slack's Socket Mode side: a WebSocket endpoint the app dials out to, and envelopes sent down it.

``apps.connections.open`` (with the app-level token) issues a one-use ticket in a URL
``ws://127.0.0.1:<port>/link/?ticket=<id>&app_id=<app>``. The app opens that URL with the RFC 6455
handshake; the stand-in answers ``101``, greets with ``{"type": "hello", ...}`` and keeps the
connection. A delivery is one envelope ``{"envelope_id", "type", "payload", "accepts_response_payload"}``
sent to one open connection (round robin, as Slack spreads them); the app acknowledges it with a
text frame ``{"envelope_id": <same>, "payload": {...}}`` and ``deliver`` returns that ack.

Plain TCP on loopback (no TLS): slack_sdk's built-in client skips TLS for any port but 443.
One thread accepts, one thread reads each connection; writes are serialised per connection.
Frames: text, continuation, close, ping and pong; 7, 16 and 64-bit lengths; client frames must be
masked (RFC 6455 §5.1) and server frames are not.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import secrets
import socket
import struct
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import SlackError
from .world import APP_ID, Json, World

APP_TOKEN = "xapp-1-A0NATLINK-3000000003-natlinkSandboxAppLevelToken"
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TICKET_SECONDS = 30.0  # Slack's URLs are short-lived and good for one connection
ACK_SECONDS = 3.0  # Slack shows "operation_timeout" when an app has not acknowledged within 3 s
MAX_MESSAGE = 16 * 1024 * 1024
MAX_HANDSHAKE = 16 * 1024

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_PROTOCOL, CLOSE_UNSUPPORTED, CLOSE_TOO_BIG = 1000, 1002, 1003, 1009


class ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """One frame; servers send unmasked, so ``mask`` is only for tests that play a client."""
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if mask is not None else 0
    size = len(payload)
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ m for b, m in zip(payload, itertools.cycle(mask), strict=False))


def _unmask(data: bytes, mask: bytes) -> bytes:
    if not data:
        return data
    whole = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(whole, "big")).to_bytes(len(data), "big")


@dataclass
class Link:
    """One open WebSocket connection from the app."""

    id: str
    sock: socket.socket
    opened: float = field(default_factory=time.time)
    received: int = 0
    sent: int = 0
    pings: int = 0
    closed: bool = False
    _send_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            if self.closed and opcode != OP_CLOSE:
                raise OSError("connection closed")
            self.sock.sendall(encode_frame(opcode, payload))
        if opcode == OP_TEXT:
            self.sent += 1

    def send_json(self, message: Json) -> None:
        self.send(OP_TEXT, json.dumps(message).encode())

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        if self.closed:
            return
        with contextlib.suppress(OSError):
            self.send(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:120])
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def describe(self) -> Json:
        return {
            "id": self.id,
            "opened": self.opened,
            "received": self.received,
            "sent": self.sent,
            "pings": self.pings,
        }


@dataclass
class _Waiter:
    link: Link
    done: threading.Event = field(default_factory=threading.Event)
    ack: Json | None = None
    error: str | None = None


class SocketHub:
    """The Socket Mode endpoint of one workspace: tickets, open connections and envelopes awaiting acks."""

    def __init__(self, app_id: str = APP_ID) -> None:
        self.app_id = app_id
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._tickets: dict[str, float] = {}
        self._links: list[Link] = []
        self._waiting: dict[str, _Waiter] = {}
        self._turn = 0
        self.refused = 0
        self.stray_acks: list[Json] = []
        threading.Thread(target=self._accept, name="sandbox-slack-socket", daemon=True).start()

    # -- what the stand-in does -----------------------------------------------------------------

    def open_url(self) -> str:
        """A fresh one-use URL, as ``apps.connections.open`` answers."""
        ticket = secrets.token_hex(16)
        now = time.monotonic()
        with self._lock:
            self._tickets = {t: exp for t, exp in self._tickets.items() if exp > now}
            self._tickets[ticket] = now + TICKET_SECONDS
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def links(self) -> list[Link]:
        with self._lock:
            return [link for link in self._links if not link.closed]

    def deliver(
        self, kind: str, payload: Json, *, timeout: float = ACK_SECONDS, extra: Json | None = None
    ) -> Json:
        """Send one envelope to an open connection and wait for its ack; raises ``SlackError`` if none comes."""
        envelope_id = str(uuid.uuid4())
        with self._lock:
            open_links = [link for link in self._links if not link.closed]
            if not open_links:
                raise SlackError("no_socket_connection", ["no app is connected over Socket Mode"], status=409)
            link = open_links[self._turn % len(open_links)]
            self._turn += 1
            waiter = self._waiting[envelope_id] = _Waiter(link)
        envelope = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload(kind, payload),
            **(extra or {}),
        }
        started = time.monotonic()
        try:
            try:
                link.send_json(envelope)
            except OSError:
                raise SlackError(
                    "connection_closed", ["the connection closed before delivery"], status=502
                ) from None
            if not waiter.done.wait(timeout):
                raise SlackError(
                    "operation_timeout", [f"the app did not acknowledge within {timeout:g}s"], status=504
                )
            if waiter.error:
                raise SlackError(
                    waiter.error, ["the connection closed before the app acknowledged"], status=502
                )
        finally:
            with self._lock:
                self._waiting.pop(envelope_id, None)
        ack = waiter.ack or {}
        return {
            "ok": True,
            "envelope_id": envelope_id,
            "connection": link.id,
            "envelope": envelope,
            "ack": ack,
            "payload": ack.get("payload"),
            "seconds": round(time.monotonic() - started, 4),
        }

    def disconnect(self, reason: str = "refresh_requested") -> int:
        """Send Slack's ``disconnect`` message to every connection (the app is expected to reconnect)."""
        links = self.links()
        for link in links:
            with contextlib.suppress(OSError):
                link.send_json({"type": "disconnect", "reason": reason, "debug_info": self._debug_info()})
        return len(links)

    def describe(self) -> Json:
        with self._lock:
            links = [link.describe() for link in self._links if not link.closed]
            tickets = sum(exp > time.monotonic() for exp in self._tickets.values())
            waiting = len(self._waiting)
        return {
            "port": self.port,
            "connections": links,
            "num_connections": len(links),
            "open_tickets": tickets,
            "awaiting_ack": waiting,
            "refused_handshakes": self.refused,
            "stray_acks": list(self.stray_acks),
        }

    def close(self) -> None:
        for link in self.links():
            link.close(1001, "going away")
        self._listener.close()

    # -- the wire -------------------------------------------------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="sandbox-slack-link", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link: Link | None = None
        try:
            conn.settimeout(10)
            reader = conn.makefile("rb")
            if not self._handshake(conn, reader):
                return
            conn.settimeout(None)
            link = Link(secrets.token_hex(6), conn)
            with self._lock:
                self._links.append(link)
                count = sum(not x.closed for x in self._links)
            link.send_json(
                {
                    "type": "hello",
                    "num_connections": count,
                    "debug_info": self._debug_info() | {"approximate_connection_time": 18060},
                    "connection_info": {"app_id": self.app_id},
                }
            )
            self._read_loop(link, reader)
        except ProtocolError as err:
            if link is not None:
                link.close(err.code, err.reason)
        except (OSError, ValueError):
            pass
        finally:
            if link is not None:
                self._drop(link)
            conn.close()

    def _handshake(self, conn: socket.socket, reader: Any) -> bool:
        lines: list[bytes] = []
        size = 0
        while True:
            line = reader.readline(MAX_HANDSHAKE)
            size += len(line)
            if not line or size > MAX_HANDSHAKE:
                return False
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line.rstrip(b"\r\n"))
        if not lines:
            return False
        parts = lines[0].decode("latin-1").split()
        headers = {}
        for raw in lines[1:]:
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        target = urlsplit(parts[1]) if len(parts) == 3 else None
        ticket = parse_qs(target.query).get("ticket", [""])[0] if target else ""
        problem = None
        if target is None or parts[0] != "GET" or target.path.rstrip("/") != "/link":
            problem = "404 Not Found"
        elif headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in headers.get(
            "connection", ""
        ).lower().replace(" ", "").split(","):
            problem = "400 Bad Request"
        elif headers.get("sec-websocket-version") != "13":
            problem = "426 Upgrade Required"
        elif not _valid_key(headers.get("sec-websocket-key", "")):
            problem = "400 Bad Request"
        else:
            with self._lock:
                expires = self._tickets.pop(ticket, 0.0)
            if expires < time.monotonic():
                problem = "401 Unauthorized"  # unknown, used or expired ticket
        if problem is not None:
            self.refused += 1
            extra = "Sec-WebSocket-Version: 13\r\n" if problem.startswith("426") else ""
            conn.sendall(
                f"HTTP/1.1 {problem}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            return False
        conn.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(headers['sec-websocket-key'])}\r\n\r\n"
            ).encode()
        )
        return True

    def _read_loop(self, link: Link, reader: Any) -> None:
        parts: list[bytes] = []
        kind: int | None = None
        while True:
            fin, opcode, data = read_frame(reader)
            if opcode in (OP_CLOSE, OP_PING, OP_PONG):
                if not fin or len(data) > 125:
                    raise ProtocolError(CLOSE_PROTOCOL, "bad control frame")
                if opcode == OP_PING:
                    link.pings += 1
                    link.send(OP_PONG, data)
                elif opcode == OP_CLOSE:
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else CLOSE_NORMAL
                    link.close(code if code < 5000 else CLOSE_PROTOCOL)
                    return
                continue
            if opcode == OP_CONTINUATION:
                if kind is None:
                    raise ProtocolError(CLOSE_PROTOCOL, "continuation without a message")
            elif opcode in (OP_TEXT, OP_BINARY):
                if kind is not None:
                    raise ProtocolError(CLOSE_PROTOCOL, "new message inside a fragmented one")
                kind = opcode
            else:
                raise ProtocolError(CLOSE_PROTOCOL, f"unknown opcode {opcode}")
            parts.append(data)
            if sum(map(len, parts)) > MAX_MESSAGE:
                raise ProtocolError(CLOSE_TOO_BIG, "message too big")
            if not fin:
                continue
            message, was, parts, kind = b"".join(parts), kind, [], None
            if was == OP_BINARY:
                raise ProtocolError(CLOSE_UNSUPPORTED, "Socket Mode takes text frames only")
            link.received += 1
            self._on_text(link, message.decode("utf-8"))

    def _on_text(self, link: Link, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._lock:
            waiter = self._waiting.get(envelope_id) if isinstance(envelope_id, str) else None
            if waiter is None:
                self.stray_acks.append({"connection": link.id, "message": message if message else text})
                del self.stray_acks[:-50]
                return
        waiter.ack = message
        waiter.done.set()

    def _drop(self, link: Link) -> None:
        link.closed = True
        with self._lock:
            if link in self._links:
                self._links.remove(link)
            orphans = [w for w in self._waiting.values() if w.link is link and not w.done.is_set()]
        for waiter in orphans:
            waiter.error = "connection_closed"
            waiter.done.set()

    def _debug_info(self) -> Json:
        return {"host": f"applink-sandbox-{self.port}", "build_number": 1}


def _valid_key(key: str) -> bool:
    """RFC 6455 §4.1: the key is 16 random bytes, base64-encoded."""
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        return False


def read_frame(reader: Any) -> tuple[bool, int, bytes]:
    """One masked client frame: (fin, opcode, unmasked payload); raises ``OSError`` at end of stream."""
    head = _exactly(reader, 2)
    fin, rsv, opcode = bool(head[0] & 0x80), head[0] & 0x70, head[0] & 0x0F
    masked, size = bool(head[1] & 0x80), head[1] & 0x7F
    if rsv:
        raise ProtocolError(CLOSE_PROTOCOL, "no extension was negotiated")
    if not masked:
        raise ProtocolError(CLOSE_PROTOCOL, "client frames must be masked")
    if size == 126:
        size = struct.unpack("!H", _exactly(reader, 2))[0]
    elif size == 127:
        size = struct.unpack("!Q", _exactly(reader, 8))[0]
    if size > MAX_MESSAGE:
        raise ProtocolError(CLOSE_TOO_BIG, "frame too big")
    mask = _exactly(reader, 4)
    return fin, opcode, _unmask(_exactly(reader, size), mask)


def _exactly(reader: Any, size: int) -> bytes:
    data = reader.read(size) if size else b""
    if len(data) != size:
        raise OSError("connection closed")
    return data


def accepts_response_payload(kind: str, payload: Json) -> bool:
    """As Slack sets it: commands and view submissions may be answered in the ack; clicks may not."""
    if kind == "slash_commands":
        return True
    return kind == "interactive" and payload.get("type") in ("view_submission", "block_suggestion")


_HUBS: weakref.WeakKeyDictionary[World, SocketHub] = weakref.WeakKeyDictionary()
_HUBS_LOCK = threading.Lock()


def hub(world: World, *, start: bool = False) -> SocketHub | None:
    """The workspace's Socket Mode endpoint, started on first need (``start``), else ``None`` if never started."""
    with _HUBS_LOCK:
        found = _HUBS.get(world)
        if found is None and start:
            found = _HUBS[world] = SocketHub()
        return found
