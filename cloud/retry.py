"""The one place natlink retries ARM: throttling and "another operation is in progress".

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

RETRYABLE_CONFLICTS = frozenset({"RetryableErrorDueToAnotherOperation", "AnotherOperationInProgress"})
MAX_RETRY_AFTER = 20


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
