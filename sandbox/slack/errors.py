"""Slack's error shape, so every refusal reads like Slack's: ``{"ok": false, "error": ...}``.

Slack answers almost every failure with HTTP 200 and an ``error`` code; only rate limits (429)
and its own outages use other statuses. Validation failures add ``response_metadata.messages``.
"""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """A refusal that becomes one Slack error body."""

    def __init__(
        self,
        error: str,
        messages: list[str] | None = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.status = status
        self.headers = headers or {}
        self.extra = extra or {}  # fields some errors carry, such as missing_scope's needed/provided

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body
