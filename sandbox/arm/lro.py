"""How each kind of long-running operation ends, and the status documents clients poll."""

from __future__ import annotations

from . import compute
from .world import Json, World


def finish(world: World, op: Json) -> None:
    """Complete ``op``: succeed and apply its final effect, or fail with the armed error."""
    rid = op["resource"]
    if op.get("failure"):
        op["status"] = "Failed"
        op["error"] = op["failure"]
        world.set_provisioning_state(rid, "Failed")
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


def status_document(op: Json) -> Json:
    """The Azure-AsyncOperation body."""
    doc: Json = {"id": op["id"], "name": op["id"], "status": op["status"], "startTime": op["startTime"]}
    if op.get("endTime"):
        doc["endTime"] = op["endTime"]
    if op["status"] == "Failed":
        doc["error"] = op["error"]
    return doc
