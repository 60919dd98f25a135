"""One error type for everything that goes wrong talking to Azure, with a hint a person can act on.

The SDK raises a zoo of exceptions whose useful part (the ARM error code) is buried; the bot
shows ``code``, ``message`` and ``hint`` and never needs to know the SDK.
"""

from __future__ import annotations

import re

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

_SCOPE = re.compile(r"scope '([^']+)'")

_HINTS = {
    "AuthorizationFailed": "Assign the natlink identity the 'Reader' role (to list) or 'Network Contributor' "
    "(to change resources) on scope '{scope}'.",
    "LinkedAuthorizationFailed": "Use a manual connection request, or ask the service owner to add your "
    "subscription to its auto-approval list; approving needs 'Network Contributor' on '{scope}'.",
    "SubnetIsFull": "Free addresses in the subnet or pick another one; Azure reserves 5 addresses per subnet.",
    "PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled": "Set "
    "privateLinkServiceNetworkPolicies to 'Disabled' on the NAT subnet, then retry.",
    "LoadBalancerInUseByPrivateLinkService": "Delete the private link service on this load balancer's "
    "frontend first.",
    "ResourceNotFound": "Check the name, resource group and subscription; it may have been deleted outside natlink.",
    "NotFound": "Check the name, resource group and subscription; it may have been deleted outside natlink.",
    "ResourceGroupNotFound": "Check the resource group's name and subscription.",
    "SubscriptionNotFound": "Check NATLINK_SUBSCRIPTIONS and that the identity's tenant holds this subscription.",
    "PrivateLinkServiceAliasNotFound": "Check the alias; the service may be gone, or its visibility may not "
    "include your subscription.",
    "TooManyRequests": "Azure is throttling natlink even after retries; wait a minute and try again.",
    "ClientAuthenticationError": "Check AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and "
    "AZURE_AUTHORITY_HOST.",
    "ServiceRequestError": "natlink could not reach ARM: check NATLINK_ARM_URL, NATLINK_CA_BUNDLE and the network.",
    "ServiceResponseError": "ARM did not answer in time; try again.",
}


class CloudError(Exception):
    """An Azure failure as ``code``, ``message``, the ``resource`` concerned and an actionable ``hint``.

    A failure in the middle of a change also names the ``step`` that failed and what already
    ``exists`` from the earlier steps, so nothing half-made goes unreported.
    """

    def __init__(
        self,
        code: str,
        message: str,
        resource: str | None = None,
        hint: str = "",
        *,
        step: str | None = None,
        exists: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.resource = resource
        self.hint = hint
        self.step = step
        self.exists = exists

    @classmethod
    def from_azure(cls, error: AzureError, resource: str | None = None) -> CloudError:
        code, message = _code_and_message(error)
        return cls(code, message, resource, hint_for(code, message, resource))


def hint_for(code: str, message: str, resource: str | None) -> str:
    """What to do about ``code``; the scope comes from ARM's message when it names one."""
    found = _SCOPE.search(message)
    scope = found.group(1) if found else (resource or "the resource")
    return _HINTS.get(code, "").format(scope=scope)


def _code_and_message(error: AzureError) -> tuple[str, str]:
    if isinstance(error, ClientAuthenticationError) and error.response is None:
        return "ClientAuthenticationError", error.message
    if isinstance(error, HttpResponseError):
        detail = error.error
        if detail is not None and detail.code:
            return detail.code, detail.message or error.message
        return ("TooManyRequests" if error.status_code == 429 else f"Http{error.status_code}"), error.message
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return type(error).__name__, error.message
    return type(error).__name__, str(error)
