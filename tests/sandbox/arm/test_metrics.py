"""Azure Monitor metrics served by the sandbox, read with the real azure-mgmt-monitor client."""

from __future__ import annotations

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.monitor import MonitorManagementClient

from tests.arm_story import A_RG, B_RG, LB_ID, expose, pe_body
from tests.conftest import TEAM_B


@pytest.fixture
def monitor_b(sandbox, credential) -> MonitorManagementClient:
    return MonitorManagementClient(
        credential, TEAM_B, base_url=sandbox.arm_url, connection_verify=sandbox.ca_bundle
    )


def _by_dimension(response) -> dict[str, float]:
    (metric,) = response.value
    return {ts.metadatavalues[-1].value: ts.data[-1].average for ts in metric.timeseries}


def test_probe_status_follows_power_state(net_b, compute_b: ComputeManagementClient, monitor_b) -> None:
    expose(net_b)

    def availability() -> dict[str, float]:
        return _by_dimension(
            monitor_b.metrics.list(
                LB_ID,
                metricnames="DipAvailability",
                aggregation="Average",
                interval="PT1M",
                filter="BackendIPAddress eq '*'",
            )
        )

    assert availability() == {"10.2.0.5": 100.0}
    compute_b.virtual_machines.begin_power_off(B_RG, "VM-Win2019-2").result()
    assert availability() == {"10.2.0.5": 0.0}
    compute_b.virtual_machines.begin_start(B_RG, "VM-Win2019-2").result()
    assert availability() == {"10.2.0.5": 100.0}


def test_probe_status_carries_azures_dimensions(net_b, monitor_b) -> None:
    """DipAvailability's dimensions as Azure Monitor lists them for Microsoft.Network/loadBalancers."""
    expose(net_b)
    response = monitor_b.metrics.list(
        LB_ID,
        metricnames="DipAvailability",
        filter="BackendIPAddress eq '*' and FrontendIPAddress eq '*' and BackendPort eq '*' "
        "and FrontendPort eq '*' and ProtocolType eq '*'",
    )
    (series,) = response.value[0].timeseries
    assert {m.name.value: m.value for m in series.metadatavalues} == {
        "backendipaddress": "10.2.0.5",
        "frontendipaddress": "10.2.0.4",
        "backendport": "3389",
        "frontendport": "3389",
        "protocoltype": "TCP",
    }


def test_a_probe_failed_through_the_control_api(sandbox, net_b, monitor_b) -> None:
    expose(net_b)
    sandbox.control("POST", "probe", {"lb": LB_ID, "ip": "10.2.0.5", "healthy": False})
    response = monitor_b.metrics.list(LB_ID, metricnames="DipAvailability", filter="BackendIPAddress eq '*'")
    assert _by_dimension(response) == {"10.2.0.5": 0.0}
    assert response.value[0].name.value == "DipAvailability"
    assert response.value[0].unit == "Percent"
    assert len(response.value[0].timeseries[0].data) == 60  # the last hour, a point a minute


def test_nat_port_usage(sandbox, net_a, net_b, monitor_b) -> None:
    pls = expose(net_b)
    usage = monitor_b.metrics.list(
        pls.id, metricnames="PLSNatPortsUsage", filter="PrivateLinkServiceIPAddress eq '*'"
    )
    assert _by_dimension(usage) == {"10.2.0.6": 0.0}
    net_a.private_endpoints.begin_create_or_update(A_RG, "pe", pe_body(pls.alias)).result()
    (connection,) = net_b.private_link_services.list_private_endpoint_connections(B_RG, "pls-rdp")
    connection.private_link_service_connection_state.status = "Approved"
    net_b.private_link_services.update_private_endpoint_connection(
        B_RG, "pls-rdp", connection.name, connection
    )
    usage = monitor_b.metrics.list(
        pls.id, metricnames="PLSNatPortsUsage", filter="PrivateLinkServiceIPAddress eq '*'"
    )
    assert _by_dimension(usage) == {"10.2.0.6": 2.0}
    sandbox.control("POST", "nat-usage", {"pls": pls.id, "ip": "10.2.0.6", "percent": 90})
    usage = monitor_b.metrics.list(
        pls.id, metricnames="PLSNatPortsUsage", filter="PrivateLinkServiceIPAddress eq '*'"
    )
    assert _by_dimension(usage) == {"10.2.0.6": 90.0}


def test_one_subscription_call_covers_every_load_balancer(sandbox, credential) -> None:
    generated = sandbox.control("POST", "generate", {"subscriptions": 2, "services": 6, "endpoints": 0})
    sub = generated["subscriptions"][0]
    monitor = MonitorManagementClient(
        credential, sub, base_url=sandbox.arm_url, connection_verify=sandbox.ca_bundle
    )
    sandbox.control("DELETE", "requests")
    response = monitor.metrics.list_at_subscription_scope(
        region="japaneast",
        metricnamespace="Microsoft.Network/loadBalancers",
        metricnames="DipAvailability",
        filter="Microsoft.ResourceId eq '*' and BackendIPAddress eq '*'",
    )
    (metric,) = response.value
    resources = {ts.metadatavalues[0].value.rsplit("/", 1)[1] for ts in metric.timeseries}
    assert resources == {"lb-0", "lb-2", "lb-4"}  # services alternate between the two subscriptions
    assert sandbox.control("GET", "requests")["total"] == 1


def test_unknown_metric_is_refused(net_b, monitor_b) -> None:
    from azure.core.exceptions import HttpResponseError

    expose(net_b)
    with pytest.raises(HttpResponseError) as caught:
        monitor_b.metrics.list(LB_ID, metricnames="NoSuchMetric")
    assert (caught.value.status_code, caught.value.error.code) == (400, "BadRequest")
