"""How long-running operations end: settled lazily before each request, so no timer threads
exist and operations persisted before a restart still finish; and the status documents clients poll."""

from __future__ import annotations

import time

from . import compute, ids
from .world import Json, World, now_iso


def settle(world: World) -> None:
    """Finish every operation whose time has come, each in its own transaction."""
    with world.lock:
        now = time.time()
        due = world.due_operations(now)
        for op in due:
            with world.transaction():
                finish(world, op)
                op["endTime"] = now_iso()
                op["ended"] = time.time()
            world.operation_ended(op)
            world.save()
        if due:
            world.forget_old_operations(now)


def finish(world: World, op: Json) -> None:
    """Complete ``op``: succeed and apply its final effect, or fail with the armed error."""
    rid = op["resource"]
    failure = op.get("failure")
    if failure:
        op["status"] = "Failed"
        op["error"] = {k: failure[k] for k in ("code", "message", "details") if k in failure}
        world.set_provisioning_state(rid, "Failed")
        _rearm(world, rid, failure)
        return
    op["status"] = "Succeeded"
    if op["kind"] == "put":
        world.set_provisioning_state(rid, "Succeeded")
    elif op["kind"] == "delete":
        kind = world.kind_of(rid)
        if kind is not None:
            kind.delete(world, rid)
    elif op["kind"] == "action":
        compute.finish_power_action(world, rid, op["action"])


def _rearm(world: World, rid: str, failure: Json) -> None:
    """An LRO failure armed for several uses fails the next operation on that type too."""
    remaining = int(failure.get("remaining", 1)) - 1
    parsed = ids.parse(rid)
    if remaining > 0 and parsed is not None:
        world.failures.setdefault(parsed.types[-1].lower(), {**failure, "remaining": remaining})


def status_document(op: Json) -> Json:
    """The Azure-AsyncOperation body."""
    doc: Json = {"id": op["id"], "name": op["id"], "status": op["status"], "startTime": op["startTime"]}
    if op.get("endTime"):
        doc["endTime"] = op["endTime"]
    if op["status"] == "Failed":
        doc["error"] = op["error"]
    return doc
