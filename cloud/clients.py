"""One credential and one client per subscription and service, built once and reused.

Clients hold connection pools and cached tokens, so building them per call would repeat TLS
handshakes and token requests. Timeouts, retries (see :mod:`cloud.retry`) and long-running
operations are bounded so neither a sweep nor a change can hang.

Every client asks for a token of the configured cloud's ARM audience, from that cloud's authority:
a token for another cloud's ARM is one Entra ID will not issue and ARM will not take.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar, copy_context
from typing import Any, TypeVar

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.identity import AzureAuthorityHosts, DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.storage import StorageManagementClient

from .retry import ArmRetryPolicy, Pacer, PacingPolicy
from .settings import AzureCloud, CloudSettings

T = TypeVar("T")
MAX_WORKERS = 24  # subscriptions read at once; each is paced by ARM's remaining-reads header
ARM_SCOPE = "https://management.azure.com/.default"  # public Azure's; each client uses its cloud's
# Entra ID's own hosts; MSAL's instance discovery makes sense only against them.
KNOWN_AUTHORITIES = frozenset(
    {
        AzureAuthorityHosts.AZURE_PUBLIC_CLOUD,
        AzureAuthorityHosts.AZURE_GOVERNMENT,
        AzureAuthorityHosts.AZURE_CHINA,
    }
)
# A streamed response is read in blocks of this size. The sweep streams its list pages (each a
# few hundred KB: cloud.inventory.pages), and azure-core's default 4 KiB made ~50 Python-level
# reads of each; a page now arrives in one, and a big sweep costs ~11% less CPU (bench/sweep.py).
STREAM_BLOCK_BYTES = 1 << 20
CONNECTION_TIMEOUT = 10
READ_TIMEOUT = 60
RETRIES = 4
RETRY_BACKOFF_MAX = 20
RETRY_TIMEOUT = 60
LRO_TIMEOUT = 600.0


class RequestCount:
    """ARM requests counted by :meth:`Clients.counting`, retries included; shared by its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0

    def add(self) -> None:
        with self._lock:
            self.total += 1


_COUNTING: ContextVar[RequestCount | None] = ContextVar("natlink_arm_request_count", default=None)


class Clients:
    """The Azure clients for ``settings``, created lazily and safe to share between threads."""

    def __init__(
        self,
        settings: CloudSettings,
        polling_interval: float = 5.0,
        lro_timeout: float = LRO_TIMEOUT,
        on_response: Callable[[int], object] | None = None,
        on_sweep: Callable[[float, int], object] | None = None,
    ) -> None:
        """``on_response`` hears the HTTP status of every ARM response, retries included; ``on_sweep``
        the seconds and ARM requests of every sweep, whatever started it (both for /metrics)."""
        self.settings = settings
        self.on_response = on_response
        self.on_sweep = on_sweep or (lambda seconds, requests: None)
        self.polling_interval = polling_interval
        self.lro_timeout = lro_timeout
        self._lock = threading.Lock()
        self.pacer = Pacer()  # one per Clients: ARM's buckets are per subscription, whichever client asks
        self._credential: CloudCredential | None = None
        self._network: dict[str, NetworkManagementClient] = {}
        self._compute: dict[str, ComputeManagementClient] = {}
        self._monitor: dict[str, MonitorManagementClient] = {}
        self._storage: dict[str, StorageManagementClient] = {}

    @property
    def authority(self) -> str:
        """AZURE_AUTHORITY_HOST when set (as azure-identity itself reads it), else the cloud's."""
        return (
            self.settings.authority_host
            or os.environ.get("AZURE_AUTHORITY_HOST")
            or self.settings.cloud.authority_host
        ).rstrip("/")

    @property
    def credential(self) -> CloudCredential:
        with self._lock:
            if self._credential is None:
                authority = self.authority
                self._credential = CloudCredential(
                    self.settings.cloud,
                    authority=authority,
                    connection_verify=self._verify(),
                    disable_instance_discovery=authority.removeprefix("https://") not in KNOWN_AUTHORITIES,
                )
            return self._credential

    def network(self, subscription: str) -> NetworkManagementClient:
        return self._client(self._network, NetworkManagementClient, subscription)

    def compute(self, subscription: str) -> ComputeManagementClient:
        return self._client(self._compute, ComputeManagementClient, subscription)

    def monitor(self, subscription: str) -> MonitorManagementClient:
        """Azure Monitor (metrics) for ``subscription``, with the same timeouts and retries."""
        return self._client(self._monitor, MonitorManagementClient, subscription)

    def storage(self, subscription: str) -> StorageManagementClient:
        """Storage accounts (``verify``'s capture account: its blob endpoint and keys)."""
        return self._client(self._storage, StorageManagementClient, subscription)

    @property
    def verify_tls(self) -> str | bool:
        """What TLS trusts, for clients built outside ARM's (the capture blob's data plane)."""
        return self._verify()

    def per_subscription(self, subscriptions: tuple[str, ...], read: Callable[[str], T]) -> list[T]:
        """``read`` for every subscription at once, in a bounded pool, in order.

        The shared token is fetched first, on this thread, so the workers reuse it instead of each
        asking the identity provider at the same moment (best effort: a failure is left for the
        workers' own calls to meet and report per subscription).
        """
        if not subscriptions:
            return []
        with contextlib.suppress(AzureError):
            self.credential.get_token(self.settings.cloud.scope)
        contexts = [copy_context() for _ in subscriptions]  # a count (see counting) reaches the workers
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(subscriptions))) as pool:
            return list(pool.map(lambda context, sub: context.run(read, sub), contexts, subscriptions))

    @contextlib.contextmanager
    def counting(self) -> Iterator[RequestCount]:
        """Count the ARM requests made inside the block, by this thread and the subscription workers
        it starts (not by other threads sharing these clients)."""
        count = RequestCount()
        token = _COUNTING.set(count)
        try:
            yield count
        finally:
            _COUNTING.reset(token)

    def _client(self, cache: dict[str, Any], kind: type, subscription: str) -> Any:
        credential = self.credential
        with self._lock:
            if subscription.lower() not in cache:
                cache[subscription.lower()] = kind(credential, subscription, **self._options())
            return cache[subscription.lower()]

    def _options(self) -> dict[str, Any]:
        return {
            "base_url": self.settings.arm_url,
            "credential_scopes": [self.settings.cloud.scope],
            "connection_verify": self._verify(),
            "connection_timeout": CONNECTION_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "connection_data_block_size": STREAM_BLOCK_BYTES,
            "retry_policy": ArmRetryPolicy(
                retry_total=RETRIES,
                retry_status=RETRIES,
                retry_backoff_max=RETRY_BACKOFF_MAX,
                timeout=RETRY_TIMEOUT,
            ),
            "polling_interval": self.polling_interval,
            "per_retry_policies": [
                PacingPolicy(self.pacer),
                _Responses(self.on_response or (lambda status: None)),
            ],
        }

    def _verify(self) -> str | bool:
        return self.settings.ca_bundle or True


class _Responses(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Tells ``hear`` each response's status, and counts it when a count is on (see
    ``Clients.counting``); per retry, so a 429 that was retried still counts."""

    def __init__(self, hear: Callable[[int], object]) -> None:
        self.hear = hear

    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:  # type: ignore[type-arg]
        self.hear(response.http_response.status_code)
        if (count := _COUNTING.get()) is not None:
            count.add()


class CloudCredential(DefaultAzureCredential):
    """azure-identity's DefaultAzureCredential, whose refusals say which cloud natlink asked for.

    Entra ID refuses a token for another cloud's ARM with AADSTS500011 ("the resource principal
    named https://management.usgovcloudapi.net was not found in the tenant"), which reads like a
    missing app registration; the real cause is NATLINK_CLOUD, so the message names it.
    """

    def __init__(self, cloud: AzureCloud, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cloud = cloud
        self.authority = kwargs.get("authority", "")

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        try:
            return super().get_token(*scopes, **kwargs)
        except ClientAuthenticationError as error:
            raise self._explained(error) from error

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        try:
            return super().get_token_info(*scopes, options=options)
        except ClientAuthenticationError as error:
            raise self._explained(error) from error

    def _explained(self, error: ClientAuthenticationError) -> ClientAuthenticationError:
        if "AADSTS500011" not in str(error.message):
            return error
        return ClientAuthenticationError(
            message=f"NATLINK_CLOUD is {self.cloud.name}, but the identity provider at {self.authority} does not "
            f"know its ARM ({self.cloud.audience}): set NATLINK_CLOUD to the cloud your tenant is in "
            f"(AzureCloud, AzureUSGovernment or AzureChinaCloud). {error.message}"
        )
