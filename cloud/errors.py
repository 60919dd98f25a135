"""One error type for everything that goes wrong talking to Azure, with a hint a person can act on.

The SDK raises a zoo of exceptions whose useful part (the ARM error code) is buried; the bot
shows ``code``, ``message`` and ``hint`` and never needs to know the SDK.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
    ServiceRequestError,
    ServiceResponseError,
    map_error,
)
from azure.mgmt.core.exceptions import ARMErrorFormat

from . import roles
from .model import Unreadable

T = TypeVar("T")
UNREADABLE_STATUSES = frozenset({401, 403, 404})
_SDK_ERRORS = {  # as the SDK's own operations map them
    401: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
    304: ResourceNotModifiedError,
}

_SCOPE = re.compile(r"scope '([^']+)'")
# The action ARM names in its 403s: "does not have authorization to perform action '<action>' over
# scope" (AuthorizationFailed) and "does not have permission to perform action '<action>' on the
# linked scope(s)" (LinkedAuthorizationFailed); the message shapes are quoted in sandbox/arm.
_MISSING_ACTION = re.compile(
    r"does not have (?:authorization|permission) to perform action '([^']+)' (?:over|on the linked) scope",
    re.I,
)
_ALLOWED_ACTION = re.compile(r"has permission to perform action '([^']+)'", re.I)
# AuthorizationFailed, LinkedAuthorizationFailed: ARM's codes: azure-docs common-deployment-errors.md
_RBAC_CODES = frozenset({"AuthorizationFailed", "LinkedAuthorizationFailed"})

_HINTS = {
    # AuthorizationFailed: ARM's code: azure-docs common-deployment-errors.md
    "AuthorizationFailed": "Assign the natlink identity the 'Reader' role (to list) or 'Network Contributor' "
    "(to change resources) on scope '{scope}'.",
    # LinkedAuthorizationFailed: ARM's code: azure-docs common-deployment-errors.md
    "LinkedAuthorizationFailed": "Use a manual connection request, or ask the service owner to add your "
    "subscription to its auto-approval list; approving needs 'Network Contributor' on '{scope}'.",
    # SubnetIsFull: ARM's code: azure-docs common-deployment-errors.md
    "SubnetIsFull": "Free addresses in the subnet or pick another one; Azure reserves 5 addresses per subnet.",
    # PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled: natlink's own code as far as found: no public source seen for this ARM code
    "PrivateLinkServiceCannotBeCreatedInSubnetThatHasNetworkPoliciesEnabled": "Set "
    "privateLinkServiceNetworkPolicies to 'Disabled' on the NAT subnet, then retry.",
    # LoadBalancerInUseByPrivateLinkService: natlink's own code as far as found: no public source seen for this ARM code
    "LoadBalancerInUseByPrivateLinkService": "Delete the private link service on this load balancer's "
    "frontend first.",
    # ResourceNotFound: ARM's code: azure-docs common-deployment-errors.md
    "ResourceNotFound": "Check the name, resource group and subscription; it may have been deleted outside natlink.",
    # NotFound: ARM's code: azure-docs common-deployment-errors.md
    "NotFound": "Check the name, resource group and subscription; it may have been deleted outside natlink.",
    # ResourceGroupNotFound: ARM's code: azure-docs common-deployment-errors.md
    "ResourceGroupNotFound": "Check the resource group's name and subscription.",
    # ARM's 401 for a token issued for another audience (another cloud's ARM); wording in
    # Azure-Samples/active-directory-dotnetcore-daemon-v2#145.
    "InvalidAuthenticationTokenAudience": "The token is for another cloud's ARM: set NATLINK_CLOUD to the cloud "
    "NATLINK_ARM_URL belongs to.",
    # ARM's 400s for an api-version it does not list for the type (azure-cli#13834, #28038, #28496).
    "NoRegisteredProviderFound": "ARM does not offer this api-version here; natlink's Azure SDK pins may be "
    "too new or too old for this cloud: check the natlink release notes.",
    # InvalidApiVersionParameter: ARM's code for an api-version it does not list (Azure/azure-cli#13834, Azure/azure-cli#28038)
    "InvalidApiVersionParameter": "ARM does not offer this api-version here; natlink's Azure SDK pins may be "
    "too new or too old for this cloud: check the natlink release notes.",
    # Seen here only once natlink's bounded reruns are spent: ARM's code for a resource another
    # operation holds (azure-docs request-limits-and-throttling.md; hashicorp/terraform#7986).
    "AnotherOperationInProgress": "Another change to this resource is still running in Azure (the portal, a "
    "pipeline, another natlink step); wait for it to finish, then run the command again.",
    # ARM's 429 whose details carry RetryableErrorDueToAnotherOperation (request-limits-and-throttling.md).
    "RetryableError": "Another change to this resource is still running in Azure; wait for it to finish, "
    "then run the command again.",
    # SubscriptionNotFound: ARM's code: azure-docs common-deployment-errors.md
    "SubscriptionNotFound": "Check NATLINK_SUBSCRIPTIONS and that the identity's tenant holds this subscription.",
    # ARM's 401 when a token from one tenant reaches a subscription of another ("The access token is
    # from the wrong issuer ... It must match the tenant ... associated with this subscription";
    # quoted in Azure/azure-sdk-for-net#49391 and Azure/pcs-cli#357).
    "InvalidAuthenticationTokenTenant": "This subscription belongs to another Entra ID tenant than "
    "AZURE_TENANT_ID. natlink signs in to one tenant: remove the subscription from NATLINK_SUBSCRIPTIONS, "
    "or run a natlink for that tenant.",
    # PrivateLinkServiceAliasNotFound: natlink's own code as far as found: no public source seen for this ARM code
    "PrivateLinkServiceAliasNotFound": "Check the alias; the service may be gone, or its visibility may not "
    "include your subscription.",
    # TooManyRequests: natlink's own code, for a 429 whose body has no code
    "TooManyRequests": "Azure is throttling natlink even after retries; wait a minute and try again.",
    # ClientAuthenticationError: natlink's own code: the azure-core exception's name
    "ClientAuthenticationError": "Check AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and "
    "AZURE_AUTHORITY_HOST.",
    # ServiceRequestError: natlink's own code: the azure-core exception's name
    "ServiceRequestError": "natlink could not reach ARM: check NATLINK_ARM_URL, NATLINK_CA_BUNDLE and the network.",
    # ServiceResponseError: natlink's own code: the azure-core exception's name
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
        unanswered: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.resource = resource
        self.hint = hint
        self.step = step
        self.exists = exists
        self.unanswered = unanswered

    @classmethod
    def from_azure(cls, error: AzureError, resource: str | None = None) -> CloudError:
        code, message = _code_and_message(error)
        return cls(code, message, resource, hint_for(code, message, resource), unanswered=_unanswered(error))


def hint_for(code: str, message: str, resource: str | None) -> str:
    """What to do about ``code``; the scope comes from ARM's message when it names one. A refusal
    naming an action one of natlink's roles holds says which role, and the command that prints it."""
    found = _SCOPE.search(message)
    scope = found.group(1) if found else (resource or "the resource")
    missing = _MISSING_ACTION.search(message) if code in _RBAC_CODES else None
    allowed = _ALLOWED_ACTION.search(message)
    advice = roles.granting(missing.group(1), allowed.group(1) if allowed else None).advice if missing else ""
    if missing and advice and code == "AuthorizationFailed":  # ARM's code: common-deployment-errors.md
        broader = _HINTS[code].format(scope=scope)
        return (
            f"natlink lacks '{missing.group(1)}' on scope '{scope}': {advice}. Broader, built in: {broader}"
        )
    if missing and advice:
        return f"natlink lacks '{missing.group(1)}' on the linked scope {_linked(message)}: {advice}."
    return _HINTS.get(code, "").format(scope=scope)


def _linked(message: str) -> str:
    found = re.search(r"linked scope\(s\) '([^']+)'", message)
    return f"'{found.group(1)}'" if found else "(see the message)"


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


def _unanswered(error: AzureError) -> bool:
    """True when Azure gave no verdict: no answer, a 5xx, or throttling that outlasted the retries.
    A person is then told natlink could not reach Azure, not that Azure refused."""
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        return error.status_code >= 500 or error.status_code == 429
    return isinstance(error, ServiceRequestError | ServiceResponseError)


def raise_for_status(response: Any) -> None:
    """What the SDK's own operations do with an answer other than 200: the same exception types."""
    if response.status_code != 200:
        map_error(status_code=response.status_code, response=response, error_map=_SDK_ERRORS)
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)


def read_or_unreadable(subscription: str, read: Callable[[], T]) -> T | Unreadable:
    """``read()`` one subscription for a sweep: a refusal (401/403/404) marks it unreadable, so the
    rest still shows; any other failure is a ``CloudError`` that stops the sweep."""
    scope = f"/subscriptions/{subscription}"
    try:
        return read()
    except HttpResponseError as exc:
        error = CloudError.from_azure(exc, scope)
        if exc.status_code not in UNREADABLE_STATUSES:
            raise error from exc
        # The hint rides in the message: the sweep's report (natlink inventory) then names the
        # missing action and the role that grants it, not only the code.
        return Unreadable(subscription, error.code, " ".join(filter(None, (error.message, error.hint))))
    except AzureError as exc:
        raise CloudError.from_azure(exc, scope) from exc
