"""The one place natlink retries ARM: throttling and "another operation is in progress".

Two shapes, as ARM sends them (issue 9 rule 8). An HTTP error on the request itself is retried
here, in the pipeline. The same codes also arrive *late*, as the error of a Failed long-running
operation; :func:`late_retryable` names those, and ``cloud.steps.wait`` re-issues the idempotent
PUT or DELETE that started the operation, at most ``LRO_TRIES`` times with ``LRO_PAUSE`` between.

Azure answers 429 when throttled and 409 ``RetryableErrorDueToAnotherOperation`` or
``AnotherOperationInProgress`` while a concurrent change holds the resource; both mean "nothing
was done, try again". azure-core retries 429 already but treats a 409 as final, and it sleeps for
any Retry-After however long, so this policy adds those 409s and caps each wait. The total is
bounded by the policy's own ``timeout`` (seconds over all tries) and ``retry_total``.
"""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

# ARM's codes for "another operation holds the resource": RetryableErrorDueToAnotherOperation is
# named in azure-docs request-limits-and-throttling.md ("the network resource provider returns 429
# with the RetryableErrorDueToAnotherOperation error code when the target resource is locked by
# another operation"); AnotherOperationInProgress ("Another operation on this or dependent resource
# is in progress") in microsoft/AzureTRE#2222 and pulumi/pulumi-azure-native#903.
RETRYABLE_CONFLICTS = frozenset({"RetryableErrorDueToAnotherOperation", "AnotherOperationInProgress"})
# ARM's 429 "A retryable error occured." whose details say why (hashicorp/terraform#7986); it is
# late-retryable only when a detail is one of RETRYABLE_CONFLICTS.
# RetryableError: ARM's code, with its reason in details: hashicorp/terraform#7986
RETRYABLE_ERROR = "RetryableError"
MAX_RETRY_AFTER = 20
LRO_TRIES = 3  # a long-running operation that fails late is started at most this many times
LRO_PAUSE = 2.0  # seconds between those tries


class ArmRetryPolicy(RetryPolicy):
    """azure-core's retry policy, plus ARM's retryable 409s, with Retry-After capped."""

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse) -> bool:
        if response.http_response.status_code == 409:
            return bool(settings["total"]) and conflict_code(response) in RETRYABLE_CONFLICTS
        return bool(super().is_retry(settings, response))

    def _sleep_for_retry(self, response: PipelineResponse, transport: Any) -> bool:
        """Honour Retry-After, but never longer than MAX_RETRY_AFTER seconds per wait."""
        retry_after = self.get_retry_after(response)
        if retry_after:
            transport.sleep(min(retry_after, MAX_RETRY_AFTER))
            return True
        return False


def conflict_code(response: PipelineResponse) -> str | None:
    """The ARM error code of a response body (``{"error": {"code": ...}}``), if it has one.

    The first request of a long-running operation is streamed, so the body is read (and kept
    for the SDK's own error handling) before it is parsed.
    """
    try:
        response.http_response.read()
        body = json.loads(response.http_response.text() or "{}")
    except (AzureError, ValueError, TypeError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def late_retryable(error: AzureError) -> str | None:
    """The code of a Failed long-running operation that another operation caused, else None.

    ``AnotherOperationInProgress`` or ``RetryableErrorDueToAnotherOperation`` as the error's code,
    or ``RetryableError`` whose ``details`` carry one of them: nothing was done, so the idempotent
    request that started the operation may be sent again.
    """
    detail = getattr(error, "error", None)
    code = getattr(detail, "code", None)
    if code in RETRYABLE_CONFLICTS:
        return str(code)
    if code == RETRYABLE_ERROR:
        inner = {getattr(d, "code", None) for d in getattr(detail, "details", None) or []}
        return RETRYABLE_ERROR if inner & RETRYABLE_CONFLICTS else None
    return None
