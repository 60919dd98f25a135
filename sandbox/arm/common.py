"""Validation and shaping shared by every resource kind."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import orjson

from . import ids, rbac
from .errors import ArmError, bad_request, invalid_reference
from .world import Json, World, etag

NETWORK = "Microsoft.Network"


NAME_LENGTHS = {
    # Azure docs, "Naming rules and restrictions for Azure resources" (azure-docs,
    # articles/azure-resource-manager/management/resource-name-rules.md), Microsoft.Network:
    # privateEndpoints and virtualNetworks take 2-64 characters; load balancers and their child
    # resources, NICs, subnets, NSGs, route tables and public IPs 1-80 (private link services are
    # not listed and take the network default). Same characters for all: ids.NAME_RULE.
    "Microsoft.Network/privateEndpoints": (2, 64),
    "Microsoft.Network/virtualNetworks": (2, 64),
}
DEFAULT_NAME_LENGTH = (1, 80)


def require_name(name: str, rid: str, rtype: str | None = None) -> None:
    """Azure's name rule for the resource type ``rtype`` (the network default when not given)."""
    low, high = NAME_LENGTHS.get(rtype or "", DEFAULT_NAME_LENGTH)
    if not ids.valid_name(name) or not low <= len(name) <= high:
        # ARM's code and, for the 80-character default, its message; the wording for the other
        # lengths follows it (the stand-in's own).
        length = f"up to {high}" if low == 1 else f"between {low} and {high}"
        raise bad_request(
            # InvalidResourceName: the stand-in's own
            "InvalidResourceName",
            f"Resource name {name} is invalid. The name can be {length} characters long. It must begin with "
            "a word character, and it must end with a word character or with '_'. The name may contain word "
            "characters or '.', '-', '_'.",
            rid,
        )


def require_location(body: Json, rid: str) -> str:
    location = body.get("location")
    if not isinstance(location, str) or not location.strip():
        # LocationRequired: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("LocationRequired", "The location property is required for this definition.", rid)
    return location.replace(" ", "").lower()


def properties(body: Json) -> Json:
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("InvalidRequestFormat", "Cannot parse the request: 'properties' must be an object.")
    return props


def ref_id(value: Any, field: str, rid: str) -> str:
    """The ``id`` of a ``{"id": ...}`` reference, or a 400 naming the field."""
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not ids.parse(value["id"]):
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            f"Cannot parse the request: '{field}' must be a resource reference.",
            rid,
        )
    return value["id"]


def require_subnet(world: World, subnet_id: str, referrer: str) -> tuple[Json, Json]:
    """The (vnet, subnet) a reference points at, or the ARM error for a dangling reference; the
    caller must be allowed to join it (``virtualNetworks/subnets/join/action``) first."""
    require_join(world, subnet_id, "Microsoft.Network/virtualNetworks/subnets/join/action", referrer)
    parsed = ids.parse(subnet_id)
    vnet = world.get(parsed.parent) if parsed and len(parsed.types) == 2 else None
    subnet = _child(vnet, "subnets", subnet_id) if vnet else None
    if vnet is None or subnet is None:
        raise invalid_reference(subnet_id, referrer)
    return vnet, subnet


def require_join(world: World, target: str, join: str, rid: str, action: str | None = None) -> None:
    """Refuse a write of ``rid`` (``action``) that links ``target`` unless the caller holds ``join``
    there: 403 ``LinkedAuthorizationFailed`` (message as in microsoft/planetary-computer-hub#25 and
    coreos/tectonic-installer#1954). Nobody holds anything in a subscription marked unreadable."""
    if rbac.allowed(world, world.caller, join, target):
        return
    raise linked_refusal(world, target, join, rid, action)


def linked_refusal(world: World, target: str, join: str, rid: str, action: str | None = None) -> ArmError:
    """ARM's 403 for a write of ``rid`` whose caller may not ``join`` the linked ``target``."""
    caller, action = world.caller, action or write_action(rid)
    return ArmError(
        403,
        # LinkedAuthorizationFailed: ARM's code: azure-docs common-deployment-errors.md
        "LinkedAuthorizationFailed",
        f"The client '{caller}' with object id '{caller}' has permission to perform action '{action}' on "
        f"scope '{rid}'; however, it does not have permission to perform action '{join}' on the linked "
        f"scope(s) '{target}' or the linked scope(s) are invalid.",
        target=rid,
    )


def write_action(rid: str) -> str:
    """The action a PUT of ``rid`` is authorized as: ``<namespace>/<type>[/<child type>]/write``."""
    parsed = ids.parse(rid)
    return f"{parsed.namespace}/{'/'.join(parsed.types)}/write" if parsed else "*/write"


def _child(top: Json, collection: str, child_id: str) -> Json | None:
    wanted = ids.key(child_id)
    for item in top["properties"].get(collection, []):
        if ids.key(item["id"]) == wanted:
            return item
    return None


def find_child(world: World, child_id: str, collection: str) -> tuple[Json, Json] | None:
    """Locate a child resource (a frontend, a pool, a subnet) and its parent."""
    parsed = ids.parse(child_id)
    if parsed is None or len(parsed.types) != 2:
        return None
    top = world.get(parsed.parent)
    if top is None or parsed.types[1].lower() != collection.lower():
        return None
    child = _child(top, collection, child_id)
    return (top, child) if child is not None else None


def envelope(
    rid: str, parsed: ids.ParsedId, rtype: str, location: str, body: Json, existing: Json | None
) -> Json:
    """The common top-level fields of a stored resource."""
    return {
        "name": parsed.name,
        "id": existing["id"] if existing else rid,
        "etag": etag(),
        "type": rtype,
        "location": location,
        "tags": body.get("tags") or {},
    }


class Draft(NamedTuple):
    """Where every PUT of a top-level resource starts: what exists, and the new body's envelope."""

    existing: Json | None
    location: str
    props: Json
    stored: Json


def draft(world: World, rid: str, parsed: ids.ParsedId, rtype: str, body: Json) -> Draft:
    """Check the name and location, and shape the stored resource's top-level fields."""
    require_name(parsed.name, rid, rtype)
    existing = world.get(rid)
    location = require_location(body, rid)
    props = properties(body)
    return Draft(existing, location, props, envelope(rid, parsed, rtype, location, body, existing))


def is_child(rid: str) -> bool:
    """Whether ``rid`` names a child resource (a subnet, a connection) rather than a top-level one."""
    parsed = ids.parse(rid)
    assert parsed
    return len(parsed.types) == 2


def child(parent_id: str, collection: str, item: Json, rtype: str, rid: str) -> tuple[str, Json]:
    """Validate a child element's name and give it its ID, type and etag."""
    name = item.get("name") if isinstance(item, dict) else None
    if not isinstance(name, str):
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            f"Cannot parse the request: every entry of '{collection}' needs a name.",
            rid,
        )
    require_name(name, rid)
    cid = ids.child_id(parent_id, collection, name)
    return cid, {"name": name, "id": cid, "etag": etag(), "type": rtype}


def unique_names(items: list[Json], collection: str, rid: str) -> None:
    seen: set[str] = set()
    for item in items:
        lowered = str(item.get("name", "")).lower()
        if lowered in seen:
            raise bad_request(
                # DuplicateResourceName: the stand-in's own
                "DuplicateResourceName",
                f"Resource {rid} has two child resources with the same name ({item.get('name')}) in '{collection}'.",
                rid,
            )
        seen.add(lowered)


def as_list(value: Any, field: str, rid: str) -> list[Json]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            f"Cannot parse the request: '{field}' must be a list of objects.",
            rid,
        )
    return value


def allocate_ip(
    world: World, subnet_id: str, owner: str, method: str, wanted: str | None, kept: str | None
) -> str | None:
    """Apply Azure's allocation rules for one IP configuration.

    ``kept`` is the address the configuration already has in this subnet: a dynamic address is
    kept across updates, as Azure does, and a static one asked for again is already claimed.
    """
    if method == "Static":
        if wanted == kept:
            return kept
        if not wanted:
            raise bad_request(
                # PrivateIPAddressRequired: the stand-in's own
                "PrivateIPAddressRequired",
                f"IP configuration {owner} is Static but has no privateIPAddress.",
                owner,
            )
        world.claim_static(subnet_id, wanted, owner)
        return wanted
    if kept:
        return kept
    return world.allocate(subnet_id, owner)


def kept_address(old_props: Json, subnet_id: str) -> str | None:
    """The address a configuration had before this PUT, if it stays in the same subnet."""
    same_subnet = ids.key((old_props.get("subnet") or {}).get("id", "")) == ids.key(subnet_id)
    return old_props.get("privateIPAddress") if same_subnet else None


def allocation_method(value: Any, rid: str) -> str:
    if value in (None, "Dynamic", "dynamic"):
        return "Dynamic"
    if value in ("Static", "static"):
        return "Static"
    raise bad_request(
        # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
        "InvalidRequestFormat",
        f"privateIPAllocationMethod must be Static or Dynamic, not {value!r}.",
        rid,
    )


def rendered(stored: Json) -> Json:
    """A deep copy without the sandbox's private bookkeeping (keys starting with ``_``).

    Every list page renders each of its resources, so this is the stand-in's hottest path (issue
    14's 10,000-service sweep): a round trip through orjson copies a JSON tree about 1.6 times as
    fast as :func:`tree_copy`, which stays for anything orjson will not encode."""
    public = {k: v for k, v in stored.items() if not k.startswith("_")}
    try:
        return orjson.loads(orjson.dumps(public))  # type: ignore[no-any-return]
    except TypeError:  # orjson.JSONEncodeError: a non-string key, a huge int, an object
        return tree_copy(public)


def tree_copy(value: Any) -> Any:
    """A deep copy of a JSON tree (dicts, lists, scalars): several times faster than
    ``copy.deepcopy``, which keeps a memo for shared and cyclic objects a JSON tree cannot have."""
    if isinstance(value, dict):
        return {k: tree_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tree_copy(v) for v in value]
    return value


def guid() -> str:
    return str(uuid.uuid4())


def in_use(code: str, message: str, rid: str) -> ArmError:
    return bad_request(code, message, rid)


def refuse_if_used(world: World, relation: str, item: Json, code: str, message: str, rid: str) -> None:
    """Refuse a change to ``rid`` while anything uses ``item`` by ``relation``.

    ``message`` may name the item's ``{id}`` and ``{name}``, its first ``{user}`` and the ``{rid}``.
    """
    users = world.referrers(relation, item["id"])
    if users:
        raise in_use(code, message.format(id=item["id"], name=item["name"], user=users[0], rid=rid), rid)
