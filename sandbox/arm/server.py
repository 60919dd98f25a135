"""The HTTPS server: one threaded server for ARM, the Entra ID stand-in and the control API.

Each connection gets its own thread, and its TLS handshake happens on that thread, so a slow
client never holds up the others. HTTP/1.1 keep-alive is supported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from sandbox.loopback import LoopbackServer, read_json, send_bytes, send_json
from sandbox.loopback import free_port as free_port  # tests/e2e import it from here

from . import api, apiversions, control, identity, lro
from .compute import VirtualMachines, VirtualMachineScaleSets
from .errors import ArmError
from .loadbalancer import LoadBalancers
from .network import (
    NatGateways,
    NetworkInterfaces,
    NetworkSecurityGroups,
    PublicIPAddresses,
    RouteTables,
    VirtualNetworks,
)
from .privatelink import PrivateEndpoints, PrivateLinkServices
from .storage import StorageAccounts
from .watcher import NetworkWatchers
from .world import Json, Settings, World

_OPENID = re.compile(r"^/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration$")
_TOKEN = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token$")
_METADATA = re.compile(r"^/metadata/endpoints/?$", re.I)
_EMPTY_SEGMENTS = re.compile(r"/{2,}")
_SUBSCRIPTION = re.compile(r"^/subscriptions/(?P<id>[^/]+)", re.I)
# The kind of operation each method counts against (request-limits-and-throttling: "Subscription
# scoped reads/writes remaining"; deletes have a bucket of their own since the 2024 token buckets).
_KINDS = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}


def make_world(state_path: Path | None = None, settings: Settings | None = None) -> World:
    kinds = [
        VirtualNetworks(),
        NetworkInterfaces(),
        LoadBalancers(),
        PrivateLinkServices(),
        PrivateEndpoints(),
        VirtualMachines(),
        VirtualMachineScaleSets(),
        NetworkSecurityGroups(),
        RouteTables(),
        NatGateways(),
        PublicIPAddresses(),
        NetworkWatchers(),
        StorageAccounts(),
    ]
    return World(kinds, state_path=state_path, settings=settings)  # type: ignore[arg-type]


class ArmServer(LoopbackServer):
    scheme = "https"
    thread_name = "sandbox-arm"

    def __init__(
        self, world: World, port: int, cert: Path, key: Path, cloud: identity.Cloud = identity.PUBLIC
    ) -> None:
        self.world = world
        self.cloud = cloud  # the Azure cloud this sandbox plays: its token audiences and metadata
        self.faults = control.FaultBook()
        self.log = control.RequestLog()
        self.throttle = Throttle(world)
        self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl_context.load_cert_chain(cert, key)
        super().__init__(port, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that cannot finish a handshake is not ours to serve
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            with contextlib.suppress(ssl.SSLError, OSError, ValueError):
                tls.unwrap()


class Throttle:
    """ARM's subscription token buckets (see ``world.ARM_BUCKETS`` for the source), one per
    subscription, principal and kind of operation: the sandbox is one region.

    Each request takes a token; an empty bucket answers 429 ``SubscriptionRequestsThrottled`` with
    ``Retry-After`` until a token is back, and the refused request takes none. Every answer tells
    what is left in ``x-ms-ratelimit-remaining-subscription-<kind>``. With ``throttle`` off the
    buckets are not drawn on and the header shows a full one.
    """

    def __init__(self, world: World) -> None:
        self.world = world  # its settings are read on each request: the control API changes them
        self._lock = threading.Lock()
        # (subscription, principal, kind) -> (tokens, when counted, the bucket size then)
        self._buckets: dict[tuple[str, str, str], tuple[float, float, int]] = {}

    def take(self, method: str, path: str, principal: str) -> dict[str, str]:
        """The rate-limit header for this request, or ArmError 429 when its bucket is empty.

        A bucket whose size the control API changed starts again full, so a test that shrinks it
        leaves no empty bucket behind.
        """
        match = _SUBSCRIPTION.match(path)
        if match is None:
            return {}
        kind = _KINDS.get(method, "writes")
        header = f"x-ms-ratelimit-remaining-subscription-{kind}"
        settings = self.world.settings
        size, rate = settings.bucket(kind)
        if not settings.throttle:
            return {header: str(size)}
        key = (match["id"].lower(), principal.lower(), kind)
        now = time.monotonic()
        with self._lock:
            tokens, at, made = self._buckets.get(key, (float(size), now, size))
            tokens = float(size) if made != size else min(float(size), tokens + (now - at) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now, size)
                wait = max(1, math.ceil((1 - tokens) / rate))
                raise _throttled(kind, match["id"], principal, wait, header)
            self._buckets[key] = (tokens - 1, now, size)
        return {header: str(int(tokens - 1))}


def _throttled(kind: str, subscription: str, principal: str, wait: int, header: str) -> ArmError:
    """ARM's answer to an empty bucket, as real ARM words it (velero-io/velero#9171)."""
    singular = {"reads": "read", "writes": "write", "deletes": "delete"}[kind]
    return ArmError(
        429,
        # SubscriptionRequestsThrottled: ARM's code (velero-io/velero#9171, MicrosoftDocs/azure-docs#105248)
        "SubscriptionRequestsThrottled",
        f"Number of '{singular}' requests for subscription '{subscription}' actor '{principal}' exceeded. "
        f"Please try again after '{wait}' seconds after additional tokens are available. "
        "Refer to https://aka.ms/arm-throttling for additional information.",
        headers={"Retry-After": str(wait), header: "0"},
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two small writes; with Nagle on, the second waits ~40 ms for the
    # client's delayed ACK on every response (measured in bench/arm.py: 22 -> 1,300 GETs/s).
    disable_nagle_algorithm = True
    server: ArmServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is kept in memory and served by the control API."""

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_DELETE = do_PATCH = do_GET

    def _serve(self) -> None:
        url = urlsplit(self.path)
        # ARM reads an empty path segment as none: Resources_CreateOrUpdate's own path template
        # (specification/resources/.../resources.json: .../providers/{resourceProviderNamespace}/
        # {parentResourcePath}/{resourceType}/{resourceName}) puts "//" before every top-level
        # resource, which is what `az resource create` sends.
        url = url._replace(path=_EMPTY_SEGMENTS.sub("/", url.path))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body, headers = 500, None, {}
        self.ratelimit: dict[str, str] = {}
        try:
            status, body, headers = self._route(url.path, url.query, raw)
        except ArmError as err:
            status, body, headers = err.status, err.body(), err.headers
        except Exception as exc:  # a sandbox bug must still answer like ARM, and say what broke
            status, body, headers = (
                500,
                {"error": {"code": "InternalServerError", "message": repr(exc), "details": []}},
                {},
            )
        headers = self.ratelimit | headers
        if not url.path.startswith("/_sandbox"):
            self.server.log.record(self.command, url.path, url.query, status)
        self._send(status, body, headers)

    def _route(self, path: str, query: str, raw: bytes) -> tuple[int, Json | None, dict[str, str]]:
        world = self.server.world
        if path.startswith("/_sandbox/"):
            status, body = control.handle(
                world, self.server.faults, self.server.log, self.command, path, _body(raw)
            )
            return status, body, {}
        delay, fault = self.server.faults.take(self.command, path)
        if delay:
            time.sleep(delay)
        if fault:
            raise fault
        if match := _OPENID.match(path):
            return 200, identity.openid_configuration(self.server.base_url, match["tenant"]), {}
        if (match := _TOKEN.match(path)) and self.command == "POST":
            status, body = identity.issue_token(world.identity, match["tenant"], raw, self.server.cloud)
            return status, body, {}
        if _METADATA.match(path) and self.command == "GET":
            return self._metadata(query)
        caller = identity.check_bearer(world.identity, self.headers.get("Authorization"), self.server.cloud)
        self.ratelimit = self.server.throttle.take(self.command, path, caller)
        lro.settle(world)
        req = api.Request(
            method=self.command,
            path=path,
            query={k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)},
            body=_body(raw),
            base_url=f"https://{self.headers.get('Host') or self.server.base_url.removeprefix('https://')}",
            caller=caller,
        )
        if self.server.faults.take_lost(self.command, path):
            return _acknowledged_not_applied(world, req)
        return api.dispatch(world, req)

    def _metadata(self, query: str) -> tuple[int, Any, dict[str, str]]:
        """ARM's cloud metadata, served without a token: clients read it before they can log in."""
        version = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}.get("api-version")
        if version is None:
            raise ArmError(
                400,
                # MissingApiVersionParameter: ARM's code, as answered in MicrosoftDocs/feedback#2279
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        apiversions.check("/metadata/endpoints", version)
        base_url = f"https://{self.headers.get('Host') or self.server.base_url.removeprefix('https://')}"
        return 200, identity.metadata_endpoints(base_url, self.server.cloud, version), {}

    def _send(self, status: int, body: Json | None, headers: dict[str, str]) -> None:
        request_id = str(uuid.uuid4())
        correlation = self.headers.get("x-ms-client-request-id") or request_id
        ids = {"x-ms-request-id": request_id, "x-ms-correlation-request-id": correlation}
        try:  # orjson: list pages of a large world are megabytes each (issue 14's big sweep)
            payload = b"" if body is None else orjson.dumps(body)
        except TypeError:  # orjson.JSONEncodeError: what only the standard library encodes
            send_json(self, status, body, ids | headers)
            return
        send_bytes(self, status, payload, "application/json; charset=utf-8", ids | headers)


def _acknowledged_not_applied(world: World, req: api.Request) -> tuple[int, Json | None, dict[str, str]]:
    """A lost write's answer: a DELETE "done", a PUT answered with the resource as it still is."""
    if req.method == "DELETE":
        return 204, None, {}
    return api.dispatch(world, dataclasses.replace(req, method="GET", body=None))


def _body(raw: bytes) -> Any:
    return read_json(raw, _Unparseable(raw))


class _Unparseable:
    """A body that was not JSON: handlers that need JSON refuse it with InvalidRequestContent."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
