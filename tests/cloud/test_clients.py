"""One credential and one client per subscription, reused across sweeps, with bounded waits."""

from __future__ import annotations

from cloud.clients import CONNECTION_TIMEOUT, READ_TIMEOUT, RETRIES, Clients
from cloud.inventory import snapshot
from sandbox.arm.launch import RunningSandbox
from tests.conftest import TEAM_A, TEAM_B


def test_clients_are_cached_per_subscription(clients: Clients) -> None:
    assert clients.network(TEAM_A) is clients.network(TEAM_A.upper())
    assert clients.network(TEAM_A) is not clients.network(TEAM_B)
    assert clients.compute(TEAM_B) is clients.compute(TEAM_B)


def test_waits_and_retries_are_bounded(clients: Clients) -> None:
    network = clients.network(TEAM_A)
    connection = network._client._pipeline._transport.connection_config
    assert (connection.timeout, connection.read_timeout) == (CONNECTION_TIMEOUT, READ_TIMEOUT)
    assert network._config.retry_policy.total_retries == RETRIES
    assert network._config.polling_interval == clients.polling_interval == 0.05


def token_requests(sandbox: RunningSandbox) -> int:
    counts = sandbox.control("GET", "requests")["counts"]
    return sum(n for path, n in counts.items() if path.startswith("POST") and "token" in path)


def test_a_second_sweep_reuses_the_token(sandbox: RunningSandbox, clients: Clients) -> None:
    snapshot(clients, [TEAM_A, TEAM_B])
    first = token_requests(sandbox)
    assert 1 <= first <= 2, "at most one token request per concurrent subscription"
    snapshot(clients, [TEAM_A, TEAM_B])
    assert token_requests(sandbox) == first
