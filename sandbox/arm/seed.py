"""Worlds to start from: the seed topology of the double-NAT walkthrough, and generated worlds.

Both are built through the same validation as API calls (each kind's ``put``), so a world the
sandbox starts with is a world the API could have produced.
"""

from __future__ import annotations

import uuid

from . import compute, ids, privatelink, watcher
from .common import NETWORK
from .world import Json, World

TEAM_A = "11111111-1111-1111-1111-111111111111"
TEAM_B = "22222222-2222-2222-2222-222222222222"
REGION = "japaneast"
# The extension body `az vm extension set --publisher Microsoft.Azure.NetworkWatcher --name
# NetworkWatcherAgentWindows` sends (azure-docs virtual-machines/extensions/network-watcher-windows.md).
NETWORK_WATCHER_AGENT: Json = {
    "location": REGION,
    "properties": {
        "publisher": watcher.AGENT_PUBLISHER,
        "type": "NetworkWatcherAgentWindows",
        "typeHandlerVersion": "1.4",
        "autoUpgradeMinorVersion": True,
    },
}


def apply(world: World, rid: str, body: Json) -> Json:
    """Create or update a resource as an API PUT would, without the long-running wrapper."""
    parsed = ids.parse(rid)
    kind = world.kind_of(rid)
    assert parsed and kind, rid
    stored = kind.put(world, rid, parsed, body)
    world.put(stored)
    return stored


def _net(sub: str, group: str, rtype: str, name: str) -> str:
    return ids.resource_id(sub, group, NETWORK, rtype, name)


def add_vnet(
    world: World,
    sub: str,
    group: str,
    name: str,
    space: str,
    subnets: dict[str, str],
    location: str,
    pls_subnets: tuple[str, ...] = (),
    extras: dict[str, Json] | None = None,
) -> str:
    """A VNet; the subnets named in ``pls_subnets`` have private link service policies disabled,
    and ``extras`` adds properties (links, service endpoints) to the subnets it names."""
    rid = _net(sub, group, "virtualNetworks", name)
    apply(
        world,
        rid,
        {
            "location": location,
            "properties": {
                "addressSpace": {"addressPrefixes": [space]},
                "subnets": [
                    {
                        "name": n,
                        "properties": {"addressPrefix": p}
                        | ({"privateLinkServiceNetworkPolicies": "Disabled"} if n in pls_subnets else {})
                        | (extras or {}).get(n, {}),
                    }
                    for n, p in subnets.items()
                ],
            },
        },
    )
    watcher.enable(world, sub, location)  # as Azure does for a region's first VNet
    return rid


def add_public_ip(world: World, sub: str, group: str, name: str, location: str) -> str:
    """A Standard static public IP (the only kind Azure sells new since Basic's retirement)."""
    rid = _net(sub, group, "publicIPAddresses", name)
    apply(
        world,
        rid,
        {
            "location": location,
            "sku": {"name": "Standard"},
            "properties": {"publicIPAllocationMethod": "Static"},
        },
    )
    return rid


def _provider_subnet_links(world: World, location: str) -> Json:
    """What team B's subnet links to: a network security group, a route table, a storage service
    endpoint and a NAT gateway (with its public IP), as a real provider subnet often does.

    natlink must keep all of them when it disables private link service policies: a subnet PUT
    replaces the subnet, and whatever the body leaves out is gone (issue 9 rule 6). The NAT gateway
    is also why the seed story works: it gives VM-Win2019-2 explicit outbound internet access, so
    putting the VM behind natlink's internal Standard load balancer costs it nothing (rule 7; without
    it, Azure removes the VM's default outbound access and natlink asks for --accept-no-outbound).
    """
    nsg = _net(TEAM_B, "rg-team-b", "networkSecurityGroups", "temp-vnet-default-nsg")
    apply(
        world,
        nsg,
        {
            "location": location,
            "properties": {
                "securityRules": [
                    {
                        "name": "allow-rdp-from-vnet",
                        "properties": {
                            "protocol": "Tcp",
                            "sourcePortRange": "*",
                            "destinationPortRange": "3389",
                            "sourceAddressPrefix": "VirtualNetwork",
                            "destinationAddressPrefix": "*",
                            "access": "Allow",
                            "priority": 200,
                            "direction": "Inbound",
                        },
                    }
                ]
            },
        },
    )
    routes = _net(TEAM_B, "rg-team-b", "routeTables", "temp-vnet-routes")
    apply(
        world,
        routes,
        {
            "location": location,
            "properties": {
                "routes": [
                    {
                        "name": "to-on-premises",
                        "properties": {
                            "addressPrefix": "192.168.0.0/16",
                            "nextHopType": "VirtualNetworkGateway",
                        },
                    }
                ]
            },
        },
    )
    nat = _net(TEAM_B, "rg-team-b", "natGateways", "temp-vnet-nat")
    apply(
        world,
        nat,
        {
            "location": location,
            "sku": {"name": "Standard"},
            "properties": {
                "publicIpAddresses": [
                    {"id": add_public_ip(world, TEAM_B, "rg-team-b", "temp-vnet-nat-ip", location)}
                ]
            },
        },
    )
    return {
        "networkSecurityGroup": {"id": nsg},
        "routeTable": {"id": routes},
        "natGateway": {"id": nat},
        "serviceEndpoints": [{"service": "Microsoft.Storage"}],
    }


def add_vm(
    world: World,
    sub: str,
    group: str,
    name: str,
    nic: str,
    subnet_id: str,
    ip: str | None,
    location: str,
    public_ip: str | None = None,
) -> str:
    """A running VM with one NIC; ``ip`` pins the address, else the lowest free one is taken;
    ``public_ip`` (an ID) is put on the NIC's IP configuration."""
    nic_id = _net(sub, group, "networkInterfaces", nic)
    config: Json = {"subnet": {"id": subnet_id}, "privateIPAllocationMethod": "Static" if ip else "Dynamic"}
    if ip:
        config["privateIPAddress"] = ip
    if public_ip:
        config["publicIPAddress"] = {"id": public_ip}
    apply(
        world,
        nic_id,
        {
            "location": location,
            "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": config}]},
        },
    )
    vm_id = compute.place_vm(world, sub, group, name, location, nic_id, "Windows")["id"]
    # The Network Watcher agent, as the portal installs it on first use of Network Watcher.
    compute.put_extension(world, vm_id, "AzureNetworkWatcherExtension", NETWORK_WATCHER_AGENT)
    return vm_id


# Where `/natlink verify --capture` stores captures in the seed world (NATLINK_CAPTURE_STORAGE).
CAPTURE_STORAGE = ids.resource_id(
    TEAM_B, "rg-team-b", "Microsoft.Storage", "storageAccounts", "natlinkcaptures"
)


def seed_topology(world: World) -> None:
    """The default world (shared/topology.md): Team A consumes, Team B provides.

    Both VMs have explicit outbound internet access, as the walkthrough's VMs would: VM-Win2019
    through a public IP on its NIC (it is the machine people RDP into from outside), VM-Win2019-2
    through the NAT gateway of its subnet (see ``_provider_subnet_links``). So exposing either
    never takes its outbound access away; worlds without them show natlink's warning (rule 7).
    """
    with world.transaction():
        world.add_subscription(TEAM_A, "Team A")
        world.add_subscription(TEAM_B, "Team B")
        world.add_group(TEAM_A, "rg-team-a", REGION)
        world.add_group(TEAM_B, "rg-team-b", REGION)
        vnet_a = add_vnet(
            world, TEAM_A, "rg-team-a", "RG-normal-vnet", "10.0.0.0/16", {"default": "10.0.0.0/24"}, REGION
        )
        vnet_b = add_vnet(
            world,
            TEAM_B,
            "rg-team-b",
            "temp-vnet",
            "10.2.0.0/16",
            {"default": "10.2.0.0/24"},
            REGION,
            extras={"default": _provider_subnet_links(world, REGION)},
        )
        add_vm(
            world,
            TEAM_A,
            "rg-team-a",
            "VM-Win2019",
            "vm-win2019-nic",
            f"{vnet_a}/subnets/default",
            "10.0.0.4",
            REGION,
            public_ip=add_public_ip(world, TEAM_A, "rg-team-a", "vm-win2019-ip", REGION),
        )
        add_vm(
            world,
            TEAM_B,
            "rg-team-b",
            "VM-Win2019-2",
            "vm-win2019-2-nic",
            f"{vnet_b}/subnets/default",
            "10.2.0.5",
            REGION,
        )
        apply(
            world, CAPTURE_STORAGE, {"location": REGION, "sku": {"name": "Standard_LRS"}, "kind": "StorageV2"}
        )


def seed_world(world: World) -> None:
    """The sandbox's default world: the walkthrough's topology, and beside it the private link
    services natlink did not make (``_made_elsewhere``), for ``/natlink adopt``."""
    seed_topology(world)
    with world.transaction():
        _made_elsewhere(world)


# Each generated subscription has its own VNet of three /18 subnets; Azure keeps five addresses of
# every subnet (sandbox/arm/addresses.py), which fills a subnet at this many (SubnetIsFull).
SUBNET_ADDRESSES = 2**14 - 5


def busiest_subnet(subscriptions: int, services: int, endpoints: int) -> int:
    """The most addresses any one generated subnet needs: a subscription's ``services`` subnet holds
    two per service it owns (the frontend and the NAT IP), its ``vms`` subnet one, and its
    ``endpoints`` subnet one per endpoint it consumes with. Service ``n`` is owned by subscription
    ``n % subscriptions`` and its endpoint ``k`` sits in the ``k + 1``-th subscription after it."""
    owned = [services // subscriptions + (i < services % subscriptions) for i in range(subscriptions)]
    whole, rest = divmod(endpoints, subscriptions)
    consumed = [
        sum(owned[j] * (whole + ((i - j - 1) % subscriptions < rest)) for j in range(subscriptions))
        for i in range(subscriptions)
    ]
    return max(2 * max(owned), max(consumed))


def generated_subscription(index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"natlink-sandbox/subscription/{index}"))


def generate(world: World, subscriptions: int, services: int, endpoints: int, port: int = 443) -> Json:
    """A world of ``services`` exposed VMs spread over ``subscriptions``, each with ``endpoints``
    private endpoints from the other subscriptions, in the states Approved, Pending, Rejected in turn."""
    if not 1 <= subscriptions <= 250 or services < 0 or endpoints < 0:
        raise ValueError("a generated world needs 1-250 subscriptions and no negative counts")
    if (needed := busiest_subnet(subscriptions, services, endpoints)) > SUBNET_ADDRESSES:
        raise ValueError(
            f"a generated subscription's /18 subnet holds {SUBNET_ADDRESSES:,} addresses; this world "
            f"needs {needed:,} in one of them"
        )
    with world.transaction():
        world.clear_resources()
        world.subscriptions = {}
        subs = [generated_subscription(i) for i in range(subscriptions)]
        vnets = []
        for i, sub in enumerate(subs):
            world.add_subscription(sub, f"Generated {i}")
            world.add_group(sub, "rg-natlink", REGION)
            vnets.append(
                add_vnet(
                    world,
                    sub,
                    "rg-natlink",
                    "vnet",
                    f"10.{i}.0.0/16",
                    {"services": f"10.{i}.0.0/18", "endpoints": f"10.{i}.64.0/18", "vms": f"10.{i}.128.0/18"},
                    REGION,
                    pls_subnets=("services",),
                )
            )
        for n in range(services):
            _generate_service(world, subs, vnets, n, endpoints, port)
    world.save()
    return {"subscriptions": subs, "services": services, "endpoints": services * endpoints}


def _generate_service(
    world: World, subs: list[str], vnets: list[str], n: int, endpoints: int, port: int
) -> None:
    owner = n % len(subs)
    sub, vnet = subs[owner], vnets[owner]
    vm_nic = _net(sub, "rg-natlink", "networkInterfaces", f"vm-{n}-nic")
    add_vm(world, sub, "rg-natlink", f"vm-{n}", f"vm-{n}-nic", f"{vnet}/subnets/vms", None, REGION)
    lb_id = _net(sub, "rg-natlink", "loadBalancers", f"lb-{n}")
    apply(
        world,
        lb_id,
        {
            "location": REGION,
            "sku": {"name": "Standard"},
            "properties": {
                "frontendIPConfigurations": [
                    {"name": "fe", "properties": {"subnet": {"id": f"{vnet}/subnets/services"}}}
                ],
                "backendAddressPools": [{"name": "pool"}],
                "probes": [{"name": "probe", "properties": {"protocol": "Tcp", "port": port}}],
                "loadBalancingRules": [
                    {
                        "name": f"tcp-{port}",
                        "properties": {
                            "protocol": "Tcp",
                            "frontendPort": port,
                            "backendPort": port,
                            "frontendIPConfiguration": {"id": f"{lb_id}/frontendIPConfigurations/fe"},
                            "backendAddressPool": {"id": f"{lb_id}/backendAddressPools/pool"},
                            "probe": {"id": f"{lb_id}/probes/probe"},
                        },
                    }
                ],
            },
        },
    )
    nic = world.editable(vm_nic)
    assert nic
    nic["properties"]["ipConfigurations"][0]["properties"]["loadBalancerBackendAddressPools"] = [
        {"id": f"{lb_id}/backendAddressPools/pool"}
    ]
    world.put(nic)
    pls_id = _net(sub, "rg-natlink", "privateLinkServices", f"pls-{n}")
    pls = apply(
        world,
        pls_id,
        {
            "location": REGION,
            "properties": {
                "visibility": {"subscriptions": ["*"]},
                "autoApproval": {"subscriptions": []},
                "loadBalancerFrontendIpConfigurations": [{"id": f"{lb_id}/frontendIPConfigurations/fe"}],
                "ipConfigurations": [
                    {"name": "nat", "properties": {"subnet": {"id": f"{vnet}/subnets/services"}}}
                ],
            },
        },
    )
    for k in range(endpoints):
        consumer = (owner + k + 1) % len(subs)
        pe_id = _net(subs[consumer], "rg-natlink", "privateEndpoints", f"pe-{n}-{k}")
        apply(
            world,
            pe_id,
            {
                "location": REGION,
                "properties": {
                    "subnet": {"id": f"{vnets[consumer]}/subnets/endpoints"},
                    "manualPrivateLinkServiceConnections": [
                        {
                            "name": f"pe-{n}-{k}",
                            "properties": {
                                "privateLinkServiceId": pls["properties"]["alias"],
                                "requestMessage": f"generated request {n}/{k}",
                            },
                        }
                    ],
                },
            },
        )
        decision = ("Approved", None, "Rejected")[k % 3]
        if decision:
            (cid,) = world.referrers("pe-connection", pe_id)
            privatelink.decide(
                world, cid, {"properties": {"privateLinkServiceConnectionState": {"status": decision}}}
            )


def scale_set_body(subnet_id: str, pool_ids: list[str], capacity: int = 2, location: str = REGION) -> Json:
    """A scale set as AKS makes its node pool: one NIC configuration in ``subnet_id`` whose IP
    configuration joins ``pool_ids`` (an internal load balancer's backend pools). Send it with the
    real SDK (``virtual_machine_scale_sets.begin_create_or_update``) or place it with ``add_scale_set``."""
    return {
        "location": location,
        "sku": {"name": "Standard_DS2_v2", "tier": "Standard", "capacity": capacity},
        "properties": {
            "upgradePolicy": {"mode": "Manual"},
            "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": "aks-nodepool1", "adminUsername": "azureuser"},
                "storageProfile": {
                    "imageReference": {
                        "publisher": "microsoft-aks",
                        "offer": "aks",
                        "sku": "aks-ubuntu-2204",
                        "version": "latest",
                    }
                },
                "networkProfile": {
                    "networkInterfaceConfigurations": [
                        {
                            "name": "aks-nodepool1-nic",
                            "properties": {
                                "primary": True,
                                "ipConfigurations": [
                                    {
                                        "name": "ipconfig1",
                                        "properties": {
                                            "subnet": {"id": subnet_id},
                                            "primary": True,
                                            "loadBalancerBackendAddressPools": [{"id": p} for p in pool_ids],
                                        },
                                    }
                                ],
                            },
                        }
                    ]
                },
            },
        },
    }


def add_scale_set(
    world: World, sub: str, group: str, name: str, subnet_id: str, pool_ids: list[str], capacity: int = 2
) -> str:
    """A running scale set of ``capacity`` instances whose NICs sit in ``pool_ids``."""
    rid = ids.resource_id(sub, group, compute.COMPUTE, "virtualMachineScaleSets", name)
    apply(world, rid, scale_set_body(subnet_id, pool_ids, capacity))
    return rid


HAND_LB = "LB-temp"
HAND_PLS = "PrivateLink-01"


def seed_by_hand(world: World) -> None:
    """The seed world as the walkthrough's author built it in the portal, before any endpoint: an
    internal Standard LB ``LB-temp`` (frontend ``fe`` 10.2.0.4 in temp-vnet/default, pool ``pool``
    with VM-Win2019-2, and the inbound NAT rule ``RDP`` 3389 → 3389 on VM-Win2019-2's NIC, no
    load-balancing rule), and the private link service ``PrivateLink-01`` on ``fe``, its NAT IP
    10.2.0.6 taken from the same subnet (whose private link service policies the portal disabled);
    and, as in ``seed``, the services natlink did not make."""
    seed_topology(world)
    with world.transaction():
        _made_elsewhere(world)
        subnet = _net(TEAM_B, "rg-team-b", "virtualNetworks", "temp-vnet") + "/subnets/default"
        _disable_pls_policies(world, subnet)
        lb = _net(TEAM_B, "rg-team-b", "loadBalancers", HAND_LB)
        frontend, pool, rule = (
            f"{lb}/frontendIPConfigurations/fe",
            f"{lb}/backendAddressPools/pool",
            f"{lb}/inboundNatRules/RDP",
        )
        apply(
            world,
            lb,
            {
                "location": REGION,
                "sku": {"name": "Standard"},
                "properties": {
                    "frontendIPConfigurations": [
                        {
                            "name": "fe",
                            "properties": {
                                "subnet": {"id": subnet},
                                "privateIPAllocationMethod": "Static",
                                "privateIPAddress": "10.2.0.4",
                            },
                        }
                    ],
                    "backendAddressPools": [{"name": "pool"}],
                    "inboundNatRules": [
                        {
                            "name": "RDP",
                            "properties": {
                                "frontendIPConfiguration": {"id": frontend},
                                "protocol": "Tcp",
                                "frontendPort": 3389,
                                "backendPort": 3389,
                            },
                        }
                    ],
                },
            },
        )
        nic = _net(TEAM_B, "rg-team-b", "networkInterfaces", "vm-win2019-2-nic")
        stored = world.require(nic, "network interface")
        config = stored["properties"]["ipConfigurations"][0]
        props = {k: v for k, v in config["properties"].items() if k != "provisioningState"}
        props |= {
            "loadBalancerBackendAddressPools": [{"id": pool}],
            "loadBalancerInboundNatRules": [{"id": rule}],
        }
        apply(
            world,
            nic,
            {
                "location": REGION,
                "properties": {"ipConfigurations": [{"name": config["name"], "properties": props}]},
            },
        )
        apply(
            world,
            _net(TEAM_B, "rg-team-b", "privateLinkServices", HAND_PLS),
            {
                "location": REGION,
                "properties": {
                    "loadBalancerFrontendIpConfigurations": [{"id": frontend}],
                    "ipConfigurations": [
                        {
                            "name": "temp-vnet-default-1",
                            "properties": {
                                "subnet": {"id": subnet},
                                "primary": True,
                                "privateIPAllocationMethod": "Dynamic",
                            },
                        }
                    ],
                },
            },
        )


def _disable_pls_policies(world: World, subnet_id: str) -> None:
    """What the portal does before a private link service can take a NAT IP from the subnet."""
    vnet_id = ids.parse(subnet_id).parent  # type: ignore[union-attr]
    vnet = world.require(vnet_id, "virtual network")
    body = {
        "location": vnet["location"],
        "properties": {k: v for k, v in vnet["properties"].items() if k != "provisioningState"},
    }
    for item in body["properties"]["subnets"]:
        if item["id"].lower() == subnet_id.lower():
            item["properties"] = {
                k: v
                for k, v in item["properties"].items()
                if k not in ("provisioningState", "ipConfigurations")
            } | {"privateLinkServiceNetworkPolicies": "Disabled"}
    apply(world, vnet_id, body)


TF_GROUP, TF_PLS, TF_ENDPOINTS = "rg-orders", "orders-api", ("pe-orders-api-batch", "pe-orders-api-reports")
CONSUMER_GROUP = "rg-batch"
AKS_GROUP, AKS_LB = "MC_rg-aks-orders_aks-orders_japaneast", "aks-orders-internal"
AKS_FRONTEND = "a3f9c27e51d04b7f8e6a1c2d3e4f5a6b"
AKS_PLS = f"pls-{AKS_FRONTEND}"


def _made_elsewhere(world: World) -> None:
    """Private link services natlink did not make, for ``/natlink adopt`` (issue 11 section 2),
    each in its own VNets so the walkthrough's addresses stay as shared/topology.md says.

    * ``orders-api`` in Team B, as Terraform makes one: its own LB ``lb-orders-api`` (frontend
      ``fe-orders-api`` 10.5.0.10, rule 443 to the two instances of the scale set
      ``vmss-orders-api``, 10.5.0.4 and .5; a scale set, so Team B's VM list stays the
      walkthrough's), a NAT subnet of its own (10.5.1.4), tagged by Terraform, not by natlink;
      two private endpoints of Team A (10.1.0.4 and .5 in ``rg-batch/batch-vnet``) wait on it
      (Pending), because azurerm has no resource that approves a connection
      (terraform-provider-azurerm #27903, #22082, #19777).
    * An AKS cluster's internal LB with a private link service on it, as cloud-provider-azure
      makes them in the cluster's ``MC_`` group: a scale-set node pool behind the LB, the PLS named
      ``pls-<frontend name>`` and its NAT IP in the LB's subnet (cloud-provider-azure.sigs.k8s.io
      topics/pls-integration). The LB is ``<configuration>-internal`` as with several standard
      load balancers (topics/multislb), not the default ``kubernetes-internal``, which tests build
      in rg-team-b and find by name.
    """
    world.add_group(TEAM_B, TF_GROUP, REGION)
    world.add_group(TEAM_B, AKS_GROUP, REGION)
    tf_vnet = add_vnet(
        world,
        TEAM_B,
        TF_GROUP,
        "orders-vnet",
        "10.5.0.0/16",
        {"app": "10.5.0.0/24", "pls-nat": "10.5.1.0/24"},
        REGION,
        pls_subnets=("pls-nat",),
    )
    app = f"{tf_vnet}/subnets/app"
    tf_lb = _internal_lb(world, TF_GROUP, "lb-orders-api", "fe-orders-api", app, 443, ip="10.5.0.10")
    add_scale_set(world, TEAM_B, TF_GROUP, "vmss-orders-api", app, [f"{tf_lb}/backendAddressPools/pool"])
    tf_pls = _pls(
        world,
        TF_GROUP,
        TF_PLS,
        f"{tf_lb}/frontendIPConfigurations/fe-orders-api",
        f"{tf_vnet}/subnets/pls-nat",
        {"managed-by": "terraform", "workspace": "orders-prod"},
    )
    world.add_group(TEAM_A, CONSUMER_GROUP, REGION)
    consumer = add_vnet(
        world, TEAM_A, CONSUMER_GROUP, "batch-vnet", "10.1.0.0/16", {"default": "10.1.0.0/24"}, REGION
    )
    for pe in TF_ENDPOINTS:
        apply(
            world,
            _net(TEAM_A, CONSUMER_GROUP, "privateEndpoints", pe),
            {
                "location": REGION,
                "properties": {
                    "subnet": {"id": f"{consumer}/subnets/default"},
                    "manualPrivateLinkServiceConnections": [
                        {
                            "name": pe,
                            "properties": {
                                "privateLinkServiceId": tf_pls,
                                "requestMessage": f"Team A {pe.rsplit('-', 1)[1]} jobs need the orders API",
                            },
                        }
                    ],
                },
            },
        )
    aks_vnet = add_vnet(
        world,
        TEAM_B,
        AKS_GROUP,
        "aks-vnet-25419131",
        "10.224.0.0/16",
        {"aks-subnet": "10.224.0.0/24"},
        REGION,
        pls_subnets=("aks-subnet",),
    )
    subnet = f"{aks_vnet}/subnets/aks-subnet"
    aks_lb = _internal_lb(world, AKS_GROUP, AKS_LB, AKS_FRONTEND, subnet, 8080, pool="kubernetes")
    pool = f"{aks_lb}/backendAddressPools/kubernetes"
    add_scale_set(world, TEAM_B, AKS_GROUP, "aks-nodepool1-25419131-vmss", subnet, [pool])
    _pls(
        world,
        AKS_GROUP,
        AKS_PLS,
        f"{aks_lb}/frontendIPConfigurations/{AKS_FRONTEND}",
        subnet,
        {"k8s-azure-owner-service": "orders/orders-web", "k8s-azure-cluster-name": "kubernetes"},
    )


def _internal_lb(
    world: World,
    group: str,
    name: str,
    frontend: str,
    subnet: str,
    port: int,
    pool: str = "pool",
    ip: str | None = None,
) -> str:
    """An internal Standard LB with one frontend (at ``ip``, else the lowest free address), pool,
    TCP probe and rule ``port`` → ``port``."""
    lb = _net(TEAM_B, group, "loadBalancers", name)
    where: Json = {"subnet": {"id": subnet}}
    if ip:
        where |= {"privateIPAllocationMethod": "Static", "privateIPAddress": ip}
    apply(
        world,
        lb,
        {
            "location": REGION,
            "sku": {"name": "Standard"},
            "properties": {
                "frontendIPConfigurations": [{"name": frontend, "properties": where}],
                "backendAddressPools": [{"name": pool}],
                "probes": [{"name": f"tcp-{port}", "properties": {"protocol": "Tcp", "port": port}}],
                "loadBalancingRules": [
                    {
                        "name": f"tcp-{port}",
                        "properties": {
                            "protocol": "Tcp",
                            "frontendPort": port,
                            "backendPort": port,
                            "frontendIPConfiguration": {"id": f"{lb}/frontendIPConfigurations/{frontend}"},
                            "backendAddressPool": {"id": f"{lb}/backendAddressPools/{pool}"},
                            "probe": {"id": f"{lb}/probes/tcp-{port}"},
                        },
                    }
                ],
            },
        },
    )
    return lb


def _pls(world: World, group: str, name: str, frontend: str, subnet: str, tags: dict[str, str]) -> str:
    """A private link service on ``frontend`` with one NAT IP from ``subnet``, visible to Team A."""
    rid = _net(TEAM_B, group, "privateLinkServices", name)
    apply(
        world,
        rid,
        {
            "location": REGION,
            "tags": tags,
            "properties": {
                "visibility": {"subscriptions": [TEAM_A]},
                "loadBalancerFrontendIpConfigurations": [{"id": frontend}],
                "ipConfigurations": [{"name": f"{name}-nat", "properties": {"subnet": {"id": subnet}}}],
            },
        },
    )
    return rid


WORLDS = {"seed": seed_world, "seed-by-hand": seed_by_hand, "walkthrough": seed_topology}
"""The worlds the sandbox can start from, by name (``--world``). ``walkthrough`` is the seed without
the services made elsewhere: the tests' default, whose assertions read the walkthrough alone."""
