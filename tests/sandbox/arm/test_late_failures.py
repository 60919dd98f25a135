"""Operations that fail late (issue 9 rule 8): the stand-in sends ARM's two retryable shapes, as an
HTTP error on the request and as the error of a Failed long-running operation, through the real SDK.

Sources: azure-docs request-limits-and-throttling.md (429 ``RetryableErrorDueToAnotherOperation``
"when the target resource is locked by another operation"); hashicorp/terraform#7986 (429
``RetryableError`` with the reason in ``details``); microsoft/AzureTRE#2222 (``AnotherOperationInProgress``
reported from the operation, not the request: ``StatusCode=0``).
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from tests.arm_story import B_RG

LB = {"location": "japaneast", "sku": {"name": "Standard"}, "properties": {}}


def test_a_429_carries_arm_details(sandbox, net_b) -> None:
    sandbox.control(
        "POST",
        "faults",
        {
            "method": "PUT",
            "path": "loadBalancers/lb-busy$",
            "status": 429,
            "code": "RetryableError",
            "message": "A retryable error occured.",
            "details": [
                {"code": "RetryableErrorDueToAnotherOperation", "message": "Operation X is updating it."}
            ],
            "count": 10,
            "retry_after": 0,
        },
    )
    with pytest.raises(HttpResponseError) as caught:
        net_b.load_balancers.begin_create_or_update(B_RG, "lb-busy", LB, retry_total=0)
    error = caught.value.error
    assert caught.value.status_code == 429 and error.code == "RetryableError"
    assert [(d.code, d.message) for d in error.details] == [
        ("RetryableErrorDueToAnotherOperation", "Operation X is updating it.")
    ]


def test_a_retryable_lro_failure_carries_details_and_is_used_up_after_count(sandbox, net_b) -> None:
    sandbox.control("POST", "lro-failures", {"type": "loadBalancers", "retryable": True, "count": 2})
    for _ in range(2):
        with pytest.raises(HttpResponseError) as caught:
            net_b.load_balancers.begin_create_or_update(B_RG, "lb-late", LB).result()
        error = caught.value.error
        assert error.code == "RetryableError"
        assert [d.code for d in error.details] == ["RetryableErrorDueToAnotherOperation"]
        assert net_b.load_balancers.get(B_RG, "lb-late").provisioning_state == "Failed"
    assert net_b.load_balancers.begin_create_or_update(B_RG, "lb-late", LB).result().provisioning_state == (
        "Succeeded"
    )


def test_another_operation_in_progress_as_a_failed_operation(sandbox, net_b) -> None:
    sandbox.control(
        "POST", "lro-failures", {"type": "loadBalancers", "code": "AnotherOperationInProgress", "count": 1}
    )
    with pytest.raises(HttpResponseError) as caught:
        net_b.load_balancers.begin_create_or_update(B_RG, "lb-late", LB).result()
    assert caught.value.error.code == "AnotherOperationInProgress"
    assert net_b.load_balancers.begin_create_or_update(B_RG, "lb-late", LB).result().provisioning_state == (
        "Succeeded"
    )


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "loadBalancers", "code": "X", "count": 0},
        {"type": "loadBalancers", "code": "X", "details": "no"},
    ],
)
def test_a_bad_lro_failure_is_refused(sandbox, spec) -> None:
    with pytest.raises(Exception, match="InvalidFault"):
        sandbox.control("POST", "lro-failures", spec)
