"""Which api-versions ARM accepts for each resource type the sandbox serves, and how it refuses others.

Real ARM routes a request by its path and ``api-version`` before any resource provider sees it,
and refuses a version it has no registration for. Three answers, all 400, depending on who owns
the path (each quoted from a real response):

* ARM's own APIs (subscriptions, resource groups, providers, the generic resource list, the
  metadata document): ``InvalidApiVersionParameter`` "The api-version '…' is invalid. The
  supported versions are '…'." (Azure/azure-cli#28038, hashicorp/vault-plugin-secrets-azure#13).
* A provider's resource type where ARM knows the location (a PUT's body, an existing resource):
  ``NoRegisteredProviderFound`` "No registered resource provider found for location '…' and API
  version '…' for type '…'. The supported api-versions are '…'. The supported locations are '…'."
  (Azure/azure-cli#28496, #27154).
* A provider's resource type without a location (a list): ``InvalidResourceType`` "The resource
  type '…' could not be found in the namespace '…' for api version '…'. The supported api-versions
  are '…'." (Azure/azure-cli#13834).

The lists are the stable ones only: ARM also registers some preview versions, which natlink and
the clients that judge the sandbox never use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ArmError

# Microsoft.Network's load balancers, virtual networks and NICs. Up to 2020-03-01 the list ARM
# itself answered for loadBalancers (Azure/azure-cli#13834; the same for networkInterfaces in
# #28496); after it, the stable folders of azure-rest-api-specs
# specification/network/resource-manager/Microsoft.Network/stable/ (2025-09-01 to 2026-03-01 as
# listed by azure-mgmt-network 33's generated `api_versions_list`, generated from those specs).
NETWORK: tuple[str, ...] = (
    "2015-06-15", "2016-03-30", "2016-06-01", "2016-07-01", "2016-08-01", "2016-09-01",
    "2016-10-01", "2016-11-01", "2016-12-01", "2017-03-01", "2017-04-01", "2017-06-01",
    "2017-08-01", "2017-09-01", "2017-10-01", "2017-11-01", "2018-01-01", "2018-02-01",
    "2018-03-01", "2018-04-01", "2018-05-01", "2018-06-01", "2018-07-01", "2018-08-01",
    "2018-10-01", "2018-11-01", "2018-12-01", "2019-02-01", "2019-04-01", "2019-06-01",
    "2019-07-01", "2019-08-01", "2019-09-01", "2019-11-01", "2019-12-01", "2020-01-01",
    "2020-03-01", "2020-04-01", "2020-05-01", "2020-06-01", "2020-07-01", "2020-08-01",
    "2020-11-01", "2021-02-01", "2021-03-01", "2021-05-01", "2021-08-01", "2022-01-01",
    "2022-05-01", "2022-07-01", "2022-09-01", "2022-11-01", "2023-02-01", "2023-04-01",
    "2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01", "2024-03-01",
    "2024-05-01", "2024-07-01", "2024-10-01", "2025-01-01", "2025-03-01", "2025-05-01",
    "2025-07-01", "2025-09-01", "2026-01-01", "2026-03-01",
)  # fmt: skip

# Private link services and private endpoints first appear in stable/2019-04-01
# (privateLinkService.json, privateEndpoint.json); the 2020-01-01 folder has neither.
PRIVATE_LINK: tuple[str, ...] = tuple(v for v in NETWORK if v >= "2019-04-01" and v != "2020-01-01")

# Microsoft.Compute virtualMachines: the "Microsoft.Compute resource types" version list of the ARM
# template reference (learn.microsoft.com/azure/templates/microsoft.compute/allversions), from
# specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/, and 2025-11-01 to
# 2026-04-01 as listed by azure-mgmt-compute 39's generated `api_versions_list`.
COMPUTE: tuple[str, ...] = (
    "2015-06-15", "2016-03-30", "2017-03-30", "2017-12-01", "2018-04-01", "2018-06-01",
    "2018-10-01", "2019-03-01", "2019-07-01", "2019-12-01", "2020-06-01", "2020-12-01",
    "2021-03-01", "2021-04-01", "2021-07-01", "2021-11-01", "2022-03-01", "2022-08-01",
    "2022-11-01", "2023-03-01", "2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01",
    "2024-11-01", "2025-04-01", "2025-11-01", "2026-03-01", "2026-04-01",
)  # fmt: skip

# Azure Monitor metrics (specification/monitor/resource-manager/Microsoft.Insights/stable/*/
# metrics_API.json); the subscription-scope query natlink's sweep uses exists from 2021-05-01.
METRICS: tuple[str, ...] = ("2016-09-01", "2018-01-01", "2021-05-01", "2023-10-01", "2024-02-01")
SUBSCRIPTION_METRICS: tuple[str, ...] = tuple(v for v in METRICS if v >= "2021-05-01")

# ARM's own APIs: the stable versions ARM itself listed in InvalidApiVersionParameter answers
# (Azure/azure-cli#28038, ansible-collections/azure#1739), and those of
# specification/resources/resource-manager/Microsoft.Resources/stable/ published since
# (2024-07-01 to 2025-04-01: resources.json; azure-cli 2.91 calls 2024-11-01 and 2022-12-01).
RESOURCE_MANAGER: tuple[str, ...] = (
    "2015-01-01", "2015-11-01", "2016-02-01", "2016-06-01", "2016-07-01", "2016-09-01",
    "2017-03-01", "2017-05-01", "2017-05-10", "2017-06-01", "2017-08-01", "2017-12-01",
    "2018-01-01", "2018-02-01", "2018-05-01", "2018-06-01", "2018-07-01", "2018-08-01",
    "2018-09-01", "2018-11-01", "2019-03-01", "2019-05-01", "2019-05-10", "2019-06-01",
    "2019-07-01", "2019-08-01", "2019-09-01", "2019-10-01", "2019-11-01", "2020-01-01",
    "2020-05-01", "2020-06-01", "2020-07-01", "2020-08-01", "2020-09-01", "2020-10-01",
    "2021-01-01", "2021-04-01", "2022-01-01", "2022-05-01", "2022-06-01", "2022-09-01",
    "2022-12-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-08-01", "2024-11-01",
    "2025-03-01", "2025-04-01",
)  # fmt: skip

# GET /metadata/endpoints: 2015-01-01 (Azure Stack's documented call), 2019-05-01 (the version
# azure-cli's cloud.py names), 2022-09-01 (what `az cloud register` asks for).
METADATA: tuple[str, ...] = ("2015-01-01", "2018-01-01", "2019-05-01", "2020-06-01", "2022-09-01")

# Provider namespaces and their types, lower-cased; a child type uses its top-level type's list.
_PROVIDER_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "microsoft.network": {"privatelinkservices": PRIVATE_LINK, "privateendpoints": PRIVATE_LINK},
    "microsoft.compute": {},
    "microsoft.insights": {"metrics": METRICS},
}
_NAMESPACE_DEFAULT = {"microsoft.network": NETWORK, "microsoft.compute": COMPUTE}
# A scale set's NICs live under Microsoft.Compute paths but are served by the network provider with
# its versions (specification/network/.../stable/*/vmssNetworkInterface.json).
_VMSS_NETWORK = re.compile(
    r"/virtualMachineScaleSets/[^/]+/(?:virtualMachines/[^/]+/)?networkInterfaces", re.I
)


@dataclass(frozen=True)
class Owner:
    """Who answers a path: ARM itself (``namespace`` is ``None``) or a provider's resource type."""

    namespace: str | None
    type: str
    versions: tuple[str, ...]


def owner(path: str) -> Owner | None:
    """The api-versions that apply to ``path``, or ``None`` when nothing here serves it."""
    lowered = path.rstrip("/").lower()
    if lowered.startswith("/metadata/endpoints"):
        return Owner(None, "metadata", METADATA)
    arm_own = lowered.startswith(("/subscriptions", "/tenants"))
    at = lowered.rfind("/providers/")  # the last one: a metric of a resource is Microsoft.Insights'
    parts = path.rstrip("/")[at + len("/providers/") :].split("/") if at >= 0 else []
    if not parts or parts[0].lower() == "microsoft.resources":
        return Owner(None, "resourceManager", RESOURCE_MANAGER) if arm_own else None
    namespace, tail = parts[0], parts[1:]
    if not tail:  # /subscriptions/{s}/providers/{namespace}: ARM's provider registration
        return Owner(None, "providers", RESOURCE_MANAGER)
    ns = namespace.lower()
    rtype = tail[0]
    if ns == "microsoft.compute" and _VMSS_NETWORK.search(path):
        return Owner(namespace, rtype, NETWORK)
    if ns == "microsoft.insights" and rtype.lower() == "metrics" and "/resourcegroups/" not in lowered:
        return Owner(namespace, rtype, SUBSCRIPTION_METRICS)
    if ns not in _PROVIDER_TYPES:
        return None
    versions = _PROVIDER_TYPES[ns].get(rtype.lower()) or _NAMESPACE_DEFAULT.get(ns)
    return Owner(namespace, rtype, versions) if versions else None


def registered(namespace: str, rtype: str) -> tuple[str, ...]:
    """The versions of ``namespace/rtype`` as a provider registration lists them (GET providers)."""
    ns = namespace.lower()
    return _PROVIDER_TYPES.get(ns, {}).get(rtype.lower()) or _NAMESPACE_DEFAULT.get(ns, ())


def check(path: str, version: str, location: str | None = None) -> None:
    """Refuse ``version`` for ``path`` the way ARM does; a path nothing serves is left to routing."""
    found = owner(path)
    if found is None or version in found.versions:
        return
    newest_first = list(reversed(found.versions))
    if found.namespace is None:
        raise ArmError(
            400,
            # InvalidApiVersionParameter: ARM's code for an api-version it does not list (Azure/azure-cli#13834, Azure/azure-cli#28038)
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '{','.join(newest_first)}'.",
        )
    supported = ", ".join(found.versions)
    if location:
        raise ArmError(
            400,
            # NoRegisteredProviderFound: ARM's code: azure-docs common-deployment-errors.md; for an api-version, Azure/azure-cli#28496
            "NoRegisteredProviderFound",
            f"No registered resource provider found for location '{location}' and API version '{version}' "
            f"for type '{found.type}'. The supported api-versions are '{supported}'. "
            f"The supported locations are '{', '.join(LOCATIONS)}'.",
        )
    raise ArmError(
        400,
        # InvalidResourceType: ARM's code: azure-docs common-deployment-errors.md
        "InvalidResourceType",
        f"The resource type '{found.type}' could not be found in the namespace '{found.namespace}' "
        f"for api version '{version}'. The supported api-versions are '{supported}'.",
    )


# The regions the sandbox offers (its seed world is in japaneast), with the display names
# GET /subscriptions/{s}/locations and provider registrations show.
LOCATIONS: dict[str, str] = {
    "eastus": "East US", "eastus2": "East US 2", "westus": "West US", "westus2": "West US 2",
    "centralus": "Central US", "northeurope": "North Europe", "westeurope": "West Europe",
    "uksouth": "UK South", "japaneast": "Japan East", "japanwest": "Japan West",
    "southeastasia": "Southeast Asia", "eastasia": "East Asia", "australiaeast": "Australia East",
}  # fmt: skip
