"""Contract test: the sandbox serves what real ARM serves, field for field.

Each case builds, through the real SDK, the resource that one of Azure's own REST examples
(``shared/reference/azure-network-examples/``) shows, then fetches the raw JSON the sandbox
serves for it and compares the *shape* with the example's ``responses["200"]["body"]``:

* every key path of the example (dict keys joined with ``.``, list elements collapsed to ``[]``)
  must be in the sandbox's body, unless ``NOT_MODELLED`` excuses it (the path and everything
  under it) with a reason;
* every path both bodies have must hold the same JSON type (object, array, string, boolean,
  number, null).

Extra fields in the sandbox's body are allowed: the examples are not exhaustive.
A separate test keeps ``NOT_MODELLED`` honest: an excused path must be in the example and must
really be absent from the sandbox's body.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from azure.mgmt.network import NetworkManagementClient

from tests.arm_story import (
    A_RG,
    B_RG,
    FRONTEND,
    LB_ID,
    create_lb,
    disable_pls_policies,
    expose,
    lb_body,
    pe_body,
    pls_body,
)
from tests.conftest import SHARED, TEAM_A

EXAMPLES = SHARED / "reference" / "azure-network-examples"
REGION = "japaneast"
PE_STATIC_IP = "10.0.0.10"  # in Team A's RG-normal-vnet/default (10.0.0.0/24); the VM holds .4
PLS_STATIC_IP = "10.2.0.20"  # in Team B's temp-vnet/default (10.2.0.0/24); the VM holds .5
OTHER_TEAM = "33333333-3333-3333-3333-333333333333"

Json = dict[str, Any]

# Paths of an example that the sandbox does not serve because it does not model the feature at
# all. An entry excuses the path and every path under it. Keep this list as small as is honest:
# a field that is missing only because a scenario did not ask for it is fixed in the scenario.
NOT_MODELLED: dict[str, dict[str, str]] = {
    "NetworkInterfaceGet.json": {
        "properties.ipConfigurations[].properties.publicIPAddress": "natlink worlds have no public IPs",
        "properties.ipConfigurations[].properties.privateIPAddressPrefixLength": (
            "IP prefix delegation on NIC IP configurations is not modelled"
        ),
        "properties.networkSecurityGroup": "network security groups are not modelled",
        "properties.dscpConfiguration": "DSCP configurations are not modelled",
    },
}


def raw_json(pipeline_response: Any, deserialized: Any, headers: Any) -> Json:
    """``cls`` for SDK calls: the JSON body exactly as the sandbox sent it."""
    return pipeline_response.http_response.json()


# ------------------------------------------------------------------ key paths
def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def key_paths(node: Any, prefix: str = "") -> dict[str, set[str]]:
    """Every key path under ``node`` with the JSON types found there (list elements merged)."""
    out: dict[str, set[str]] = {}

    def walk(value: Any, path: str) -> None:
        if path:
            out.setdefault(path, set()).add(json_type(value))
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}[]")

    walk(node, prefix)
    return out


def excused(path: str, allowed: dict[str, str]) -> bool:
    return any(path == a or path.startswith(f"{a}.") or path.startswith(f"{a}[]") for a in allowed)


def shape_problems(example: Json, served: Json, allowed: dict[str, str]) -> list[str]:
    want, got = key_paths(example), key_paths(served)
    problems = [f"missing: {p}" for p in sorted(want) if p not in got and not excused(p, allowed)]
    problems += [
        f"type mismatch: {p}: example {sorted(want[p])}, sandbox {sorted(got[p])}"
        for p in sorted(want.keys() & got.keys())
        if want[p] != got[p]
    ]
    return problems


def example_body(name: str) -> Json:
    return json.loads((EXAMPLES / name).read_text())["responses"]["200"]["body"]


# ------------------------------------------------------------------ scenarios
def pls_with_static_nat(net_b: NetworkManagementClient, **pls_kwargs: Any) -> Any:
    """``expose`` with a static NAT IP, as PrivateLinkServiceCreate.json asks for one."""
    create_lb(net_b)
    disable_pls_policies(net_b)
    body = pls_body(**pls_kwargs)
    body["properties"]["ipConfigurations"][0]["properties"] |= {
        "privateIPAllocationMethod": "Static",
        "privateIPAddress": PLS_STATIC_IP,
        "privateIPAddressVersion": "IPv4",
    }
    return net_b.private_link_services.begin_create_or_update(B_RG, "pls-rdp", body).result()


def rich_pe_body(alias: str, *, manual: bool) -> Json:
    """``pe_body`` with what PrivateEndpointCreate*.json also send: groupIds, a static IP
    configuration and a custom NIC name."""
    body = pe_body(alias, manual=manual)
    key = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
    body["properties"][key][0]["properties"]["groupIds"] = ["rdp"]
    body["properties"]["ipConfigurations"] = [
        {
            "name": "pestaticconfig",
            "properties": {"groupId": "rdp", "memberName": "rdp", "privateIPAddress": PE_STATIC_IP},
        }
    ]
    body["properties"]["customNetworkInterfaceName"] = "pe-rdp-nic"
    return body


def create_pe(
    net_a: NetworkManagementClient,
    alias: str,
    name: str = "pe-rdp",
    *,
    manual: bool = True,
    rich: bool = False,
) -> Any:
    body = rich_pe_body(alias, manual=manual) if rich else pe_body(alias, manual=manual)
    return net_a.private_endpoints.begin_create_or_update(A_RG, name, body).result()


def connection_name(net_b: NetworkManagementClient, pe_name: str) -> str:
    for connection in net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp"):
        if connection.properties.private_endpoint.id.lower().endswith(f"/privateendpoints/{pe_name}"):
            return connection.name
    raise AssertionError(f"no connection for {pe_name}")


def decide(net_b: NetworkManagementClient, pe_name: str, status: str, description: str, **call: Any) -> Any:
    name = connection_name(net_b, pe_name)
    body = {
        "name": name,
        "properties": {"privateLinkServiceConnectionState": {"status": status, "description": description}},
    }
    return net_b.private_link_services.update_private_endpoint_connection(B_RG, "pls-rdp", name, body, **call)


def pls_get(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    pls = pls_with_static_nat(net_b, auto=[OTHER_TEAM])  # Team A still asks for manual approval
    create_pe(net_a, pls.alias)
    decide(net_b, "pe-rdp", "Approved", "approved for natlink")
    return net_b.private_link_services.get(B_RG, "pls-rdp", cls=raw_json)


def pe_get_auto(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    pls = expose(net_b, auto=[TEAM_A])
    create_pe(net_a, pls.alias, manual=False, rich=True)
    return net_a.private_endpoints.get(A_RG, "pe-rdp", cls=raw_json)


def pe_get_manual(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    pls = expose(net_b)
    create_pe(net_a, pls.alias, manual=True, rich=True)
    return net_a.private_endpoints.get(A_RG, "pe-rdp", cls=raw_json)


def nic_get(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    expose(net_b)  # the VM's NIC joins the load balancer's backend pool
    return net_b.network_interfaces.get(B_RG, "vm-win2019-2-nic", cls=raw_json)


def rich_lb_body() -> Json:
    """``lb_body`` with what LoadBalancerGet.json also shows: an HTTP probe and an inbound NAT rule."""
    body = lb_body()
    props = body["properties"]
    props["probes"] = [
        {"name": "health", "properties": {"protocol": "Http", "port": 80, "requestPath": "/healthz"}}
    ]
    props["loadBalancingRules"][0]["properties"]["probe"] = {"id": f"{LB_ID}/probes/health"}
    props["inboundNatRules"] = [
        {
            "name": "rdp-direct",
            "properties": {
                "protocol": "Tcp",
                "frontendPort": 50001,
                "backendPort": 3389,
                "frontendIPConfiguration": {"id": FRONTEND},
                "enableFloatingIP": False,
                "idleTimeoutInMinutes": 4,
                "enableTcpReset": True,
            },
        }
    ]
    return body


def lb_get(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    expose(net_b)
    net_b.load_balancers.begin_create_or_update(B_RG, "lb-rdp", rich_lb_body()).result()
    return net_b.load_balancers.get(B_RG, "lb-rdp", cls=raw_json)


def vnet_get(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    expose(net_b)  # the LB frontend, the VM's NIC and the service's NIC sit in temp-vnet/default
    return net_b.virtual_networks.get(B_RG, "temp-vnet", cls=raw_json)


def subnet_get(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    expose(net_b)
    return net_b.subnets.get(B_RG, "temp-vnet", "default", cls=raw_json)


def connection_list(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    pls = expose(net_b)
    create_pe(net_a, pls.alias, "pe-one")
    create_pe(net_a, pls.alias, "pe-two")
    create_pe(net_a, pls.alias, "pe-three")
    decide(net_b, "pe-one", "Approved", "approved for natlink")
    decide(net_b, "pe-two", "Rejected", "not this one")
    pages: list[Json] = []  # the raw pages, captured as the SDK's own pipeline receives them
    listed = list(
        net_b.private_link_services.list_private_endpoint_connections(
            B_RG, "pls-rdp", raw_response_hook=lambda response: pages.append(response.http_response.json())
        )
    )
    assert len(pages) == 1 and len(listed) == 3, pages
    body = pages[0]
    assert len(body["value"]) == 3, body
    assert {c["properties"]["privateLinkServiceConnectionState"]["status"] for c in body["value"]} == {
        "Approved",
        "Rejected",
        "Pending",
    }
    return body


def connection_update(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    pls = expose(net_b)
    create_pe(net_a, pls.alias)
    return decide(net_b, "pe-rdp", "Approved", "approved for natlink", cls=raw_json)


def visibility_check(net_a: NetworkManagementClient, net_b: NetworkManagementClient) -> Json:
    pls = expose(net_b)
    poller = net_a.private_link_services.begin_check_private_link_service_visibility(
        REGION, {"privateLinkServiceAlias": pls.alias}, cls=raw_json
    )
    body = poller.result()
    assert body.get("visible") is True, body
    return body


Scenario = Callable[[NetworkManagementClient, NetworkManagementClient], Json]
SCENARIOS: dict[str, Scenario] = {
    "PrivateLinkServiceGet.json": pls_get,
    "PrivateEndpointGet.json": pe_get_auto,
    "PrivateEndpointGetForManualApproval.json": pe_get_manual,
    "NetworkInterfaceGet.json": nic_get,
    "2024-07-01/LoadBalancerGet.json": lb_get,
    "2024-07-01/VirtualNetworkGet.json": vnet_get,
    "SubnetGet.json": subnet_get,
    "PrivateLinkServiceListPrivateEndpointConnection.json": connection_list,
    "PrivateLinkServiceUpdatePrivateEndpointConnection.json": connection_update,
    "CheckPrivateLinkServiceVisibility.json": visibility_check,
}
# Examples whose body is a list page: each element of ``value`` is held to the example's elements.
PER_ELEMENT = {"PrivateLinkServiceListPrivateEndpointConnection.json"}

# Real sandbox gaps: the case keeps asserting the correct shape and is expected to fail.
GAPS: dict[str, str] = {}


def cases(names: list[str]) -> list[Any]:
    return [
        pytest.param(n, id=n, marks=pytest.mark.xfail(strict=True, reason=GAPS[n])) if n in GAPS else n
        for n in names
    ]


def pairs(name: str, served: Json) -> list[tuple[str, Json, Json]]:
    """(label, example body, sandbox body) to compare for one example."""
    example = example_body(name)
    if name not in PER_ELEMENT:
        return [(name, example, served)]
    elements = example["value"]
    assert elements, f"{name} has no elements to compare"
    merged = _merge(elements)  # one synthetic element carrying every path of every example element
    assert served["value"], f"the sandbox served no elements for {name}"
    return [(f"{name} value[{i}]", merged, element) for i, element in enumerate(served["value"])]


def _merge(items: list[Any]) -> Any:
    """One value holding the union of the key paths of ``items`` (used for example list pages)."""
    dicts = [i for i in items if isinstance(i, dict)]
    if dicts:
        out: Json = {}
        for key in dict.fromkeys(k for d in dicts for k in d):
            out[key] = _merge([d[key] for d in dicts if key in d])
        return out
    lists = [i for i in items if isinstance(i, list)]
    if lists:
        merged = [x for lst in lists for x in lst]
        return [_merge(merged)] if merged else []
    return copy.deepcopy(items[0])


# ---------------------------------------------------------------------- tests
def test_examples_are_present() -> None:
    for name in SCENARIOS:
        assert (EXAMPLES / name).is_file(), f"missing reference example {EXAMPLES / name}"


def test_comparator_reports_missing_paths_and_type_changes() -> None:
    example = {"a": {"b": [{"c": 1, "d": "x"}], "e": True}, "f": ["s"], "g": {"h": 1}}
    served = {"a": {"b": [{"c": "1"}], "e": True}, "f": [], "extra": 0}
    assert shape_problems(example, served, {"g": "not modelled"}) == [
        "missing: a.b[].d",
        "missing: f[]",
        "type mismatch: a.b[].c: example ['number'], sandbox ['string']",
    ]
    assert key_paths({"n": [None, False, 1.5]}) == {"n": {"array"}, "n[]": {"null", "boolean", "number"}}


@pytest.mark.parametrize("name", cases(list(SCENARIOS)))
def test_sandbox_body_has_the_example_shape(
    name: str, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    served = SCENARIOS[name](net_a, net_b)
    allowed = NOT_MODELLED.get(name, {})
    problems = []
    for label, example, body in pairs(name, served):
        problems += [f"{label}: {p}" for p in shape_problems(example, body, allowed)]
    assert not problems, "sandbox body differs from the ARM example:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", list(NOT_MODELLED))
def test_not_modelled_entries_are_not_stale(
    name: str, net_a: NetworkManagementClient, net_b: NetworkManagementClient
) -> None:
    assert name in SCENARIOS, f"NOT_MODELLED names {name}, which no case checks"
    served = SCENARIOS[name](net_a, net_b)
    stale = []
    for label, example, body in pairs(name, served):
        want, got = key_paths(example), key_paths(body)
        for path, reason in NOT_MODELLED[name].items():
            assert reason.strip(), f"{name}: {path} needs a reason"
            if path not in want:
                stale.append(f"{label}: {path} is not in the example")
            present = [p for p in got if excused(p, {path: reason})]
            if present:
                stale.append(f"{label}: {path} is served by the sandbox now ({', '.join(sorted(present))})")
    assert not stale, "stale NOT_MODELLED entries:\n  " + "\n  ".join(stale)
