"""The ARM REST surface: routes, paging, long-running operation headers and status documents.

Paths are matched case-insensitively, as ARM does. Every handler runs with the world locked
and inside a transaction, so concurrent clients see each request whole.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from . import (
    apiversions,
    captures,
    compute,
    ids,
    loadbalancer,
    lro,
    metrics,
    privatelink,
    rbac,
    storage,
    watcher,
)
from .common import rendered
from .errors import ArmError, bad_request, not_found, parent_not_found
from .network import Subnets, check_subnet_unused, render_subnet
from .world import Json, World

Response = tuple[int, Json | None, dict[str, str]]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    caller: str = ""  # the token's object id: whom role assignments are checked for

    def param(self, name: str) -> str | None:
        return self.query.get(name.lower())


Handler = Callable[[World, Request, dict[str, str]], Response]
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_NET = _RG + r"/providers/Microsoft\.Network"
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(methods: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for method in methods.split():
            _ROUTES.append((method, re.compile(f"^{pattern}/?$", re.I), handler))
        return handler

    return register


def dispatch(world: World, req: Request) -> Response:
    """Find the handler for ``req`` and run it in one transaction."""
    matched_path = False
    for method, pattern, handler in _ROUTES:
        match = pattern.match(req.path)
        if not match:
            continue
        matched_path = True
        if method != req.method:
            continue
        if req.param("api-version") is None:
            raise bad_request(
                # MissingApiVersionParameter: ARM's code, as answered in MicrosoftDocs/feedback#2279
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        params = {k: v for k, v in match.groupdict().items() if v is not None}
        with world.transaction():
            world.caller = req.caller or world.identity.client_id
            apiversions.check(req.path, req.param("api-version") or "", _location_of(world, req))
            _check_scope(world, req, params)
            response = handler(world, req, params)
        world.save()
        return response
    if matched_path:
        raise ArmError(
            # MethodNotAllowed: the stand-in's own
            405,
            "MethodNotAllowed",
            f"The HTTP method '{req.method}' is not supported at '{req.path}'.",
        )
    # InvalidResourceType: ARM's code: azure-docs common-deployment-errors.md
    raise ArmError(404, "InvalidResourceType", f"No resource type is served at '{req.path}'.")


def _location_of(world: World, req: Request) -> str | None:
    """Where ARM would route ``req``: a PUT's body names it, an existing resource has one."""
    if req.method == "PUT" and isinstance(req.body, dict) and isinstance(req.body.get("location"), str):
        return req.body["location"]
    parsed = ids.parse(req.path)
    top = world.get(parsed.parent) if parsed else None
    return top.get("location") if top else None


def _check_scope(world: World, req: Request, params: dict[str, str]) -> None:
    """ARM's order: the subscription must exist, then the caller must hold the request's action
    there (``rbac.authorize``), then the resource group must exist."""
    if "sub" not in params:
        return
    world.require_subscription(params["sub"])
    rbac.authorize(world, world.caller, req.method, req.path)
    if "rg" in params and world.group(params["sub"], params["rg"]) is None:
        # ResourceGroupNotFound: ARM's code: azure-docs common-deployment-errors.md
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{params['rg']}' could not be found.")


# ----------------------------------------------------------------- helpers
def page(
    world: World,
    req: Request,
    items: list[Json],
    render: Callable[[Json], Json] | None = None,
    cap: int | None = None,
) -> Response:
    """One page of a list, with ``nextLink`` while more remain. Only the page is rendered. ``cap``
    is a list's own largest page, when Azure's is known to be smaller than the setting."""
    render = render or world.render
    try:
        skip = int(req.param("$skiptoken") or 0)
    except ValueError:
        # InvalidSkipToken: the stand-in's own
        raise bad_request("InvalidSkipToken", "The $skipToken is not valid.") from None
    size = min(world.settings.page_size, cap or world.settings.page_size)
    body: Json = {"value": [render(i) for i in items[skip : skip + size]]}
    if skip + size < len(items):
        query = {k: v for k, v in req.query.items() if k != "$skiptoken"} | {"$skipToken": str(skip + size)}
        body["nextLink"] = f"{req.base_url}{req.path}?{urlencode(query)}"
    return 200, body, {}


def _retry_after(op: Json) -> str:
    return str(max(1, math.ceil(op["due"] - time.time()))) if op["status"] == "InProgress" else "0"


def operation_headers(world: World, req: Request, op: Json, *, location: bool) -> dict[str, str]:
    parsed = ids.parse(op["resource"])
    assert parsed
    top = world.get(parsed.parent)
    region = top["location"] if top else "global"
    base = (
        f"{req.base_url}/subscriptions/{parsed.subscription}/providers/{parsed.namespace}/locations/{region}"
    )
    version = urlencode({"api-version": req.param("api-version")})
    headers = {
        "Azure-AsyncOperation": f"{base}/operations/{op['id']}?{version}",
        "Retry-After": _retry_after(op),
    }
    if location:
        headers["Location"] = f"{base}/operationResults/{op['id']}?{version}"
    return headers


def _json_body(req: Request) -> Json:
    if not isinstance(req.body, dict):
        raise bad_request(
            # InvalidRequestContent: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: a JSON object is required.",
        )
    return req.body


def _begin_delete(world: World, req: Request, rid: str) -> Response:
    world.set_provisioning_state(rid, "Deleting")
    op = world.start_operation("delete", rid)
    return 202, None, operation_headers(world, req, op, location=True)


def _kind(world: World, params: dict[str, str]) -> Any:
    kind = world.kinds.get((params["ns"].lower(), params["type"].lower()))
    if kind is None:
        raise ArmError(
            404,
            # InvalidResourceType: ARM's code: azure-docs common-deployment-errors.md
            "InvalidResourceType",
            f"The resource type '{params['type']}' could not be found in the namespace '{params['ns']}'.",
        )
    return kind


# ---------------------------------------------------------------- metrics
# Registered before the generic routes: /subscriptions/{s}/providers/Microsoft.Insights/metrics
# would otherwise read as a list of a resource type called "metrics".
@route("GET", r"(?P<resource>" + _RG + r"/providers/[^/]+/[^/]+/[^/]+)/providers/Microsoft\.Insights/metrics")
def resource_metrics(world: World, req: Request, p: dict[str, str]) -> Response:
    resource = world.require(p["resource"])
    return 200, metrics.query(world, [resource], req.param("metricnames"), req.query, resource["type"]), {}


@route("GET POST", _SUB + r"/providers/Microsoft\.Insights/metrics")
def subscription_metrics(world: World, req: Request, p: dict[str, str]) -> Response:
    """Many resources in one call: natlink's sweep asks once per subscription, not per service."""
    params = (
        req.query | {k.lower(): str(v) for k, v in (req.body or {}).items()}
        if req.method == "POST"
        else req.query
    )
    params = params | ({"$filter": params["filter"]} if "filter" in params else {})
    region, namespace = params.get("region"), params.get("metricnamespace")
    if not region or not namespace or "/" not in namespace:
        # BadRequest: ARM's code: azure-docs common-deployment-errors.md
        raise bad_request("BadRequest", "Subscription-level metrics need 'region' and 'metricnamespace'.")
    provider, rtype = namespace.split("/", 1)
    resources = [
        r
        for r in world.list_type(p["sub"], provider, rtype)
        if r["location"].lower() == region.replace(" ", "").lower()
    ]
    return 200, metrics.query(world, resources, params.get("metricnames"), params, namespace), {}


# ------------------------------------------------------------ permissions
# Permissions_ListForResourceGroup and the subscription's own (Microsoft.Authorization 2022-04-01):
# the caller's effective actions per role that applies, what `natlink doctor` compares with its
# roles. Registered before the generic routes, which would read "permissions" as a resource type.
@route("GET", _SUB + r"(?:/resourceGroups/(?P<rg>[^/]+))?/providers/Microsoft\.Authorization/permissions")
def list_permissions(world: World, req: Request, p: dict[str, str]) -> Response:
    scope = f"/subscriptions/{p['sub']}" + (f"/resourceGroups/{p['rg']}" if "rg" in p else "")
    return 200, rbac.permissions(world, world.caller, scope), {}


# ------------------------------------------------------ generic resources
# VirtualMachines_ListAll answers at most 50 VMs a page, whatever the RP's other lists do: clients
# that ignored its nextLink saw exactly 50 (azure-sdk-for-node#4769, azure-xplat-cli#2961 "only
# lists first 50", gbowerman/azurerm#6, apache/libcloud#1824, azure-powershell#3227). The other
# lists' page sizes are not documented (the stand-in's own ``Settings.page_size``).
_PAGE_CAPS = {("microsoft.compute", "virtualmachines"): 50}


@route("GET", _SUB + r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)")
def list_by_subscription(world: World, req: Request, p: dict[str, str]) -> Response:
    kind = _kind(world, p)
    items = world.list_type(p["sub"], kind.namespace, kind.type)
    cap = _PAGE_CAPS.get((kind.namespace.lower(), kind.type.lower()))
    return _with_status(world, req, page(world, req, items, cap=cap))


@route("GET", _RG + r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)")
def list_by_group(world: World, req: Request, p: dict[str, str]) -> Response:
    kind = _kind(world, p)
    items = world.list_type(p["sub"], kind.namespace, kind.type, group=p["rg"])
    return _with_status(world, req, page(world, req, items))


def _with_status(world: World, req: Request, response: Response) -> Response:
    """``statusOnly=true`` on a VM list adds each VM's instance view, as Azure does."""
    status, body, headers = response
    if (req.param("statusonly") or "").lower() == "true" and body:
        for item in body["value"]:
            stored = world.get(item["id"])
            if stored and "_power" in stored:
                item["properties"]["instanceView"] = compute.instance_view(stored)
    return status, body, headers


@route("GET PUT DELETE PATCH", _RG + r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)")
def resource(world: World, req: Request, p: dict[str, str]) -> Response:
    kind = _kind(world, p)
    rid = ids.resource_id(p["sub"], p["rg"], kind.namespace, kind.type, p["name"])
    if req.method == "GET":
        stored = world.require(rid)
        body = world.render(stored)
        if "instanceview" in (req.param("$expand") or "").lower() and "_power" in stored:
            body["properties"]["instanceView"] = compute.instance_view(stored)
        return 200, body, {}
    if req.method == "DELETE":
        if world.get(rid) is None:
            return 204, None, {}
        kind.check_delete(world, rid)
        return _begin_delete(world, req, rid)
    if req.method == "PATCH":
        return _patch_tags(world, rid, _json_body(req))
    existing = world.get(rid)
    parsed = ids.parse(rid)
    assert parsed
    stored = kind.put(world, rid, parsed, _json_body(req))
    stored["properties"]["provisioningState"] = "Updating"
    world.put(stored)
    if existing is None and stored["type"] == "Microsoft.Network/virtualNetworks":
        watcher.enable(world, parsed.subscription, stored["location"])
    op = world.start_operation("put", stored["id"])
    return (200 if existing else 201), world.render(stored), operation_headers(world, req, op, location=False)


def _patch_tags(world: World, rid: str, body: Json) -> Response:
    """PATCH updates tags only, as Azure's network resources allow."""
    stored = world.editable(rid)
    if stored is None:
        raise not_found(rid)
    stored["tags"] = body.get("tags") or {}
    world.put(stored)
    return 200, world.render(stored), {}


# ---------------------------------------------------------------- subnets
def _vnet_id(p: dict[str, str]) -> str:
    return ids.resource_id(p["sub"], p["rg"], "Microsoft.Network", "virtualNetworks", p["vnet"])


@route("GET", _NET + r"/virtualNetworks/(?P<vnet>[^/]+)/subnets")
def list_subnets(world: World, req: Request, p: dict[str, str]) -> Response:
    vnet = world.require(_vnet_id(p), "virtual network")
    return page(world, req, vnet["properties"]["subnets"], lambda s: render_subnet(world, s))


@route("GET PUT DELETE", _NET + r"/virtualNetworks/(?P<vnet>[^/]+)/subnets/(?P<name>[^/]+)")
def subnet(world: World, req: Request, p: dict[str, str]) -> Response:
    sid = ids.child_id(_vnet_id(p), "subnets", p["name"])
    if req.method == "GET":
        return 200, render_subnet(world, Subnets.get(world, sid)), {}
    if req.method == "DELETE":
        try:
            Subnets.get(world, sid)
        except ArmError:
            return 204, None, {}
        check_subnet_unused(world, sid)
        return _begin_delete(world, req, sid)
    stored, created = Subnets.put(world, sid, _json_body(req))
    world.set_provisioning_state(stored["id"], "Updating")
    op = world.start_operation("put", stored["id"])
    return (
        (201 if created else 200),
        render_subnet(world, Subnets.get(world, sid)),
        operation_headers(world, req, op, location=False),
    )


# ------------------------------------------------ private endpoint connections
def _pls_id(p: dict[str, str]) -> str:
    return ids.resource_id(p["sub"], p["rg"], "Microsoft.Network", "privateLinkServices", p["pls"])


@route("GET", _NET + r"/privateLinkServices/(?P<pls>[^/]+)/privateEndpointConnections")
def list_connections(world: World, req: Request, p: dict[str, str]) -> Response:
    pls = world.get(_pls_id(p))
    if pls is None:
        raise parent_not_found(_pls_id(p))
    return page(world, req, pls["properties"]["privateEndpointConnections"], rendered)


@route(
    "GET PUT DELETE", _NET + r"/privateLinkServices/(?P<pls>[^/]+)/privateEndpointConnections/(?P<name>[^/]+)"
)
def connection(world: World, req: Request, p: dict[str, str]) -> Response:
    cid = ids.child_id(_pls_id(p), "privateEndpointConnections", p["name"])
    if req.method == "GET":
        return 200, rendered(privatelink.connection_of(world, cid)[1]), {}
    if req.method == "PUT":
        return 200, rendered(privatelink.decide(world, cid, _json_body(req))), {}
    try:
        _, found = privatelink.connection_of(world, cid)
    except ArmError:
        return 204, None, {}
    return _begin_delete(world, req, found["id"])


@route(
    "POST",
    _SUB + r"(?:/resourceGroups/(?P<rg>[^/]+))?/providers/Microsoft\.Network/locations/(?P<loc>[^/]+)"
    r"/checkPrivateLinkServiceVisibility",
)
def visibility(world: World, req: Request, p: dict[str, str]) -> Response:
    return 200, privatelink.check_visibility(world, p["sub"], _json_body(req)), {}


# ---------------------------------------------------------------- compute
def _vm_id(p: dict[str, str]) -> str:
    return ids.resource_id(p["sub"], p["rg"], compute.COMPUTE, "virtualMachines", p["vm"])


@route("GET", _RG + r"/providers/Microsoft\.Compute/virtualMachines/(?P<vm>[^/]+)/instanceView")
def vm_instance_view(world: World, req: Request, p: dict[str, str]) -> Response:
    return 200, compute.instance_view(world.require(_vm_id(p), "virtual machine")), {}


@route(
    "POST",
    _RG
    + r"/providers/Microsoft\.Compute/virtualMachines/(?P<vm>[^/]+)/(?P<action>powerOff|start|deallocate|restart)",
)
def vm_action(world: World, req: Request, p: dict[str, str]) -> Response:
    rid = world.require(_vm_id(p), "virtual machine")["id"]
    action = next(a for a in compute.POWER_ACTIONS if a.lower() == p["action"].lower())
    compute.begin_power_action(world, rid, action)
    op = world.start_operation("action", rid, action=action)
    return 202, None, operation_headers(world, req, op, location=True)


# ------------------------------------------------------------- extensions
_EXT = _RG + r"/providers/Microsoft\.Compute/virtualMachines/(?P<vm>[^/]+)/extensions"


@route("GET", _EXT)
def list_extensions(world: World, req: Request, p: dict[str, str]) -> Response:
    """VirtualMachineExtensions_List: one ``value`` list, never paged."""
    vm = world.require(_vm_id(p), "virtual machine")
    return 200, {"value": [rendered(e) for e in compute.extensions(vm)]}, {}


@route("GET PUT DELETE", _EXT + r"/(?P<name>[^/]+)")
def vm_extension(world: World, req: Request, p: dict[str, str]) -> Response:
    """VirtualMachineExtensions_Get/_CreateOrUpdate (200/201 and Azure-AsyncOperation) and _Delete
    (202, or 204 when there is none)."""
    vm = world.require(_vm_id(p), "virtual machine")
    if req.method == "GET":
        found = compute.extension(vm, p["name"])
        if found is None:
            raise not_found(f"{vm['id']}/extensions/{p['name']}", "extension")
        return 200, rendered(found), {}
    if req.method == "DELETE":
        if compute.extension(vm, p["name"]) is None:
            return 204, None, {}
        compute.remove_extension(world, vm["id"], p["name"])
        op = world.start_operation("query", f"{vm['id']}/extensions/{p['name']}")
        return 202, None, operation_headers(world, req, op, location=True)
    ext, existed = compute.put_extension(world, vm["id"], p["name"], _json_body(req))
    op = world.start_operation("query", ext["id"])
    return (200 if existed else 201), rendered(ext), operation_headers(world, req, op, location=False)


# ---------------------------------------------------------------- storage
@route("POST", _RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<name>[^/]+)/listKeys")
def storage_keys(world: World, req: Request, p: dict[str, str]) -> Response:
    rid = ids.resource_id(p["sub"], p["rg"], storage.STORAGE, "storageAccounts", p["name"])
    return 200, storage.list_keys(world, rid), {}


# --------------------------------------------------------- network watcher
_NW = _NET + r"/networkWatchers/(?P<nw>[^/]+)"


def _watcher(world: World, p: dict[str, str]) -> Json:
    rid = ids.resource_id(p["sub"], p["rg"], "Microsoft.Network", "networkWatchers", p["nw"])
    return watcher.require_watcher(world, rid)


@route("POST", _NW + r"/connectivityCheck")
def connectivity_check(world: World, req: Request, p: dict[str, str]) -> Response:
    """NetworkWatchers_CheckConnectivity, a long-running POST ("final-state-via": "location"):
    202, and the ConnectivityInformation at the Location once done."""
    nw = _watcher(world, p)
    result, reached = watcher.check(world, nw, _json_body(req))
    if reached is not None:
        captures.record(world, *reached, probes=result["probesSent"])
    op = world.start_operation("query", nw["id"])
    op["result"] = result
    return 202, None, operation_headers(world, req, op, location=True)


@route("GET", _NW + r"/packetCaptures")
def list_captures(world: World, req: Request, p: dict[str, str]) -> Response:
    """PacketCaptures_List: one ``value`` list ("nextLinkName": null)."""
    return 200, {"value": captures.listing(world, _watcher(world, p))}, {}


@route("GET PUT DELETE", _NW + r"/packetCaptures/(?P<name>[^/]+)")
def packet_capture(world: World, req: Request, p: dict[str, str]) -> Response:
    """PacketCaptures_Get, _Create (201 only, with Azure-AsyncOperation) and _Delete (202, or 204
    when there is none; the blob stays: deleting it is the client's job, as in Azure)."""
    nw = _watcher(world, p)
    if req.method == "GET":
        return 200, rendered(captures.require(world, nw, p["name"])), {}
    if req.method == "DELETE":
        found = captures.find(nw, p["name"])
        if found is None:
            return 204, None, {}
        op = world.start_operation("delete", found["id"])
        return 202, None, operation_headers(world, req, op, location=True)
    answer = captures.create(world, nw, p["name"], _json_body(req))
    op = world.start_operation("query", answer["id"])
    if op["failure"]:
        captures.fail(world, answer["id"], "CaptureFailed")
    return 201, answer, operation_headers(world, req, op, location=False)


@route("POST", _NW + r"/packetCaptures/(?P<name>[^/]+)/(?P<action>stop|queryStatus)")
def capture_action(world: World, req: Request, p: dict[str, str]) -> Response:
    """PacketCaptures_Stop and _GetStatus: long-running POSTs ("final-state-via": "location"); the
    status document is served at the Location."""
    nw = _watcher(world, p)
    found = captures.require(world, nw, p["name"])
    op = world.start_operation("query", found["id"])
    if p["action"].lower() == "stop":
        captures.stop(world, found["id"], "ManualStop")
    else:
        op["result"] = captures.status(world, nw, p["name"])
    return 202, None, operation_headers(world, req, op, location=True)


# ---------------------------------------------------------- scale sets
# A scale set's instances and their NICs (see compute.py for the specs): the NICs are served only
# here, under the scale set, never by the subscription's NIC list (Azure/azure-cli#817).
_VMSS = _RG + r"/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<vmss>[^/]+)"


def _scale_set(world: World, p: dict[str, str]) -> Json:
    rid = ids.resource_id(p["sub"], p["rg"], compute.COMPUTE, "virtualMachineScaleSets", p["vmss"])
    return world.require(rid, "virtual machine scale set")


def _instance(world: World, p: dict[str, str]) -> tuple[Json, Json]:
    stored = _scale_set(world, p)
    instance = compute.scale_set_instance(stored, p["i"])
    if instance is None:
        raise ArmError(
            404,
            # NotFound: ARM's code: azure-docs common-deployment-errors.md
            "NotFound",
            f"The entity was not found in this Azure location. (instance {p['i']} of {stored['id']})",
        )
    return stored, instance


@route("GET", _VMSS + r"/virtualMachines")
def list_scale_set_vms(world: World, req: Request, p: dict[str, str]) -> Response:
    """VirtualMachineScaleSetVMs_List; ``$expand=instanceView`` adds each instance's view."""
    stored = _scale_set(world, p)
    view = "instanceview" in (req.param("$expand") or "").lower()
    instances = stored.get("_instances", [])
    return page(world, req, instances, lambda i: compute.render_scale_set_vm(stored, i, with_view=view))


@route("GET", _VMSS + r"/virtualMachines/(?P<i>[^/]+)")
def get_scale_set_vm(world: World, req: Request, p: dict[str, str]) -> Response:
    stored, instance = _instance(world, p)
    view = "instanceview" in (req.param("$expand") or "").lower()
    return 200, compute.render_scale_set_vm(stored, instance, with_view=view), {}


@route("GET", _VMSS + r"/virtualMachines/(?P<i>[^/]+)/instanceView")
def scale_set_vm_view(world: World, req: Request, p: dict[str, str]) -> Response:
    stored, instance = _instance(world, p)
    return 200, compute.scale_set_vm_view(stored, instance), {}


@route("GET", _VMSS + r"/networkInterfaces")
def list_scale_set_nics(world: World, req: Request, p: dict[str, str]) -> Response:
    """NetworkInterfaces_ListVirtualMachineScaleSetNetworkInterfaces: every instance's NICs."""
    nics = compute.scale_set_nics(_scale_set(world, p))
    return page(world, req, nics, compute.render_scale_set_nic)


@route("GET", _VMSS + r"/virtualMachines/(?P<i>[^/]+)/networkInterfaces")
def list_scale_set_vm_nics(world: World, req: Request, p: dict[str, str]) -> Response:
    _, instance = _instance(world, p)
    return page(world, req, instance["nics"], compute.render_scale_set_nic)


@route("GET", _VMSS + r"/virtualMachines/(?P<i>[^/]+)/networkInterfaces/(?P<nic>[^/]+)")
def get_scale_set_nic(world: World, req: Request, p: dict[str, str]) -> Response:
    """NetworkInterfaces_GetVirtualMachineScaleSetNetworkInterface."""
    stored, instance = _instance(world, p)
    nic = next((n for n in instance["nics"] if n["name"].lower() == p["nic"].lower()), None)
    if nic is None:
        nic_id = f"{stored['id']}/virtualMachines/{p['i']}/networkInterfaces/{p['nic']}"
        # ResourceNotFound: ARM's code: azure-docs common-deployment-errors.md
        raise ArmError(404, "ResourceNotFound", f"The Resource '{nic_id}' was not found.", target=nic_id)
    return 200, compute.render_scale_set_nic(nic), {}


# ------------------------------------------------------------- operations
@route(
    "GET",
    _SUB
    + r"/providers/(?P<ns>[^/]+)/locations/(?P<loc>[^/]+)/(?P<which>operations|operationResults)/(?P<op>[^/]+)",
)
def operation_status(world: World, req: Request, p: dict[str, str]) -> Response:
    op = world.operations.get(p["op"])
    if op is None or op["subscription"].lower() != p["sub"].lower():
        # OperationNotFound: the stand-in's own
        raise ArmError(404, "OperationNotFound", f"Operation {p['op']} was not found.")
    if p["which"].lower() == "operations":
        return (
            200,
            lro.status_document(op),
            {"Retry-After": _retry_after(op)} if op["status"] == "InProgress" else {},
        )
    if op["status"] == "InProgress":
        return 202, None, operation_headers(world, req, op, location=True)
    if op["status"] == "Failed":
        raise ArmError(int(op["error"].get("status", 500)), op["error"]["code"], op["error"]["message"])
    if "result" in op:  # a POST action with an answer ("final-state-via": "location")
        return 200, op["result"], {}
    return 204, None, {}


# ------------------------------------------------------ subscriptions, groups
@route("GET", r"/subscriptions")
def list_subscriptions(world: World, req: Request, p: dict[str, str]) -> Response:
    subs = [
        s for s in world.subscriptions.values() if rbac.holds_any(world, world.caller, s["subscriptionId"])
    ]
    return page(world, req, subs, lambda sub: _subscription_body(world, sub))


@route("GET", _SUB)
def get_subscription(world: World, req: Request, p: dict[str, str]) -> Response:
    return 200, _subscription_body(world, world.require_subscription(p["sub"])), {}


@route("GET", _RG)
def get_group(world: World, req: Request, p: dict[str, str]) -> Response:
    group = world.group(p["sub"], p["rg"])
    assert group
    return 200, _group_body(p["sub"], group), {}


def _subscription_body(world: World, sub: Json) -> Json:
    """A subscription as GET /subscriptions (2022-12-01) shows it: clients read ``tenantId`` to know
    which tenant to ask for tokens (azure-cli's login records it as the subscription's tenant)."""
    return {
        "id": f"/subscriptions/{sub['subscriptionId']}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub["subscriptionId"],
        "tenantId": world.identity.tenant_id,
        "displayName": sub["displayName"],
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def _group_body(sub: str, group: Json) -> Json:
    body: Json = {
        "id": f"/subscriptions/{sub}/resourceGroups/{group['name']}",
        "name": group["name"],
        "type": "Microsoft.Resources/resourceGroups",
        "location": group["location"],
        "properties": {"provisioningState": "Succeeded"},
    }
    if group.get("tags"):
        body["tags"] = group["tags"]
    return body


# ------------------------------------------------------------- ARM basics
# What a real client asks ARM itself before it touches a resource: the resource groups, the
# provider registrations (az resource create reads a type's api-versions there), the regions, and
# the generic resource list. Shapes from specification/resources/resource-manager/
# Microsoft.Resources/stable/2024-11-01/resources.json and .../2022-12-01/subscriptions.json.
@route("GET", _SUB + r"/resourceGroups")
def list_groups(world: World, req: Request, p: dict[str, str]) -> Response:
    sub = world.require_subscription(p["sub"])
    groups = sorted(sub["groups"].values(), key=lambda g: g["name"].lower())
    return page(world, req, groups, lambda g: _group_body(p["sub"], g))


@route("PUT PATCH", _SUB + r"/resourceGroups/(?P<group>[^/]+)")
def put_group(world: World, req: Request, p: dict[str, str]) -> Response:
    """ResourceGroups_CreateOrUpdate: 201 when created, 200 when it existed. A group keeps its
    region: ARM refuses another one with InvalidResourceGroupLocation."""
    body = _json_body(req)
    existing = world.group(p["sub"], p["group"])
    location = body.get("location")
    if existing is None:
        if req.method == "PATCH":
            # ResourceGroupNotFound: ARM's code: azure-docs common-deployment-errors.md
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{p['group']}' could not be found.")
        if not isinstance(location, str) or not location:
            # LocationRequired: ARM's code: azure-docs common-deployment-errors.md
            raise bad_request("LocationRequired", "The location property is required for this definition.")
        world.add_group(p["sub"], p["group"], location.replace(" ", "").lower())
    elif isinstance(location, str) and location.replace(" ", "").lower() != existing["location"].lower():
        raise ArmError(
            409,
            # InvalidResourceGroupLocation: the stand-in's own
            "InvalidResourceGroupLocation",
            f"Invalid resource group location '{location}'. The Resource group already exists in location "
            f"'{existing['location']}'.",
        )
    group = world.group(p["sub"], p["group"])
    assert group is not None
    if "tags" in body:
        group["tags"] = dict(body.get("tags") or {})
        world.mark_changed()
    return (200 if existing else 201), _group_body(p["sub"], group), {}


@route("GET", _SUB + r"/locations")
def list_locations(world: World, req: Request, p: dict[str, str]) -> Response:
    items = [
        {
            "id": f"/subscriptions/{p['sub']}/locations/{name}",
            "name": name,
            "type": "Region",
            "displayName": display,
            "regionalDisplayName": display,
            "metadata": {"regionType": "Physical", "regionCategory": "Recommended"},
        }
        for name, display in apiversions.LOCATIONS.items()
    ]
    return 200, {"value": items}, {}


@route("GET", _SUB + r"/providers")
def list_providers(world: World, req: Request, p: dict[str, str]) -> Response:
    return 200, {"value": [_provider(world, p["sub"], ns) for ns in _namespaces(world)]}, {}


@route("GET", _SUB + r"/providers/(?P<namespace>[^/]+)")
def get_provider(world: World, req: Request, p: dict[str, str]) -> Response:
    namespace = next((ns for ns in _namespaces(world) if ns.lower() == p["namespace"].lower()), None)
    if namespace is None:
        raise ArmError(
            # InvalidResourceNamespace: ARM's code: azure-docs common-deployment-errors.md
            404,
            "InvalidResourceNamespace",
            f"The resource namespace '{p['namespace']}' is invalid.",
        )
    return 200, _provider(world, p["sub"], namespace), {}


def _namespaces(world: World) -> list[str]:
    served = {kind.namespace for kind in world.kinds.values()}
    return sorted(served | {"Microsoft.Insights"}, key=str.lower)


def _provider(world: World, sub: str, namespace: str) -> Json:
    """A provider registration: each resource type with its regions and api-versions, newest first
    (azure-cli's az resource create takes the newest stable one from here)."""
    types = sorted(kind.type for kind in world.kinds.values() if kind.namespace == namespace)
    types += (
        ["metrics"]
        if namespace.lower() == "microsoft.insights"
        else ["locations/operations", "locations/operationResults"]
    )
    regions = list(apiversions.LOCATIONS.values())
    return {
        "id": f"/subscriptions/{sub}/providers/{namespace}",
        "namespace": namespace,
        "registrationState": "Registered",
        "registrationPolicy": "RegistrationRequired",
        "resourceTypes": [
            {
                "resourceType": rtype,
                "locations": [] if rtype.startswith("locations/") else regions,
                "apiVersions": list(reversed(apiversions.registered(namespace, rtype.split("/")[0]))),
                "capabilities": "None",
            }
            for rtype in types
        ],
    }


@route("GET", _SUB + r"(?:/resourceGroups/(?P<rg>[^/]+))?/resources")
def list_resources(world: World, req: Request, p: dict[str, str]) -> Response:
    """Resources_List and Resources_ListByResourceGroup: top-level resources only, without their
    properties, narrowed by ``$filter`` clauses joined with ``and``."""
    wanted = _resource_filter(req.param("$filter"))
    found = []
    for stored in sorted(world.resources.values(), key=lambda r: ids.key(r["id"])):
        parsed = ids.parse(stored["id"])
        if parsed is None or len(parsed.types) != 1 or parsed.subscription.lower() != p["sub"].lower():
            continue
        if "rg" in p and parsed.group.lower() != p["rg"].lower():
            continue
        facts = {
            "resourcetype": f"{parsed.namespace}/{parsed.types[0]}",
            "name": parsed.name,
            "location": stored.get("location", ""),
            "resourcegroup": parsed.group,
        }
        if all(facts.get(field, "").lower() == value.lower() for field, value in wanted):
            found.append(stored)
    return page(world, req, found, _generic)


_CLAUSE = re.compile(r"^\s*(resourceType|name|location|resourceGroup)\s+eq\s+'([^']*)'\s*$", re.I)


def _resource_filter(raw: str | None) -> list[tuple[str, str]]:
    if not raw:
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", raw.strip(), flags=re.I):
        match = _CLAUSE.match(part)
        if match is None:
            # Resources_List answers an expression it cannot read with this 400.
            raise bad_request(
                # InvalidFilterInQueryString: the stand-in's own
                "InvalidFilterInQueryString",
                f"Invalid $filter '{raw}' specified in the query string.",
            )
        clauses.append((match.group(1).lower(), match.group(2)))
    return clauses


def _generic(stored: Json) -> Json:
    body = {k: stored[k] for k in ("id", "name", "type", "location", "tags", "sku", "kind") if k in stored}
    body.setdefault("tags", {})
    return body


# ------------------------------------------------- load balancer children
# Each LB child has its own GET and list in loadBalancer.json (LoadBalancerBackendAddressPools_Get,
# LoadBalancerProbes_Get, LoadBalancerLoadBalancingRules_Get, LoadBalancerFrontendIPConfigurations_Get,
# InboundNatRules_Get), answering what the LB's GET shows for it, derived fields included.
_LB_CHILDREN = "backendAddressPools|probes|loadBalancingRules|frontendIPConfigurations|inboundNatRules"


def _lb_id(p: dict[str, str]) -> str:
    return ids.resource_id(p["sub"], p["rg"], "Microsoft.Network", "loadBalancers", p["lb"])


def _lb_children(world: World, p: dict[str, str]) -> tuple[str, list[Json]]:
    collection = next(c for c in _LB_CHILDREN.split("|") if c.lower() == p["child"].lower())
    lb = world.render(world.require(_lb_id(p), "load balancer"))
    return collection, lb["properties"].get(collection) or []


@route("GET", _NET + r"/loadBalancers/(?P<lb>[^/]+)/(?P<child>" + _LB_CHILDREN + r")")
def list_lb_children(world: World, req: Request, p: dict[str, str]) -> Response:
    return page(world, req, _lb_children(world, p)[1], lambda item: item)


@route("GET", _NET + r"/loadBalancers/(?P<lb>[^/]+)/(?P<child>" + _LB_CHILDREN + r")/(?P<name>[^/]+)")
def get_lb_child(world: World, req: Request, p: dict[str, str]) -> Response:
    collection, items = _lb_children(world, p)
    found = next((i for i in items if i["name"].lower() == p["name"].lower()), None)
    if found is None:
        raise not_found(ids.child_id(_lb_id(p), collection, p["name"]))
    return 200, found, {}


@route(
    "PUT",
    _NET + r"/loadBalancers/(?P<lb>[^/]+)/(?P<child>backendAddressPools|inboundNatRules)/(?P<name>[^/]+)",
)
def put_lb_child(world: World, req: Request, p: dict[str, str]) -> Response:
    """LoadBalancerBackendAddressPools_CreateOrUpdate and InboundNatRules_CreateOrUpdate (what
    `az network lb address-pool create` and `az network lb inbound-nat-rule create` send): the
    child is added to or replaces its namesake in the LB, which is then validated and updated
    whole, as a PUT of the LB would be, and the child is answered while the LB updates."""
    collection = next(
        c for c in ("backendAddressPools", "inboundNatRules") if c.lower() == p["child"].lower()
    )
    item = {"name": p["name"], "properties": _json_body(req).get("properties") or {}}
    existed = _update_lb_children(world, p, collection, lambda items, i: [*items[:i], item, *items[i + 1 :]])
    op = world.start_operation("put", _lb_id(p))
    answer = get_lb_child(world, req, p | {"child": collection})[1]
    return (200 if existed else 201), answer, operation_headers(world, req, op, location=False)


@route("DELETE", _NET + r"/loadBalancers/(?P<lb>[^/]+)/inboundNatRules/(?P<name>[^/]+)")
def delete_nat_rule(world: World, req: Request, p: dict[str, str]) -> Response:
    """InboundNatRules_Delete: the LB is updated without the rule (refused while a NIC IP
    configuration names it, as a PUT of the LB without it would be); 204 if there is no such rule."""
    lb = world.get(_lb_id(p))
    rules = lb["properties"]["inboundNatRules"] if lb else []
    if not any(r["name"].lower() == p["name"].lower() for r in rules):
        return 204, None, {}
    _update_lb_children(world, p, "inboundNatRules", lambda items, i: [*items[:i], *items[i + 1 :]])
    op = world.start_operation("put", _lb_id(p))
    return 202, None, operation_headers(world, req, op, location=True)


def _update_lb_children(
    world: World, p: dict[str, str], collection: str, change: Callable[[list[Json], int], list[Json]]
) -> bool:
    """Apply ``change(items, index of the named child or len(items))`` to one collection of the LB,
    validate and store the LB whole (``Updating``); whether the named child existed."""
    lb_id = _lb_id(p)
    stored = world.require(lb_id, "load balancer")
    kind = world.kind_of(stored)
    parsed = ids.parse(lb_id)
    assert kind is not None and parsed is not None
    body = {k: v for k, v in world.editable(lb_id).items() if k in ("location", "tags", "sku", "properties")}  # type: ignore[union-attr]
    items = body["properties"].get(collection) or []
    index = next((i for i, x in enumerate(items) if x["name"].lower() == p["name"].lower()), len(items))
    existed = index < len(items)
    body["properties"][collection] = change(items, index)
    updated = kind.put(world, lb_id, parsed, body)
    updated["properties"]["provisioningState"] = "Updating"
    world.put(updated)
    return existed


@route(
    "POST",
    _NET + r"/loadBalancers/(?P<lb>[^/]+)/backendAddressPools/(?P<pool>[^/]+)/queryInboundNatRulePortMapping",
)
def query_port_mapping(world: World, req: Request, p: dict[str, str]) -> Response:
    """LoadBalancers_ListInboundNatRulePortMappings, a long-running POST ("final-state-via":
    "location" in loadBalancer.json): 202 with the operation's headers; the answer is served at the
    Location once the operation is done (QueryInboundNatRulePortMapping.json)."""
    pool_id = ids.child_id(_lb_id(p), "backendAddressPools", p["pool"])
    result = loadbalancer.port_mappings(world, pool_id, _json_body(req))
    op = world.start_operation("query", pool_id)
    op["result"] = result
    return 202, None, operation_headers(world, req, op, location=True)
