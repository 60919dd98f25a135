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

Throttling is better not met at all: :class:`Pacer` reads ARM's ``x-ms-ratelimit-remaining-
subscription-<reads|writes|deletes>`` header on every response and, once a subscription's bucket
runs low, spaces that subscription's requests at ARM's refill rate; a 429's ``Retry-After`` holds
every request to that subscription, not only the one refused, until it has passed.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy, RetryPolicy

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
# ARM's refill per second of each subscription bucket (learn.microsoft.com/azure/azure-resource-manager/
# management/request-limits-and-throttling: reads 250 refilled at 25/s, writes and deletes 200 at 10/s).
REFILL_PER_SECOND = {"reads": 25.0, "writes": 10.0, "deletes": 10.0}
LOW_WATER_SECONDS = 2.0  # pace a subscription once fewer requests remain than this much refill
_KINDS = {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}  # anything else counts as a write
_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?]+)", re.I)


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


class Pacer:
    """Per subscription and kind of request: how many ARM says remain, the earliest the next
    request may go, and any Retry-After a 429 asked for. Shared by every client of one ``Clients``."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._next: dict[tuple[str, str], float] = {}  # (subscription, kind) -> earliest next send
        self._remaining: dict[tuple[str, str], int] = {}
        self._held: dict[str, float] = {}  # subscription -> until when a 429 holds it
        self.waited = 0.0  # seconds spent waiting, all threads together (for tests and benchmarks)

    def wait(self, method: str, url: str) -> None:
        """Block until this request may go: after any hold, and a refill's interval after the last
        request of its kind while the bucket is low."""
        where = _where(method, url)
        if where is None:
            return
        low = LOW_WATER_SECONDS * REFILL_PER_SECOND[where[1]]
        with self._lock:
            now = self.clock()
            at = max(now, self._held.get(where[0], 0.0))
            if self._remaining.get(where, low) < low:
                at = max(at, self._next.get(where, 0.0))
                self._next[where] = at + 1 / REFILL_PER_SECOND[where[1]]
            self.waited += at - now
        if at > now:
            self.sleep(at - now)

    def heard(self, method: str, url: str, status: int, headers: Any) -> None:
        """Note what ARM said remains, and hold the subscription for a 429's Retry-After."""
        where = _where(method, url)
        if where is None:
            return
        remaining = headers.get(f"x-ms-ratelimit-remaining-subscription-{where[1]}")
        with self._lock:
            if remaining is not None and str(remaining).isdigit():
                self._remaining[where] = int(remaining)
            if status == 429:
                after = _seconds(headers.get("Retry-After"))
                self._held[where[0]] = max(
                    self._held.get(where[0], 0.0), self.clock() + min(after, MAX_RETRY_AFTER)
                )


class PacingPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """Each try (a per-retry policy) waits its turn with the :class:`Pacer`, which hears the answer."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self.pacer = pacer

    def send(self, request: PipelineRequest) -> PipelineResponse:  # type: ignore[type-arg]
        http = request.http_request
        self.pacer.wait(http.method, http.url)
        response = self.next.send(request)
        answer = response.http_response
        self.pacer.heard(http.method, http.url, answer.status_code, answer.headers)
        if answer.status_code == 429:
            answer.read()  # a streamed answer (a sweep's list page) gives its connection back before the retry
        return response


def _where(method: str, url: str) -> tuple[str, str] | None:
    """``(subscription, kind)`` of an ARM request, or None for one outside a subscription."""
    match = _SUBSCRIPTION.search(url)
    return (match.group(1).lower(), _KINDS.get(method.upper(), "writes")) if match else None


def _seconds(value: str | None) -> float:
    """A Retry-After in seconds (ARM sends whole seconds); one second when absent or unreadable."""
    try:
        return max(float(value or 1), 0.0)
    except ValueError:
        return 1.0


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
