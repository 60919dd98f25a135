"""One credential and one client per subscription and service, built once and reused.

Clients hold connection pools and cached tokens, so building them per call would repeat TLS
handshakes and token requests. Timeouts, retries (see :mod:`cloud.retry`) and long-running
operations are bounded so neither a sweep nor a change can hang.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from azure.core.exceptions import AzureError
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.network import NetworkManagementClient

from .retry import ArmRetryPolicy
from .settings import CloudSettings

T = TypeVar("T")
MAX_WORKERS = 8  # subscriptions read at once
ARM_SCOPE = "https://management.azure.com/.default"
CONNECTION_TIMEOUT = 10
READ_TIMEOUT = 60
RETRIES = 4
RETRY_BACKOFF_MAX = 20
RETRY_TIMEOUT = 60
LRO_TIMEOUT = 600.0


class Clients:
    """The Azure clients for ``settings``, created lazily and safe to share between threads."""

    def __init__(
        self, settings: CloudSettings, polling_interval: float = 5.0, lro_timeout: float = LRO_TIMEOUT
    ) -> None:
        self.settings = settings
        self.polling_interval = polling_interval
        self.lro_timeout = lro_timeout
        self._lock = threading.Lock()
        self._credential: DefaultAzureCredential | None = None
        self._network: dict[str, NetworkManagementClient] = {}
        self._compute: dict[str, ComputeManagementClient] = {}
        self._monitor: dict[str, MonitorManagementClient] = {}

    @property
    def credential(self) -> DefaultAzureCredential:
        with self._lock:
            if self._credential is None:
                self._credential = DefaultAzureCredential(
                    connection_verify=self._verify(),
                    disable_instance_discovery=not self.settings.is_public_cloud,
                )
            return self._credential

    def network(self, subscription: str) -> NetworkManagementClient:
        return self._client(self._network, NetworkManagementClient, subscription)

    def compute(self, subscription: str) -> ComputeManagementClient:
        return self._client(self._compute, ComputeManagementClient, subscription)

    def monitor(self, subscription: str) -> MonitorManagementClient:
        """Azure Monitor (metrics) for ``subscription``, with the same timeouts and retries."""
        return self._client(self._monitor, MonitorManagementClient, subscription)

    def per_subscription(self, subscriptions: tuple[str, ...], read: Callable[[str], T]) -> list[T]:
        """``read`` for every subscription at once, in a bounded pool, in order.

        The shared token is fetched first, on this thread, so the workers reuse it instead of each
        asking the identity provider at the same moment (best effort: a failure is left for the
        workers' own calls to meet and report per subscription).
        """
        if not subscriptions:
            return []
        config = getattr(self.network(subscriptions[0]), "_config", None)
        with contextlib.suppress(AzureError):
            self.credential.get_token(*(getattr(config, "credential_scopes", None) or [ARM_SCOPE]))
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(subscriptions))) as pool:
            return list(pool.map(read, subscriptions))

    def _client(self, cache: dict[str, Any], kind: type, subscription: str) -> Any:
        credential = self.credential
        with self._lock:
            if subscription.lower() not in cache:
                cache[subscription.lower()] = kind(credential, subscription, **self._options())
            return cache[subscription.lower()]

    def _options(self) -> dict[str, Any]:
        return {
            "base_url": self.settings.arm_url,
            "connection_verify": self._verify(),
            "connection_timeout": CONNECTION_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "retry_policy": ArmRetryPolicy(
                retry_total=RETRIES,
                retry_status=RETRIES,
                retry_backoff_max=RETRY_BACKOFF_MAX,
                timeout=RETRY_TIMEOUT,
            ),
            "polling_interval": self.polling_interval,
        }

    def _verify(self) -> str | bool:
        return self.settings.ca_bundle or True
