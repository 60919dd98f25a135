"""The sandbox's world: every resource, its indexes, long-running operations and persistence.

Resources are stored as the ARM JSON they are served as, under a lower-cased ID. Anything that
can be derived (which addresses a subnet has handed out, which NICs sit in a backend pool,
which private endpoint a connection belongs to) lives in indexes rebuilt from the resources,
never in a second copy on disk.

All mutation happens inside ``transaction()``: the first ``ArmError`` undoes every change the
request made, so a refused request leaves nothing half-done.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from . import ids
from .addresses import SubnetAddresses
from .errors import ArmError, not_found

Json = dict[str, Any]
Claim = tuple[str, str, str]  # (subnet key, ip, owner ipConfiguration id)
Ref = tuple[str, str, str]  # (relation, target key, source id)

STATE_VERSION = 1
OPERATION_RETENTION_SECONDS = 3600  # how long a finished operation's status can still be polled


class Kind(Protocol):
    """One resource type: how it is validated, derived, deleted and indexed."""

    namespace: str
    type: str

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json: ...
    def render(self, world: World, stored: Json) -> Json: ...
    def check_delete(self, world: World, rid: str) -> None: ...
    def delete(self, world: World, rid: str) -> None: ...
    def claims(self, stored: Json) -> list[Claim]: ...
    def refs(self, stored: Json) -> list[Ref]: ...


# ARM's subscription limits, as token buckets per subscription, principal, region and kind of
# operation: "Subscription | reads | 250 | 25", "deletes | 200 | 10", "writes | 200 | 10" (bucket
# size, refill per second), learn.microsoft.com/azure/azure-resource-manager/management/
# request-limits-and-throttling ("Regional throttling and token bucket algorithm", since 2024).
ARM_BUCKETS: dict[str, tuple[int, float]] = {
    "reads": (250, 25.0),
    "writes": (200, 10.0),
    "deletes": (200, 10.0),
}


@dataclass
class Settings:
    page_size: int = 100
    lro_seconds: float = 0.0
    # On by default, at Azure's rate, in tests and `make sandbox` alike: the whole suite passes with it
    # (natlink paces itself; the SDK clients tests use retry a 429 after Retry-After). Off, every
    # bucket stays full: for benchmarks of code rather than of ARM's refill (bench/common.arm_sandbox).
    throttle: bool = True
    reads_bucket: int = ARM_BUCKETS["reads"][0]
    reads_per_second: float = ARM_BUCKETS["reads"][1]
    writes_bucket: int = ARM_BUCKETS["writes"][0]
    writes_per_second: float = ARM_BUCKETS["writes"][1]
    deletes_bucket: int = ARM_BUCKETS["deletes"][0]
    deletes_per_second: float = ARM_BUCKETS["deletes"][1]

    def bucket(self, kind: str) -> tuple[int, float]:
        """Size and refill per second of the ``reads``, ``writes`` or ``deletes`` bucket."""
        return getattr(self, f"{kind}_bucket"), getattr(self, f"{kind}_per_second")

    def update_throttle(self, spec: Json) -> None:
        """Apply the throttling fields of a ``PUT /_sandbox/settings`` body, refusing bad values."""
        if "throttle" in spec:
            if not isinstance(spec["throttle"], bool):
                # InvalidSetting: the stand-in's own
                raise ArmError(400, "InvalidSetting", "'throttle' must be true or false.")
            self.throttle = spec["throttle"]
        for kind in ARM_BUCKETS:
            size, rate = spec.get(f"{kind}_bucket"), spec.get(f"{kind}_per_second")
            if size is not None:
                if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                    # InvalidSetting: the stand-in's own
                    raise ArmError(400, "InvalidSetting", f"'{kind}_bucket' must be a positive integer.")
                setattr(self, f"{kind}_bucket", size)
            if rate is not None:
                if not isinstance(rate, int | float) or isinstance(rate, bool) or rate <= 0:
                    # InvalidSetting: the stand-in's own
                    raise ArmError(400, "InvalidSetting", f"'{kind}_per_second' must be a number above 0.")
                setattr(self, f"{kind}_per_second", float(rate))


@dataclass
class Identity:
    tenant_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    signing_key: str = field(default_factory=lambda: secrets.token_hex(32))
    # A second application in the tenant: "the portal", a person's or a pipeline's identity that
    # sets things up by hand, so that natlink's own identity can be held to exactly its roles.
    portal_client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    portal_client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def secret_of(self, client_id: str) -> str | None:
        """The secret of a client this tenant knows, or None."""
        known = {self.client_id: self.client_secret, self.portal_client_id: self.portal_client_secret}
        return known.get(client_id)


def empty_rbac() -> Json:
    """No custom roles, and no principal with assignments of its own (each holds the default)."""
    return {"roles": {}, "assignments": {}}


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def etag() -> str:
    return f'W/"{uuid.uuid4()}"'


class World:
    def __init__(
        self, kinds: list[Kind], *, state_path: Path | None = None, settings: Settings | None = None
    ):
        self.lock = threading.RLock()
        self.kinds = {(k.namespace.lower(), k.type.lower()): k for k in kinds}
        self.state_path = state_path
        self.settings = settings or Settings()
        self.identity = Identity()
        self.subscriptions: dict[str, Json] = {}
        self.resources: dict[str, Json] = {}
        self.operations: dict[str, Json] = {}
        self._in_progress: set[str] = set()  # operation ids, so settling never scans finished ones
        self.failures: dict[str, Json] = {}  # resource type (lower) -> error for its next LRO
        self.signals: Json = {}  # metric overrides set through the control API (see metrics.py)
        self.rbac: Json = empty_rbac()  # custom roles and role assignments (see rbac.py)
        self.caller = ""  # the principal of the request being served, set under the lock
        # Azurite's blob endpoint while one runs (set through the control API; never saved: its
        # port changes with every start).
        self.blob_endpoint: str | None = None
        self._undo: list[tuple[str, Any]] | None = None
        self._dirty = False
        self._reset_indexes()

    # ----------------------------------------------------------------- indexes
    def _reset_indexes(self) -> None:
        self._addresses: dict[str, SubnetAddresses] = {}
        self._refs: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._by_type: dict[tuple[str, str], set[str]] = defaultdict(set)

    def kind_of(self, stored_or_id: Json | str) -> Kind | None:
        rid = stored_or_id if isinstance(stored_or_id, str) else stored_or_id["id"]
        parsed = ids.parse(rid)
        if not parsed:
            return None
        return self.kinds.get((parsed.namespace.lower(), parsed.types[0].lower()))

    def _index(self, stored: Json, add: bool) -> None:
        kind = self.kind_of(stored)
        parsed = ids.parse(stored["id"])
        assert kind and parsed
        type_key = (parsed.subscription.lower(), f"{parsed.namespace}/{parsed.types[0]}".lower())
        if add:
            self._by_type[type_key].add(ids.key(stored["id"]))
        else:
            self._by_type[type_key].discard(ids.key(stored["id"]))
        for subnet_key, ip, owner in kind.claims(stored):
            pool = self._addresses.get(subnet_key)
            if pool is None:
                continue
            if add:
                pool.claim(ip, owner)
            else:
                pool.release(ip, owner)
        for relation, target, source in kind.refs(stored):
            if add:
                self._refs[(relation, target)].add(source)
            else:
                self._refs[(relation, target)].discard(source)

    def addresses(self, subnet_id: str) -> SubnetAddresses:
        """The address book of a subnet, which must exist (callers validate references first)."""
        pool = self._addresses.get(ids.key(subnet_id))
        if pool is None:
            raise not_found(subnet_id, "subnet")
        return pool

    def define_subnet(self, subnet_id: str, prefix: str) -> None:
        """Create or re-shape a subnet's address book, keeping what is already handed out."""
        subnet_key = ids.key(subnet_id)
        old = self._addresses.get(subnet_key)
        if old is not None and str(old.network) == str(SubnetAddresses(prefix).network):
            return
        fresh = SubnetAddresses(prefix)
        if old is not None:
            fresh.taken.update(old.taken)
        self._record(("subnet", (subnet_key, old)))
        self._addresses[subnet_key] = fresh

    def forget_subnet(self, subnet_id: str) -> None:
        subnet_key = ids.key(subnet_id)
        old = self._addresses.pop(subnet_key, None)
        self._record(("subnet", (subnet_key, old)))

    def allocate(self, subnet_id: str, owner: str) -> str:
        """Claim the lowest free address now, so two configurations in one request differ."""
        pool = self.addresses(subnet_id)
        ip = pool.next_free(subnet_id)
        pool.claim(ip, owner)
        self._record(("claim", (ids.key(subnet_id), ip, owner)))
        return ip

    def claim_static(self, subnet_id: str, ip: str, owner: str) -> None:
        pool = self.addresses(subnet_id)
        pool.check_static(ip, subnet_id, owner)
        pool.claim(ip, owner)
        self._record(("claim", (ids.key(subnet_id), ip, owner)))

    def referrers(self, relation: str, target_id: str) -> list[str]:
        return sorted(self._refs.get((relation, ids.key(target_id)), ()))

    # --------------------------------------------------------------- resources
    def get(self, rid: str) -> Json | None:
        return self.resources.get(ids.key(rid))

    def require(self, rid: str, kind: str = "Resource") -> Json:
        stored = self.get(rid)
        if stored is None:
            raise not_found(rid, kind)
        return stored

    def editable(self, rid: str) -> Json | None:
        """A private copy to modify and ``put`` back: stored bodies are never changed in place."""
        stored = self.get(rid)
        return copy.deepcopy(stored) if stored is not None else None

    def put(self, stored: Json) -> None:
        rkey = ids.key(stored["id"])
        old = self.resources.get(rkey)
        if old is not None:
            self._index(old, add=False)
        self.resources[rkey] = stored
        self._index(stored, add=True)
        self._record(("resource", (rkey, old)))

    def remove(self, rid: str) -> None:
        rkey = ids.key(rid)
        old = self.resources.pop(rkey, None)
        if old is not None:
            self._index(old, add=False)
            self._record(("resource", (rkey, old)))

    def drop_child(self, child_id: str, collection: str) -> None:
        """Remove one element (a subnet, a connection) from its parent's ``collection``."""
        parsed = ids.parse(child_id)
        parent = self.editable(parsed.parent) if parsed else None
        if parent is None:
            return
        items = parent["properties"][collection]
        parent["properties"][collection] = [i for i in items if ids.key(i["id"]) != ids.key(child_id)]
        self.put(parent)

    def list_type(
        self, subscription: str, namespace: str, rtype: str, group: str | None = None
    ) -> list[Json]:
        keys = self._by_type.get((subscription.lower(), f"{namespace}/{rtype}".lower()), set())
        found = [self.resources[k] for k in sorted(keys)]
        if group is not None:
            found = [r for r in found if ids.parse(r["id"]).group.lower() == group.lower()]  # type: ignore[union-attr]
        return found

    def render(self, stored: Json) -> Json:
        kind = self.kind_of(stored)
        assert kind is not None
        return kind.render(self, stored)

    # ----------------------------------------------------------- subscriptions
    def add_subscription(self, subscription_id: str, name: str) -> None:
        self.subscriptions[subscription_id.lower()] = {
            "subscriptionId": subscription_id,
            "displayName": name,
            "readable": True,
            "groups": {},
        }
        self._dirty = True

    def add_group(self, subscription_id: str, name: str, location: str) -> None:
        sub = self.subscriptions[subscription_id.lower()]
        sub["groups"][name.lower()] = {"name": name, "location": location}
        self._dirty = True

    def group(self, subscription_id: str, name: str) -> Json | None:
        sub = self.subscriptions.get(subscription_id.lower())
        return sub["groups"].get(name.lower()) if sub else None

    # ------------------------------------------------------------ transactions
    def mark_changed(self) -> None:
        """Note a change made outside resources (settings, signals) so the next save writes it."""
        self._dirty = True

    def _record(self, entry: tuple[str, Any]) -> None:
        self._dirty = True
        if self._undo is not None:
            self._undo.append(entry)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Apply all of a request's changes, or none of them."""
        with self.lock:
            outer = self._undo
            self._undo = []
            try:
                yield
            except BaseException:
                self._rollback(self._undo)
                raise
            else:
                if outer is not None:
                    outer.extend(self._undo)
            finally:
                self._undo = outer

    def _rollback(self, entries: list[tuple[str, Any]]) -> None:
        self._undo = None
        for what, data in reversed(entries):
            if what == "resource":
                rkey, old = data
                current = self.resources.pop(rkey, None)
                if current is not None:
                    self._index(current, add=False)
                if old is not None:
                    self.resources[rkey] = old
                    self._index(old, add=True)
            elif what == "claim":
                subnet_key, ip, owner = data
                pool = self._addresses.get(subnet_key)
                if pool is not None:
                    pool.release(ip, owner)
            elif what == "subnet":
                subnet_key, old = data
                if old is None:
                    self._addresses.pop(subnet_key, None)
                else:
                    self._addresses[subnet_key] = old
            elif what == "operation":
                self.operations.pop(data, None)
                self._in_progress.discard(data)

    # ----------------------------------------------------- long-running work
    def start_operation(self, kind: str, rid: str, *, action: str = "") -> Json:
        """Begin an LRO on ``rid``; it completes ``lro_seconds`` from now, or fails if armed to."""
        parsed = ids.parse(rid)
        assert parsed is not None
        failure = self.failures.pop(parsed.types[-1].lower(), None)
        op = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "action": action,
            "resource": rid,
            "subscription": parsed.subscription,
            "namespace": parsed.namespace,
            "status": "InProgress",
            "startTime": now_iso(),
            "due": time.time() + self.settings.lro_seconds,
            "failure": failure,
        }
        self.operations[op["id"]] = op
        self._in_progress.add(op["id"])
        self._record(("operation", op["id"]))
        return op

    def due_operations(self, now: float) -> list[Json]:
        """Operations still running whose time has come, the earliest first."""
        due = [self.operations[i] for i in self._in_progress if self.operations[i]["due"] <= now]
        return sorted(due, key=lambda op: op["due"])

    def operation_ended(self, op: Json) -> None:
        self._in_progress.discard(op["id"])

    def forget_old_operations(self, now: float) -> None:
        """Drop finished operations nobody can still be polling, so the world does not grow forever."""
        old = [
            i
            for i, op in self.operations.items()
            if i not in self._in_progress and op.get("ended", now) < now - OPERATION_RETENTION_SECONDS
        ]
        for op_id in old:
            del self.operations[op_id]

    def set_provisioning_state(self, rid: str, state: str) -> None:
        """Set ``provisioningState`` on a resource or on one of its child resources."""
        parsed = ids.parse(rid)
        if parsed is None:
            return
        top = self.editable(parsed.parent)
        if top is None:
            return
        target = top if ids.key(parsed.parent) == ids.key(rid) else _find_child(top, rid)
        if target is None:
            return
        target.setdefault("properties", {})["provisioningState"] = state
        self.put(top)

    # ------------------------------------------------------------- persistence
    def snapshot(self) -> Json:
        return {
            "version": STATE_VERSION,
            "identity": vars(self.identity),
            "subscriptions": self.subscriptions,
            "resources": list(self.resources.values()),
            "operations": list(self.operations.values()),
            "signals": self.signals,
            "rbac": self.rbac,
        }

    def save(self) -> None:
        """Write the world atomically (temp file + rename) if it changed since the last save."""
        with self.lock:
            if not self._dirty or self.state_path is None:
                self._dirty = False
                return
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".arm-", dir=self.state_path.parent)
            with os.fdopen(fd, "w") as handle:
                json.dump(self.snapshot(), handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.state_path)
            self._dirty = False

    def load(self, data: Json) -> None:
        with self.lock:
            self.identity = Identity(**data["identity"])
            self.subscriptions = data["subscriptions"]
            self.clear_resources()
            for stored in data["resources"]:
                self._define_subnets(stored)
            for stored in data["resources"]:
                self.put(stored)
            self.operations = {op["id"]: op for op in data["operations"]}
            self._in_progress = {i for i, op in self.operations.items() if op["status"] == "InProgress"}
            self.signals = data.get("signals", {})
            self.rbac = data.get("rbac") or empty_rbac()
            self._dirty = False

    def clear_resources(self) -> None:
        self.resources = {}
        self.operations = {}
        self._in_progress = set()
        self.failures = {}
        self.signals = {}
        self._reset_indexes()
        self._dirty = True

    def _define_subnets(self, stored: Json) -> None:
        for subnet in (
            stored.get("properties", {}).get("subnets", [])
            if "/virtualnetworks/" in ids.key(stored["id"])
            else []
        ):
            self.define_subnet(subnet["id"], subnet["properties"]["addressPrefix"])

    def require_subscription(self, subscription_id: str) -> Json:
        sub = self.subscriptions.get(subscription_id.lower())
        if sub is None:
            raise ArmError(
                # SubscriptionNotFound: ARM's code: azure-docs common-deployment-errors.md
                404,
                "SubscriptionNotFound",
                f"The subscription '{subscription_id}' could not be found.",
            )
        return sub


def _find_child(top: Json, rid: str) -> Json | None:
    wanted = ids.key(rid)
    for value in top.get("properties", {}).values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and ids.key(str(item.get("id", ""))) == wanted:
                    return item
    return None
