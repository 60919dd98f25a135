"""ARM error bodies: ``{"error": {"code", "message", "details"}}`` with an HTTP status."""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    """A refusal that the server turns into an ARM error response.

    Raised anywhere inside a request; the transaction that raised it is rolled back, so a
    refused request never leaves a half-applied change behind.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if self.target:
            error["target"] = self.target
        return {"error": error}


def not_found(resource_id: str, kind: str = "Resource") -> ArmError:
    return ArmError(
        404,
        # ResourceNotFound: ARM's code: azure-docs common-deployment-errors.md
        "ResourceNotFound",
        f"The {kind} '{resource_id}' was not found.",
        target=resource_id,
    )


def bad_request(code: str, message: str, target: str | None = None) -> ArmError:
    return ArmError(400, code, message, target=target)


def invalid_reference(referenced: str, referrer: str) -> ArmError:
    return ArmError(
        400,
        # InvalidResourceReference: ARM's code: azure-docs common-deployment-errors.md
        "InvalidResourceReference",
        f"Resource {referenced} referenced by resource {referrer} was not found. "
        "Please make sure that the referenced resource exists, and that both resources are in the same region.",
        target=referenced,
    )


def parent_not_found(parent_id: str) -> ArmError:
    return ArmError(
        404,
        # ParentResourceNotFound: ARM's code: azure-docs common-deployment-errors.md
        "ParentResourceNotFound",
        f"Can not perform requested operation on nested resource. Parent resource '{parent_id}' not found.",
        target=parent_id,
    )
