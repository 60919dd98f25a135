"""A change as named steps: progress for the person waiting, and a failure that tells the truth.

A change such as expose touches four resources. If the third fails, the person must learn which
step failed and what the first two left in Azure; :class:`Steps` keeps that list and puts it into
the :class:`CloudError`. :func:`wait` bounds every long-running operation, and starts it again
when it fails late because another operation held the resource (issue 9 rule 8).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.polling import LROPoller

from . import retry
from .clients import Clients
from .errors import CloudError

log = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[str], None]


class Steps:
    """The steps of one change (``action``), reported through ``progress`` as each one ends."""

    def __init__(self, action: str, progress: Progress | None = None) -> None:
        self.action = action
        self.exists: list[str] = []
        self._progress = progress

    def done(self, message: str) -> None:
        """Record what a finished step left in Azure and tell the person."""
        self.exists.append(message)
        if self._progress is not None:
            self._progress(message)

    @contextmanager
    def step(self, name: str, resource: str | None = None) -> Iterator[None]:
        """Run one step; an Azure failure (or an unlabelled CloudError) names it and what exists."""
        try:
            yield
        except CloudError as exc:
            if exc.step is not None:
                raise
            raise self._failed(name, exc) from exc
        except AzureError as exc:
            raise self._failed(name, CloudError.from_azure(exc, resource)) from exc

    def _failed(self, name: str, error: CloudError) -> CloudError:
        so_far = "; ".join(self.exists) if self.exists else "nothing from earlier steps"
        return CloudError(
            error.code,
            f"{self.action} failed at step '{name}': {error.message} Already in place: {so_far}.",
            error.resource,
            error.hint,
            step=name,
            exists=tuple(self.exists),
        )


def wait(clients: Clients, start: Callable[[], LROPoller[T]], what: str) -> T:
    """Start a long-running operation with ``start()`` and return its result.

    Each try is bounded by ``clients.lro_timeout`` seconds (else ``OperationTimedOut``). An
    operation that fails late because another operation held the resource (``retry.late_retryable``)
    is started again: ``start`` re-issues the same idempotent PUT or DELETE, at most
    ``retry.LRO_TRIES`` times in all, ``retry.LRO_PAUSE`` seconds apart. After the last try the
    failure says which code it was and how often it was tried. Errors of the first request itself
    are the pipeline's (cloud/retry.py) and are not retried again here.
    """
    for attempt in range(1, retry.LRO_TRIES + 1):
        poller = start()
        try:
            result = poller.result(timeout=clients.lro_timeout)
        except HttpResponseError as exc:
            code = retry.late_retryable(exc)
            if code is None:
                raise
            if attempt == retry.LRO_TRIES:
                error = CloudError.from_azure(exc)
                raise CloudError(
                    error.code,
                    f"{what} failed {attempt} times with {code}: another operation kept the resource busy. "
                    f"{error.message}",
                    error.resource,
                    "Wait for the other change on this resource (or one it depends on) to finish, then run "
                    "the command again.",
                ) from exc
            log.info(
                "%s failed late with %s (try %d of %d); starting it again",
                what,
                code,
                attempt,
                retry.LRO_TRIES,
            )
            time.sleep(retry.LRO_PAUSE)
            continue
        if not poller.done():
            raise CloudError(  # natlink's own code
                "OperationTimedOut",
                f"{what} did not finish within {clients.lro_timeout:g} s; Azure may still complete it.",
                hint="Check the resource's provisioning state in a minute, then run the command again.",
            )
        return result
    raise AssertionError("unreachable: the last try returns or raises")
