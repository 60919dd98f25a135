"""Private link services, private endpoints, and the connection between them.

The connection's state has one home: the private link service's ``privateEndpointConnections``.
The private endpoint's view of it is derived on read, so the two sides can never disagree.
"""

from __future__ import annotations

import random
import re

from . import ids, rbac
from .common import (
    NETWORK,
    allocate_ip,
    allocation_method,
    as_list,
    child,
    draft,
    find_child,
    guid,
    is_child,
    kept_address,
    linked_refusal,
    properties,
    ref_id,
    rendered,
    require_name,
    require_subnet,
    unique_names,
)
from .errors import ArmError, bad_request, invalid_reference, parent_not_found
from .network import managed_nic, remove_with_nics
from .world import Claim, Json, Ref, World, etag

PLS_TYPE = "Microsoft.Network/privateLinkServices"
PE_TYPE = "Microsoft.Network/privateEndpoints"
CONNECTION_TYPE = f"{PLS_TYPE}/privateEndpointConnections"
MAX_NAT_IPS = 8
MAX_REQUEST_MESSAGE = 140
ALIAS = re.compile(r"^[A-Za-z0-9_.-]+\.[0-9a-f-]{36}\.[a-z0-9]+\.azure\.privatelinkservice$", re.I)
DECISIONS = {"Approved", "Rejected"}


def visible_to(pls: Json, subscription: str) -> bool:
    allowed = {s.lower() for s in pls["properties"]["visibility"]["subscriptions"]}
    return (
        "*" in allowed
        or subscription.lower() in allowed
        or ids.subscription_of(pls["id"]).lower() == subscription.lower()
    )


def auto_approves(pls: Json, subscription: str) -> bool:
    allowed = {s.lower() for s in pls["properties"]["autoApproval"]["subscriptions"]}
    return "*" in allowed or subscription.lower() in allowed


def find_alias(world: World, alias: str) -> Json | None:
    target = world.referrers("alias", alias)
    return world.get(target[0]) if target else None


class PrivateLinkServices:
    namespace = NETWORK
    type = "privateLinkServices"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, location, props, stored = draft(world, rid, parsed, PLS_TYPE, body)
        pls_id = stored["id"]
        old = (existing or {}).get("properties", {})
        frontends = self._frontends(world, props, pls_id)
        vnet_of_frontend = ids.parse(frontends[0][1]["properties"]["subnet"]["id"]).parent  # type: ignore[union-attr]
        nic_id = old.get("networkInterfaces", [{}])[0].get("id") or ids.resource_id(
            parsed.subscription,
            parsed.group,
            NETWORK,
            "networkInterfaces",
            f"{parsed.name}.nic.{guid().replace('-', '')}",
        )
        configs, nic_configs = self._nat_configs(world, props, old, pls_id, nic_id, vnet_of_frontend)
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "alias": old.get("alias") or f"{parsed.name}.{guid()}.{location}.azure.privatelinkservice",
            "visibility": {"subscriptions": _subscriptions(props.get("visibility"), "visibility", rid)},
            "autoApproval": {"subscriptions": _subscriptions(props.get("autoApproval"), "autoApproval", rid)},
            "fqdns": [str(f) for f in props.get("fqdns") or []],
            "enableProxyProtocol": bool(props.get("enableProxyProtocol", False)),
            "loadBalancerFrontendIpConfigurations": [{"id": fid} for fid, _ in frontends],
            "ipConfigurations": configs,
            "networkInterfaces": [{"id": nic_id}],
            "privateEndpointConnections": old.get("privateEndpointConnections", []),
        }
        world.remove(nic_id)
        managed_nic(world, nic_id, location, nic_configs, "privateLinkService", pls_id)
        return stored

    @staticmethod
    def _frontends(world: World, props: Json, pls_id: str) -> list[tuple[str, Json]]:
        refs = as_list(
            props.get("loadBalancerFrontendIpConfigurations"), "loadBalancerFrontendIpConfigurations", pls_id
        )
        if not refs:
            raise bad_request(
                # PrivateLinkServiceMustHaveLoadBalancerFrontendIpConfiguration: the stand-in's own
                "PrivateLinkServiceMustHaveLoadBalancerFrontendIpConfiguration",
                f"Private link service {pls_id} must reference a load balancer frontend IP configuration.",
                pls_id,
            )
        out = []
        for ref in refs:
            fid = ref_id(ref, "loadBalancerFrontendIpConfigurations", pls_id)
            found = find_child(world, fid, "frontendIPConfigurations")
            if found is None:
                raise invalid_reference(fid, pls_id)
            lb, fe = found
            if lb["sku"]["name"] != "Standard":
                raise bad_request(
                    # PrivateLinkServiceNotSupportedOnBasicLoadBalancer: the stand-in's own
                    "PrivateLinkServiceNotSupportedOnBasicLoadBalancer",
                    f"Private link service {pls_id} cannot reference frontend {fid}: private link service "
                    "requires a Standard SKU load balancer.",
                    pls_id,
                )
            if "subnet" not in fe["properties"]:
                raise bad_request(
                    # PrivateLinkServiceCannotUsePublicLoadBalancerFrontend: the stand-in's own
                    "PrivateLinkServiceCannotUsePublicLoadBalancerFrontend",
                    f"Private link service {pls_id} cannot reference frontend {fid}: it has a public IP address. "
                    "Private link service requires an internal load balancer frontend.",
                    pls_id,
                )
            out.append((fid, fe))
        return out

    @staticmethod
    def _nat_configs(
        world: World, props: Json, old: Json, pls_id: str, nic_id: str, frontend_vnet: str
    ) -> tuple[list[Json], list[tuple[str, str, str, str]]]:
        items = as_list(props.get("ipConfigurations"), "ipConfigurations", pls_id)
        if not 1 <= len(items) <= MAX_NAT_IPS:
            raise bad_request(
                # PrivateLinkServiceIpConfigurationCountOutOfRange: the stand-in's own
                "PrivateLinkServiceIpConfigurationCountOutOfRange",
                f"Private link service {pls_id} has {len(items)} IP configurations; it must have from 1 to "
                f"{MAX_NAT_IPS}.",
                pls_id,
            )
        unique_names(items, "ipConfigurations", pls_id)
        wanted = {str(i.get("name", "")).lower() for i in items}
        removed = [c["name"] for c in old.get("ipConfigurations", []) if c["name"].lower() not in wanted]
        if removed:
            raise bad_request(
                # PrivateLinkServiceIpConfigurationCannotBeDeleted: the stand-in's own
                "PrivateLinkServiceIpConfigurationCannotBeDeleted",
                f"IP configuration(s) {', '.join(removed)} of private link service {pls_id} cannot be removed; "
                "NAT IP configurations can only be added.",
                pls_id,
            )
        nic_configs_before = _nic_configs(world, nic_id)
        primaries = [bool(properties(i).get("primary")) for i in items]
        if not any(primaries):
            primaries[0] = True
        configs, nic_configs = [], []
        for item, primary in zip(items, primaries, strict=True):
            cid, config = child(pls_id, "ipConfigurations", item, f"{PLS_TYPE}/ipConfigurations", pls_id)
            cprops = properties(item)
            subnet_id = ref_id(cprops.get("subnet"), "subnet", cid)
            require_subnet(world, subnet_id, pls_id)
            if ids.key(ids.parse(subnet_id).parent) != ids.key(frontend_vnet):  # type: ignore[union-attr]
                raise bad_request(
                    # PrivateLinkServiceIpConfigurationNotInLoadBalancerVirtualNetwork: the stand-in's own
                    "PrivateLinkServiceIpConfigurationNotInLoadBalancerVirtualNetwork",
                    f"NAT IP configuration {cid} must be in the virtual network of the load balancer frontend.",
                    pls_id,
                )
            _require_policies_disabled(world, subnet_id, pls_id)
            method = allocation_method(cprops.get("privateIPAllocationMethod"), cid)
            nic_config_id = ids.child_id(nic_id, "ipConfigurations", config["name"])
            kept = kept_address(nic_configs_before.get(config["name"].lower(), {}), subnet_id)
            ip = allocate_ip(world, subnet_id, nic_config_id, method, cprops.get("privateIPAddress"), kept)
            out = {
                "provisioningState": "Succeeded",
                "privateIPAllocationMethod": method,
                "privateIPAddressVersion": "IPv4",
                "subnet": {"id": subnet_id},
                "primary": primary,
            }
            if method == "Static":
                # Azure shows a dynamic NAT IP only on the service's NIC, not on the service.
                out["privateIPAddress"] = ip
            config["properties"] = out
            configs.append(config)
            nic_configs.append((config["name"], subnet_id, method, ip))
        return configs, nic_configs

    def render(self, world: World, stored: Json) -> Json:
        return rendered(stored)

    def check_delete(self, world: World, rid: str) -> None:
        if is_child(rid):
            connection_of(world, rid)
        else:
            world.require(rid, "private link service")

    def delete(self, world: World, rid: str) -> None:
        if is_child(rid):
            world.drop_child(rid, "privateEndpointConnections")
        else:
            remove_with_nics(world, rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []  # the NAT addresses are claimed by the service's NIC

    def refs(self, stored: Json) -> list[Ref]:
        props = stored["properties"]
        out: list[Ref] = [("alias", props["alias"].lower(), stored["id"])]
        out += [
            ("frontend-pls", ids.key(f["id"]), stored["id"])
            for f in props["loadBalancerFrontendIpConfigurations"]
        ]
        out += [
            ("subnet-pls", ids.key(c["properties"]["subnet"]["id"]), stored["id"])
            for c in props["ipConfigurations"]
        ]
        out += [
            ("pe-connection", ids.key(c["properties"]["privateEndpoint"]["id"]), c["id"])
            for c in props["privateEndpointConnections"]
        ]
        return out


def _nic_configs(world: World, nic_id: str) -> dict[str, Json]:
    """The properties of the service's NIC configurations by name: where its NAT addresses are now."""
    nic = world.get(nic_id)
    if nic is None:
        return {}
    return {c["name"].lower(): c["properties"] for c in nic["properties"]["ipConfigurations"]}


def _require_policies_disabled(world: World, subnet_id: str, pls_id: str) -> None:
    _, subnet = require_subnet(world, subnet_id, pls_id)
    if subnet["properties"]["privateLinkServiceNetworkPolicies"] != "Disabled":
        raise bad_request(
            # PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled: the stand-in's own
            "PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled",
            f"Private link service {pls_id} cannot be created in a subnet {subnet_id} since it has private link "
            "service network policies enabled.",
            pls_id,
        )


def _subscriptions(value: object, field: str, rid: str) -> list[str]:
    if value is None:
        return []
    subs = value.get("subscriptions", []) if isinstance(value, dict) else None
    if not isinstance(subs, list) or not all(isinstance(s, str) and s for s in subs):
        raise bad_request(
            # InvalidRequestFormat: ARM's code: azure-docs common-deployment-errors.md
            "InvalidRequestFormat",
            f"'{field}.subscriptions' must be a list of subscription IDs.",
            rid,
        )
    return list(subs)


def connection_of(world: World, cid: str) -> tuple[Json, Json]:
    parsed = ids.parse(cid)
    assert parsed
    pls = world.get(parsed.parent)
    if pls is None:
        raise parent_not_found(parsed.parent)
    for connection in pls["properties"]["privateEndpointConnections"]:
        if ids.key(connection["id"]) == ids.key(cid):
            return pls, connection
    raise ArmError(
        404,
        # NotFound: ARM's code: azure-docs common-deployment-errors.md
        "NotFound",
        f"Private endpoint connection {parsed.name} of private link service {pls['name']} was not found.",
        target=cid,
    )


def decide(world: World, cid: str, body: Json) -> Json:
    """Approve or reject a connection (synchronous in Azure: 200, not an LRO)."""
    pls, connection = connection_of(world, cid)
    state = properties(body).get("privateLinkServiceConnectionState") or {}
    status = state.get("status")
    if status not in DECISIONS:
        raise bad_request(
            # InvalidPrivateEndpointConnectionStatus: the stand-in's own
            "InvalidPrivateEndpointConnectionStatus",
            f"Private endpoint connection status must be one of {sorted(DECISIONS)}, not {status!r}. "
            "Delete the connection to remove it.",
            cid,
        )
    description = state.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_REQUEST_MESSAGE:
        raise bad_request(
            # PrivateEndpointConnectionDescriptionTooLong: the stand-in's own
            "PrivateEndpointConnectionDescriptionTooLong",
            f"The description of a connection state can have at most {MAX_REQUEST_MESSAGE} characters.",
            cid,
        )
    current = (properties(connection).get("privateLinkServiceConnectionState") or {}).get("status")
    if current == "Rejected" and status == "Approved":
        # By design in Azure: a rejected connection is final; the consumer deletes and re-creates the
        # endpoint. The CLI shows "(BadRequest) Approving rejected private endpoint connections is not
        # supported." (MicrosoftDocs/azure-docs PR #86823; "Manage Azure Private Endpoints", issue #115121).
        raise bad_request(
            "BadRequest", "Approving rejected private endpoint connections is not supported.", cid
        )
    pls = world.editable(pls["id"])
    assert pls is not None
    for item in pls["properties"]["privateEndpointConnections"]:
        if ids.key(item["id"]) == ids.key(cid):
            item["etag"] = etag()
            item["properties"]["privateLinkServiceConnectionState"] = {
                "status": status,
                "description": description,
                "actionsRequired": state.get("actionsRequired") or "None",
            }
            connection = item
    world.put(pls)
    return connection


class PrivateEndpoints:
    namespace = NETWORK
    type = "privateEndpoints"

    def put(self, world: World, rid: str, parsed: ids.ParsedId, body: Json) -> Json:
        existing, location, props, stored = draft(world, rid, parsed, PE_TYPE, body)
        subnet_id = ref_id(props.get("subnet"), "subnet", rid)
        require_subnet(world, subnet_id, rid)
        manual = as_list(
            props.get("manualPrivateLinkServiceConnections"), "manualPrivateLinkServiceConnections", rid
        )
        auto = as_list(props.get("privateLinkServiceConnections"), "privateLinkServiceConnections", rid)
        if len(manual) + len(auto) != 1:
            raise bad_request(
                # PrivateEndpointMustHaveExactlyOnePrivateLinkServiceConnection: the stand-in's own
                "PrivateEndpointMustHaveExactlyOnePrivateLinkServiceConnection",
                f"Private endpoint {rid} must have exactly one private link service connection, manual or automatic.",
                rid,
            )
        if existing:
            return self._update(existing, body, props, subnet_id, manual or auto, bool(manual))
        collection = "manualPrivateLinkServiceConnections" if manual else "privateLinkServiceConnections"
        request = (manual or auto)[0]
        pls, link = self._connect(world, stored, request, collection, parsed.subscription, bool(manual))
        nic_name = props.get("customNetworkInterfaceName") or f"{parsed.name}.nic.{guid()}"
        nic_id = ids.resource_id(parsed.subscription, parsed.group, NETWORK, "networkInterfaces", nic_name)
        statics = as_list(props.get("ipConfigurations"), "ipConfigurations", rid)
        if len(statics) > 1:
            raise bad_request(
                # PrivateEndpointIpConfigurationCountExceeded: the stand-in's own
                "PrivateEndpointIpConfigurationCountExceeded",
                f"Private endpoint {rid} has {len(statics)} IP configurations; a private link service has one "
                "member, so at most one static IP configuration is allowed.",
                rid,
            )
        wanted = properties(statics[0]).get("privateIPAddress") if statics else None
        config_name = f"privateEndpointIpConfig.{guid()}"
        config_id = ids.child_id(nic_id, "ipConfigurations", config_name)
        method = "Static" if wanted else "Dynamic"
        ip = allocate_ip(world, subnet_id, config_id, method, wanted, None)
        managed_nic(
            world, nic_id, location, [(config_name, subnet_id, method, ip)], "privateEndpoint", stored["id"]
        )
        stored["properties"] = {
            "provisioningState": "Succeeded",
            "subnet": {"id": subnet_id},
            "networkInterfaces": [{"id": nic_id}],
            "privateLinkServiceConnections": [link] if not manual else [],
            "manualPrivateLinkServiceConnections": [link] if manual else [],
            "customDnsConfigs": [{"fqdn": f, "ipAddresses": [ip]} for f in pls["properties"]["fqdns"]],
            "applicationSecurityGroups": [],
            "ipConfigurations": [
                {"name": c.get("name", "ipconfig"), "properties": properties(c) | {"privateIPAddress": ip}}
                for c in statics
            ],
            "customNetworkInterfaceName": props.get("customNetworkInterfaceName", ""),
            "ipVersionType": "IPv4",
        }
        return stored

    @staticmethod
    def _connect(
        world: World, stored: Json, request: Json, collection: str, consumer: str, manual: bool
    ) -> tuple[Json, Json]:
        rid = stored["id"]
        rprops = properties(request)
        name = request.get("name") or stored["name"]
        require_name(name, rid)
        target = rprops.get("privateLinkServiceId")
        if not isinstance(target, str) or not target:
            raise bad_request(
                # PrivateLinkServiceIdRequired: the stand-in's own
                "PrivateLinkServiceIdRequired",
                f"Private endpoint {rid} needs a privateLinkServiceId or alias.",
                rid,
            )
        message = rprops.get("requestMessage", "") or ""
        if len(message) > MAX_REQUEST_MESSAGE:
            raise bad_request(
                # PrivateEndpointRequestMessageTooLong: the stand-in's own
                "PrivateEndpointRequestMessageTooLong",
                f"The request message of private endpoint {rid} has {len(message)} characters; at most "
                f"{MAX_REQUEST_MESSAGE} are allowed.",
                rid,
            )
        pls = _resolve_target(world, target, consumer, rid)
        # An automatic connection needs the approval right on the service (its owners hold it), or
        # the consumer's subscription on the service's auto-approval list.
        may_approve = rbac.allowed(world, world.caller, rbac.APPROVAL, pls["id"])
        if not manual and not auto_approves(pls, consumer) and not may_approve:
            raise linked_refusal(world, pls["id"], rbac.APPROVAL, rid)
        approved = auto_approves(pls, consumer) or (not manual and may_approve)
        connection_name = f"{stored['name']}.{guid()}"
        connection = {
            "name": connection_name,
            "id": ids.child_id(pls["id"], "privateEndpointConnections", connection_name),
            "etag": etag(),
            "type": CONNECTION_TYPE,
            "properties": {
                "provisioningState": "Succeeded",
                "privateEndpoint": {"id": rid},
                "privateLinkServiceConnectionState": {
                    "status": "Approved" if approved else "Pending",
                    "description": "Auto-Approved" if approved else message,
                    "actionsRequired": "None",
                },
                "linkIdentifier": str(random.randint(10**8, 2**31 - 1)),
                "privateEndpointLocation": stored["location"],
            },
        }
        pls = world.editable(pls["id"])
        assert pls is not None
        pls["properties"]["privateEndpointConnections"].append(connection)
        world.put(pls)
        link = {
            "name": name,
            "id": ids.child_id(rid, collection, name),
            "etag": etag(),
            "type": f"{PE_TYPE}/{collection}",
            "properties": {
                "provisioningState": "Succeeded",
                "privateLinkServiceId": target,
                "groupIds": list(rprops.get("groupIds") or []),
                "requestMessage": message,
            },
        }
        return pls, link

    @staticmethod
    def _update(
        existing: Json, body: Json, props: Json, subnet_id: str, links: list[Json], manual: bool
    ) -> Json:
        """A PUT on an existing endpoint may change tags only; Azure fixes the rest at creation."""
        rid = existing["id"]
        old = existing["properties"]
        old_links = old["manualPrivateLinkServiceConnections"] or old["privateLinkServiceConnections"]
        same_target = (
            links[0].get("properties", {}).get("privateLinkServiceId", "").lower()
            == old_links[0]["properties"]["privateLinkServiceId"].lower()
        )
        if (
            ids.key(subnet_id) != ids.key(old["subnet"]["id"])
            or not same_target
            or manual != bool(old["manualPrivateLinkServiceConnections"])
        ):
            raise bad_request(
                # CannotChangePrivateEndpointConnectionOrSubnet: the stand-in's own
                "CannotChangePrivateEndpointConnectionOrSubnet",
                f"Private endpoint {rid} cannot change its subnet or its private link service connection. "
                "Delete it and create a new one.",
                rid,
            )
        stored = dict(existing)
        stored["tags"] = body.get("tags") or {}
        stored["etag"] = etag()
        return stored

    def render(self, world: World, stored: Json) -> Json:
        out = rendered(stored)
        props = out["properties"]
        state = connection_state_for(world, stored["id"])
        for link in props["manualPrivateLinkServiceConnections"] + props["privateLinkServiceConnections"]:
            link["properties"]["privateLinkServiceConnectionState"] = state
        return out

    def check_delete(self, world: World, rid: str) -> None:
        world.require(rid, "private endpoint")

    def delete(self, world: World, rid: str) -> None:
        if world.get(rid) is None:
            return
        for cid in world.referrers("pe-connection", rid):
            world.drop_child(cid, "privateEndpointConnections")
        remove_with_nics(world, rid)

    def claims(self, stored: Json) -> list[Claim]:
        return []  # the endpoint's address is claimed by its NIC

    def refs(self, stored: Json) -> list[Ref]:
        return [("subnet-pe", ids.key(stored["properties"]["subnet"]["id"]), stored["id"])]


def _resolve_target(world: World, target: str, consumer: str, rid: str) -> Json:
    if ids.parse(target):
        pls = world.get(target)
        if pls is None or ids.parse(target).types[0].lower() != "privatelinkservices":  # type: ignore[union-attr]
            raise invalid_reference(target, rid)
        return pls
    if not ALIAS.match(target):
        raise bad_request(
            # InvalidPrivateLinkServiceAlias: the stand-in's own
            "InvalidPrivateLinkServiceAlias",
            f"'{target}' is neither a private link service resource ID nor an alias of the form "
            "name.<guid>.<region>.azure.privatelinkservice.",
            rid,
        )
    pls = find_alias(world, target)
    if pls is None or not visible_to(pls, consumer):
        raise bad_request(
            # PrivateLinkServiceAliasNotFound: the stand-in's own
            "PrivateLinkServiceAliasNotFound",
            f"No private link service with alias {target} is visible to subscription {consumer}.",
            rid,
        )
    return pls


def connection_state_for(world: World, pe_id: str) -> Json:
    """The state a private endpoint sees: its provider-side connection's, or Disconnected."""
    for cid in world.referrers("pe-connection", pe_id):
        parsed = ids.parse(cid)
        pls = world.get(parsed.parent) if parsed else None
        for connection in (pls or {}).get("properties", {}).get("privateEndpointConnections", []):
            if ids.key(connection["id"]) == ids.key(cid):
                state = dict(connection["properties"]["privateLinkServiceConnectionState"])
                if state["status"] == "Pending":
                    state["description"] = "Awaiting approval"
                return state
    return {
        "status": "Disconnected",
        "description": "The private link service connection was removed by the service owner.",
        "actionsRequired": "None",
    }


def check_visibility(world: World, subscription: str, body: Json) -> Json:
    alias = (body or {}).get("privateLinkServiceAlias")
    if not isinstance(alias, str) or not ALIAS.match(alias):
        raise bad_request(
            # InvalidPrivateLinkServiceAlias: the stand-in's own
            "InvalidPrivateLinkServiceAlias",
            f"'{alias}' is not a private link service alias of the form name.<guid>.<region>.azure.privatelinkservice.",
        )
    pls = find_alias(world, alias)
    return {"visible": bool(pls and visible_to(pls, subscription))}
