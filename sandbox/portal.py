"""Azure as a person drives it in the portal, for the sandbox page's Azure panel and the tour.

It talks to the ARM stand-in as any client would: a client-credentials token from the Entra
stand-in, bearer calls over TLS checked against the sandbox CA, and each long-running operation
followed to its end, so a change made here lands as a change made behind natlink's back.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .loopback import Refusal, Response, request

Json = dict[str, Any]

NETWORK_API = "2024-05-01"
COMPUTE_API = "2024-07-01"
ARM_SCOPE = "https://management.azure.com/.default"
CONFIG_KEYS = ("arm_url", "authority_host", "tenant_id", "client_id", "client_secret")
LRO_WAIT_SECONDS = 60.0
TOKEN_MARGIN_SECONDS = 60


class PortalError(Refusal):
    """ARM could not be reached, or refused: an HTTP status and error code to answer with."""


@dataclass(frozen=True)
class Outcome:
    """ARM's answer to a change, and how its long-running operation ended (``None``: there was none)."""

    status: int
    body: Any
    operation: str | None


def config_file(path: Path | None) -> Callable[[], Json]:
    """The ARM stand-in's first line, read from ``path`` at each call (it may be written later)."""

    def read() -> Json:
        if path is None:
            raise PortalError(503, "arm_not_configured", "start the stand-in with --arm-config PATH")
        try:
            config = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise PortalError(503, "arm_config_unreadable", str(err)) from None
        missing = [k for k in CONFIG_KEYS if k not in config]
        if missing:
            raise PortalError(503, "arm_config_incomplete", missing)
        return config

    return read


class Portal:
    """A small ARM client: a cached token, then bearer calls; ``/_sandbox/`` calls go without one."""

    def __init__(self, config: Callable[[], Json]) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None

    # -- what the portal does ------------------------------------------------------------------

    def state(self) -> Json:
        """The stand-in's whole world (``/_sandbox/state``): subscriptions and resources."""
        status, body = self.read("/_sandbox/state")
        if status != 200 or not isinstance(body, dict):
            raise PortalError(502, "arm_state_failed", body)
        return body

    def power(self, vm_id: str, action: str) -> Outcome:
        """``powerOff`` or ``start`` a VM with the real VM API, as the portal's buttons do."""
        return self.change("POST", f"{vm_id}/{action}", None, COMPUTE_API)

    def reject(self, connection_id: str, description: str) -> Outcome:
        """Reject a private endpoint connection on the provider's side."""
        state = {"status": "Rejected", "description": description, "actionsRequired": "None"}
        body = {
            "name": connection_id.rsplit("/", 1)[-1],
            "properties": {"privateLinkServiceConnectionState": state},
        }
        return self.change("PUT", connection_id, body, NETWORK_API)

    def create_endpoint(self, subnet_id: str, name: str, alias: str, location: str) -> tuple[str, Outcome]:
        """A private endpoint in ``subnet_id`` with a manual connection to ``alias``; returns its ID."""
        group = "/".join(subnet_id.split("/")[:5])
        endpoint_id = f"{group}/providers/Microsoft.Network/privateEndpoints/{name}"
        connection = {
            "name": name,
            "properties": {"privateLinkServiceId": alias, "requestMessage": "Created in the portal"},
        }
        body = {
            "location": location,
            "properties": {"subnet": {"id": subnet_id}, "manualPrivateLinkServiceConnections": [connection]},
        }
        return endpoint_id, self.change("PUT", endpoint_id, body, NETWORK_API)

    # -- the wire ------------------------------------------------------------------------------

    def read(self, path: str, api_version: str | None = None) -> tuple[int, Any]:
        answer = self._call("GET", path, None, api_version)
        return answer.status, _decoded(answer)

    def change(self, method: str, path: str, body: Any, api_version: str) -> Outcome:
        """One write, waited for as the portal waits; a refusal raises ``PortalError`` (``arm_refused``)."""
        answer = self._call(method, path, body, api_version)
        decoded = _decoded(answer)
        if answer.status >= 400:
            raise PortalError(answer.status if answer.status < 500 else 502, "arm_refused", decoded)
        operation = self._follow(answer.headers) if answer.status in (201, 202) else None
        return Outcome(answer.status, decoded, operation)

    def _call(self, method: str, path: str, body: Any, api_version: str | None) -> Response:
        """``path`` starts with ``/``."""
        url = self.config()["arm_url"].rstrip("/") + path
        if api_version:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"api-version": api_version})
        data = json.dumps(body).encode() if body is not None else None
        bearer = not path.startswith("/_sandbox/")
        return self._send(method, url, data, "application/json", bearer)

    def _follow(self, headers: dict[str, str]) -> str | None:
        """Poll the Azure-AsyncOperation (or Location) until the operation ends, for a bounded while."""
        url = headers.get("azure-asyncoperation") or headers.get("location")
        if not url:
            return None
        deadline = time.monotonic() + LRO_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(min(float(headers.get("retry-after") or 1), 0.5))
            answer = self._send("GET", url, None, "application/json", bearer=True)
            body = _decoded(answer)
            status = body.get("status") if isinstance(body, dict) else None
            if answer.status != 202 and status not in ("InProgress", "Accepted"):
                return status or ("Succeeded" if answer.status == 200 else f"HTTP {answer.status}")
            headers = answer.headers
        return "InProgress"

    def _send(self, method: str, url: str, data: bytes | None, content_type: str, bearer: bool) -> Response:
        config = self.config()
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {self._bearer(config)}"
        context = _tls(config)
        try:
            return request(method, url, data, headers, context=context, timeout=30)
        except OSError as err:
            raise PortalError(502, "arm_unreachable", str(err)) from None

    def _bearer(self, config: Json) -> str:
        """A client-credentials token from the authority, reused until a minute before it expires."""
        with self._lock:
            if self._token and self._token[1] > time.time() + TOKEN_MARGIN_SECONDS:
                return self._token[0]
            form = urllib.parse.urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": config["client_id"],
                    "client_secret": config["client_secret"],
                    "scope": ARM_SCOPE,
                }
            ).encode()
            url = f"{config['authority_host'].rstrip('/')}/{config['tenant_id']}/oauth2/v2.0/token"
            answer = self._send("POST", url, form, "application/x-www-form-urlencoded", bearer=False)
            body = _decoded(answer)
            if answer.status != 200 or not isinstance(body, dict) or "access_token" not in body:
                raise PortalError(502, "arm_token_failed", body)
            self._token = (body["access_token"], time.time() + float(body.get("expires_in", 3600)))
            return self._token[0]


def _tls(config: Json) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=config.get("ca_bundle") or None)


def _decoded(answer: Response) -> Any:
    """The body as JSON (``{}`` when empty), or ``{"raw": text}`` when it is not JSON."""
    if not answer.body.strip():
        return {}
    try:
        return json.loads(answer.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"raw": answer.body.decode("utf-8", "replace")}
