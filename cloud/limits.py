"""Azure's limits that natlink meets, each defined once with where Azure states it.

Plain numbers, importing nothing, so every layer that checks or explains a limit (``cloud``
before it writes, ``commands`` when it validates an argument and writes the help) quotes the
same figure. natlink's own choices (how many ports a service takes, when NAT usage counts as
pressure) are not Azure's and live with the code that makes them. ``sandbox/arm`` keeps its own
copies on purpose: a stand-in that shared its limits with its client would prove nothing.
"""

from __future__ import annotations

NAT_IPS_MIN, NAT_IPS_MAX = 1, 8
"""NAT IP configurations on one private link service. Azure docs, "Azure subscription and service
limits", Private Link limits: "Number of IP Configurations on a private link service: 8 (this number
is for the NAT IP addresses used per PLS)"; the service needs at least one (REST spec
``privateLinkService.json``, ``ipConfigurations``)."""

REQUEST_MESSAGE_MAX = 140
"""Characters in a private endpoint's connection request message. REST spec
``Microsoft.Network/.../privateEndpoint.json``, ``PrivateLinkServiceConnectionProperties.requestMessage``:
"A message passed to the owner of the remote resource with this connection request. Restricted to
140 chars." natlink also keeps a decision's connection-state description within it."""

NAME_MAX = 80
"""Characters in the name of the network resources natlink names (load balancers and their child
resources, private link services). Azure docs, "Naming rules and restrictions for Azure resources",
Microsoft.Network: 1-80 characters."""

ENDPOINT_NAME_MIN, ENDPOINT_NAME_MAX = 2, 64
"""Characters in a private endpoint's name. Azure docs, "Naming rules and restrictions for Azure
resources", Microsoft.Network/privateEndpoints: 2-64 characters, alphanumerics, underscores,
periods and hyphens; starts with an alphanumeric, ends with an alphanumeric or underscore."""

RESOURCE_GROUP_MAX = 90
"""Characters in a resource group name. Azure docs, "Naming rules and restrictions for Azure
resources", Microsoft.Resources/resourcegroups: 1-90 characters."""
