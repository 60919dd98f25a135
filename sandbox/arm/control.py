"""The control API under ``/_sandbox/``: faults, latency, lost writes, failing LROs, worlds and the request log.

It lives outside ``/subscriptions/`` so that no ARM client can reach it by accident, and it
needs no token: it is for the tests, benchmarks and the demo page on this machine.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from . import compute, metrics, rbac, seed
from .errors import ArmError, bad_request
from .world import Json, World, empty_rbac

ERROR_STATUSES = {409, 429, 500, 502, 503, 504}
WRITE_METHODS = {"PUT", "PATCH", "DELETE"}


@dataclass
class Fault:
    """Answer matching requests with ``status`` (and/or after ``delay`` seconds), ``remaining`` times."""

    id: str
    method: str
    path: re.Pattern[str]
    status: int | None
    remaining: int | None
    retry_after: int
    code: str
    message: str
    delay: float
    details: list[Json]

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and bool(self.path.search(path)) and self.remaining != 0


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.faults: list[Fault] = []
        self.lost: list[Fault] = []

    def add(self, spec: Json, *, latency: bool) -> Fault:
        try:
            pattern = re.compile(spec.get("path", ".*"), re.I)
        except re.error as exc:
            # InvalidFault: the stand-in's own
            raise bad_request("InvalidFault", f"'path' is not a valid regular expression: {exc}") from None
        status = None if latency else spec.get("status", 429)
        if not latency and status not in ERROR_STATUSES:
            # InvalidFault: the stand-in's own
            raise bad_request("InvalidFault", f"'status' must be one of {sorted(ERROR_STATUSES)}.")
        delay = float(spec.get("seconds", 0)) if latency else 0.0
        if latency and not 0 < delay <= 30:
            # InvalidFault: the stand-in's own
            raise bad_request("InvalidFault", "'seconds' must be more than 0 and at most 30.")
        count = spec.get("count", None if latency else 1)
        fault = Fault(
            id=str(uuid.uuid4()),
            method=str(spec.get("method", "*")).upper(),
            path=pattern,
            status=status,
            remaining=None if count is None else int(count),
            retry_after=int(spec.get("retry_after", 1)),
            # InternalServerError: ARM's code (azure-docs common-deployment-errors.md); TooManyRequests as
            # the default for a 429: the stand-in's own
            code=spec.get("code") or ("TooManyRequests" if status == 429 else "InternalServerError"),
            message=spec.get("message") or "Injected by the sandbox control API.",
            delay=delay,
            details=_details(spec),
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def add_lost(self, spec: Json) -> Fault:
        """A write that ARM acknowledges and nobody applies: as when a concurrent writer (the portal,
        another tool) overwrites it at once. Clients that believe the 200 without reading back are caught."""
        fault = self.add({**spec, "status": 409}, latency=False)
        fault.status = None
        with self._lock:
            self.faults.remove(fault)
            self.lost.append(fault)
        return fault

    def take_lost(self, method: str, path: str) -> bool:
        """Whether this write is to be acknowledged and dropped, consuming one use of the rule."""
        if method not in WRITE_METHODS:
            return False
        with self._lock:
            for fault in self.lost:
                if fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return True
        return False

    def take(self, method: str, path: str) -> tuple[float, ArmError | None]:
        """The latency to add and the error to answer with, consuming one use of each rule."""
        delay, error = 0.0, None
        with self._lock:
            for fault in self.faults:
                if not fault.matches(method, path) or (fault.status and error):
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                delay += fault.delay
                if fault.status:
                    error = ArmError(
                        fault.status,
                        fault.code,
                        fault.message,
                        headers={"Retry-After": str(fault.retry_after)},
                        details=fault.details,
                    )
        return delay, error

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.lost.clear()


class RequestLog:
    """Every request served, so benchmarks and tests can count ARM calls and retries."""

    def __init__(self, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self.recent: deque[Json] = deque(maxlen=keep)
        self.counts: Counter[str] = Counter()
        self.total = 0

    def record(self, method: str, path: str, query: str, status: int) -> None:
        """Count by method and path; keep the query in the recent list (pages differ only there)."""
        with self._lock:
            self.total += 1
            self.counts[f"{method} {path}"] += 1
            self.recent.append(
                {"time": time.time(), "method": method, "path": path, "query": query, "status": status}
            )

    def report(self) -> Json:
        with self._lock:
            return {"total": self.total, "counts": dict(self.counts), "recent": list(self.recent)}

    def clear(self) -> None:
        with self._lock:
            self.recent.clear()
            self.counts.clear()
            self.total = 0


def handle(
    world: World, faults: FaultBook, log: RequestLog, method: str, path: str, body: Any
) -> tuple[int, Json]:
    """Serve one control request."""
    action = path.removeprefix("/_sandbox").strip("/")
    spec = body if isinstance(body, dict) else {}
    routes = {
        ("GET", "health"): lambda: (200, {"ok": True}),
        ("GET", "requests"): lambda: (200, log.report()),
        ("DELETE", "requests"): lambda: (log.clear(), (200, {"cleared": True}))[1],
        ("POST", "faults"): lambda: (201, {"id": faults.add(spec, latency=False).id}),
        ("POST", "latency"): lambda: (201, {"id": faults.add(spec, latency=True).id}),
        ("POST", "lost-writes"): lambda: (201, {"id": faults.add_lost(spec).id}),
        ("DELETE", "faults"): lambda: _clear_faults(world, faults),
        ("POST", "lro-failures"): lambda: _arm_failure(world, spec),
        ("POST", "reset"): lambda: _reset(world, spec),
        ("POST", "generate"): lambda: _generate(world, spec),
        ("GET", "settings"): lambda: (200, vars(world.settings)),
        ("PUT", "settings"): lambda: _settings(world, spec),
        ("POST", "access"): lambda: _access(world, spec),
        ("GET", "role-definitions"): lambda: (200, _role_definitions(world)),
        ("POST", "role-definitions"): lambda: _define_role(world, spec),
        ("GET", "role-assignments"): lambda: (200, _assignments(world)),
        ("PUT", "role-assignments"): lambda: _set_assignments(world, spec),
        ("DELETE", "role-assignments"): lambda: _reset_assignments(world, spec),
        ("POST", "power"): lambda: _power(world, spec),
        ("POST", "vms"): lambda: _vm(world, spec),
        ("POST", "probe"): lambda: _probe(world, spec),
        ("POST", "nat-usage"): lambda: _nat_usage(world, spec),
        ("GET", "state"): lambda: (200, _state(world)),
        ("PUT", "storage"): lambda: _storage(world, spec),
    }
    handler = routes.get((method, action))
    if handler is None:
        # UnknownControlAction: the stand-in's own
        raise ArmError(404, "UnknownControlAction", f"The control API has no '{method} /_sandbox/{action}'.")
    return handler()


def _clear_faults(world: World, faults: FaultBook) -> tuple[int, Json]:
    faults.clear()
    with world.lock:
        world.failures.clear()
    return 200, {"cleared": True}


def _arm_failure(world: World, spec: Json) -> tuple[int, Json]:
    """Fail the next ``count`` long-running operations on resources of ``type`` (issue 9 rule 8).

    ``retryable: true`` fails them as ARM's network provider does while another operation holds
    the resource: ``RetryableError`` with a ``RetryableErrorDueToAnotherOperation`` detail (the
    429 shape azure-docs request-limits-and-throttling.md describes, seen as an LRO's error too).
    """
    rtype = spec.get("type")
    code = spec.get("code") or ("RetryableError" if spec.get("retryable") else None)
    count = spec.get("count", 1)
    if not isinstance(rtype, str) or not isinstance(code, str):
        raise bad_request(
            "InvalidFault",  # the stand-in's own
            "An LRO failure needs 'type' (e.g. privateLinkServices) and 'code' (or 'retryable': true).",
        )
    if not isinstance(count, int) or count < 1:
        raise bad_request("InvalidFault", "'count' must be a positive integer.")  # the stand-in's own
    details = _details(spec)
    if spec.get("retryable") and not details:
        details = [RETRYABLE_DETAIL]
    with world.lock:
        world.failures[rtype.lower()] = {
            "code": code,
            "message": spec.get("message")
            or (
                RETRYABLE_MESSAGE
                # RetryableError: ARM's code, with its reason in details: hashicorp/terraform#7986
                if code == "RetryableError"
                else f"The operation failed with {code} (injected by the sandbox)."
            ),
            "details": details,
            "status": int(spec.get("status", 500)),
            "remaining": count,
        }
    return 201, {"armed": rtype, "count": count}


# ARM's wording for the retryable 429 (hashicorp/terraform#7986: Status=429 Code="RetryableError"
# Message="A retryable error occured." with the reason in Details); the detail's code is the one
# azure-docs request-limits-and-throttling.md names for "the target resource is locked by another operation".
RETRYABLE_MESSAGE = "A retryable error occured."
RETRYABLE_DETAIL: Json = {
    "code": "RetryableErrorDueToAnotherOperation",
    "message": "Operation is updating the resource; the call can be retried (injected by the sandbox).",
}


def _details(spec: Json) -> list[Json]:
    """An ARM error's ``details``: a list of ``{"code", "message"}`` objects."""
    details = spec.get("details") or []
    if not isinstance(details, list) or not all(
        isinstance(d, dict) and isinstance(d.get("code"), str) for d in details
    ):
        raise bad_request(  # the stand-in's own
            "InvalidFault", '\'details\' must be a list of {"code", "message"} objects.'
        )
    return [{"code": d["code"], "message": str(d.get("message", ""))} for d in details]


def _reset(world: World, spec: Json) -> tuple[int, Json]:
    which = spec.get("world", "seed")
    if which != "empty" and which not in seed.WORLDS:
        # InvalidWorld: the stand-in's own
        raise bad_request("InvalidWorld", f"'world' must be 'empty' or one of {sorted(seed.WORLDS)}.")
    with world.lock:
        world.clear_resources()
        world.subscriptions = {}
        world.rbac = empty_rbac()
        if which != "empty":
            seed.WORLDS[which](world)
        world.save()
    return 200, {"world": which}


def _generate(world: World, spec: Json) -> tuple[int, Json]:
    try:
        subs, services, endpoints = (
            int(spec.get(k, d)) for k, d in (("subscriptions", 1), ("services", 0), ("endpoints", 0))
        )
        with world.lock:
            return 200, seed.generate(world, subs, services, endpoints)
    except (TypeError, ValueError) as exc:
        # InvalidWorld: the stand-in's own
        raise bad_request("InvalidWorld", str(exc)) from None


def _settings(world: World, spec: Json) -> tuple[int, Json]:
    with world.lock:
        if "page_size" in spec:
            if not isinstance(spec["page_size"], int) or spec["page_size"] < 1:
                # InvalidSetting: the stand-in's own
                raise bad_request("InvalidSetting", "'page_size' must be a positive integer.")
            world.settings.page_size = spec["page_size"]
        if "lro_seconds" in spec:
            if not isinstance(spec["lro_seconds"], int | float) or spec["lro_seconds"] < 0:
                # InvalidSetting: the stand-in's own
                raise bad_request("InvalidSetting", "'lro_seconds' must be a number of seconds, 0 or more.")
            world.settings.lro_seconds = float(spec["lro_seconds"])
        world.settings.update_throttle(spec)
    return 200, vars(world.settings)


def _access(world: World, spec: Json) -> tuple[int, Json]:
    with world.lock:
        sub = world.require_subscription(str(spec.get("subscription", "")))
        sub["readable"] = bool(spec.get("readable", True))
        world.save()
    return 200, {"subscription": sub["subscriptionId"], "readable": sub["readable"]}


def _role_definitions(world: World) -> Json:
    """Every role the stand-in knows: the built-in ones, the default, and the custom ones defined."""
    with world.lock:
        custom = dict(world.rbac["roles"])
    names = [*rbac.BUILTIN, rbac.DEFAULT_ROLE, *custom]
    return {"value": [{"name": n, **(rbac.role(world, n) or {})} for n in names]}


def _define_role(world: World, spec: Json) -> tuple[int, Json]:
    """A custom role, in the JSON ``az role definition create --role-definition`` takes."""
    with world.lock:
        defined = rbac.define_role(world, spec)
        world.save()
    return 201, defined


def _assignments(world: World) -> Json:
    """Each principal's own assignments; a principal not listed holds the default role everywhere."""
    with world.lock:
        own = {p: list(a) for p, a in world.rbac["assignments"].items()}
    return {"default": {"role": rbac.DEFAULT_ROLE, "scope": "/"}, "principals": own}


def _set_assignments(world: World, spec: Json) -> tuple[int, Json]:
    """Replace one principal's assignments: ``{"principal": id, "assignments": [{"role", "scope"}]}``."""
    principal = spec.get("principal")
    if not isinstance(principal, str) or not principal:
        # InvalidRoleAssignment: the stand-in's own
        raise bad_request("InvalidRoleAssignment", "'principal' must be a client's object id.")
    with world.lock:
        found = rbac.set_assignments(world, principal, spec.get("assignments"))
        world.save()
    return 200, {"principal": principal, "assignments": found}


def _reset_assignments(world: World, spec: Json) -> tuple[int, Json]:
    """Back to the default role for one ``principal``, or for everyone when none is named."""
    principal = spec.get("principal")
    with world.lock:
        if isinstance(principal, str) and principal:
            world.rbac["assignments"].pop(principal.lower(), None)
        else:
            world.rbac["assignments"] = {}
        world.mark_changed()
        world.save()
    return 200, {"reset": principal or "everyone"}


def _power(world: World, spec: Json) -> tuple[int, Json]:
    with world.transaction():
        compute.set_power(world, str(spec.get("vm", "")), str(spec.get("state", "")))
    world.save()
    return 200, {"vm": spec["vm"], "state": spec["state"]}


def _vm(world: World, spec: Json) -> tuple[int, Json]:
    """A running VM with one NIC in an existing subnet: a VM the seed world has not (a namesake in
    another subscription). ARM's own API cannot make one here (``compute.VirtualMachines.put``)."""
    needed = ("subscription", "group", "name", "subnet")
    missing = [k for k in needed if not isinstance(spec.get(k), str) or not spec[k]]
    if missing:
        # InvalidSetting: the stand-in's own
        raise bad_request("InvalidSetting", f"A VM needs {', '.join(missing)}.")
    with world.transaction():
        vm_id = seed.add_vm(
            world,
            spec["subscription"],
            spec["group"],
            spec["name"],
            f"{spec['name']}-nic",
            spec["subnet"],
            None,
            str(spec.get("location") or seed.REGION),
        )
    world.save()
    return 200, {"id": vm_id}


def _probe(world: World, spec: Json) -> tuple[int, Json]:
    """Fail (or heal) the health probe of one backend address of a load balancer (or of that
    address on one backend ``port``, as when one of two services on a VM stops answering)."""
    lb, ip, healthy = str(spec.get("lb", "")), str(spec.get("ip", "")), bool(spec.get("healthy", False))
    port = spec.get("port")
    if port is not None and not isinstance(port, int):
        # InvalidSignal: the stand-in's own
        raise bad_request("InvalidSignal", "'port' must be a backend port number.")
    with world.lock:
        world.require(lb, "load balancer")
        key = metrics.probe_key(lb, ip, port)
        down = [k for k in world.signals.get("probe_down", []) if k != key]
        world.signals["probe_down"] = down if healthy else [*down, key]
        world.mark_changed()
        world.save()
    return 200, {"lb": lb, "ip": ip, "healthy": healthy}


def _nat_usage(world: World, spec: Json) -> tuple[int, Json]:
    """Set the NAT port usage (percent) of one NAT IP of a private link service."""
    pls, ip, percent = str(spec.get("pls", "")), str(spec.get("ip", "")), spec.get("percent")
    if not isinstance(percent, int | float) or not 0 <= percent <= 100:
        # InvalidSignal: the stand-in's own
        raise bad_request("InvalidSignal", "'percent' must be a number from 0 to 100.")
    with world.lock:
        world.require(pls, "private link service")
        world.signals.setdefault("nat_usage", {})[metrics.probe_key(pls, ip)] = float(percent)
        world.mark_changed()
        world.save()
    return 200, {"pls": pls, "ip": ip, "percent": percent}


def _storage(world: World, spec: Json) -> tuple[int, Json]:
    """Where Azurite's blob endpoint is (the launcher starts Azurite and tells the ARM stand-in)."""
    endpoint = spec.get("blob_endpoint")
    if endpoint is not None and not (isinstance(endpoint, str) and endpoint.startswith("http://127.0.0.1:")):
        # InvalidSetting: the stand-in's own
        raise bad_request(
            "InvalidSetting", "'blob_endpoint' must be Azurite's http://127.0.0.1:<port>/<account>/."
        )
    with world.lock:
        world.blob_endpoint = endpoint
    return 200, {"blob_endpoint": endpoint}


def _state(world: World) -> Json:
    """Everything in the world, rendered as ARM would serve it (for the demo page and debugging)."""
    with world.lock:
        return {
            "subscriptions": [
                {
                    "subscriptionId": s["subscriptionId"],
                    "displayName": s["displayName"],
                    "readable": s["readable"],
                    "resourceGroups": [g["name"] for g in s["groups"].values()],
                }
                for s in world.subscriptions.values()
            ],
            "resources": [world.render(r) | _power_of(r) for r in world.resources.values()],
        }


def _power_of(stored: Json) -> Json:
    return {"powerState": stored["_power"]} if "_power" in stored else {}
