"""A change as named steps: progress for the person waiting, and a failure that tells the truth.

A change such as expose touches four resources. If the third fails, the person must learn which
step failed and what the first two left in Azure; :class:`Steps` keeps that list and puts it into
the :class:`CloudError`. :func:`wait` bounds every long-running operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from azure.core.exceptions import AzureError
from azure.core.polling import LROPoller

from .clients import Clients
from .errors import CloudError

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


def wait(clients: Clients, poller: LROPoller[T], what: str) -> T:
    """The poller's result within ``clients.lro_timeout`` seconds, or ``OperationTimedOut``."""
    result = poller.result(timeout=clients.lro_timeout)
    if not poller.done():
        raise CloudError(
            "OperationTimedOut",
            f"{what} did not finish within {clients.lro_timeout:g} s; Azure may still complete it.",
            hint="Check the resource's provisioning state in a minute, then run the command again.",
        )
    return result
