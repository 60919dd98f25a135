"""The bolt App: Slack's signature check, a WebClient that retries 429s, and natlink's listeners."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from . import names, request_form
from .listeners import Deps, register
from .settings import BotSettings

SLACK_API_URL = "https://slack.com/api/"
LISTENER_THREADS = 32
# bolt's messages that quote a request body: a failed signature check (INFO, the whole raw body),
# a request no listener takes (WARNING, a digest that can hold typed text), a middleware that
# answered nothing (WARNING, the whole body). Bodies carry response URLs and what users typed.
BODY_QUOTING = ("Invalid request signature", "Unhandled request", "A global middleware")


class WithoutBodies(logging.Filter):
    """Keep what bolt says about a request, cut the request body it quotes (always after " (")."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(BODY_QUOTING):
            record.msg, record.args = message.split(" (", 1)[0] + " (request body withheld)", None
        return True


def bolt_logger() -> logging.Logger:
    """The logger bolt gives each of its parts, at WARNING whatever NATLINK_LOG_LEVEL says.

    Without one, bolt sets each part's level to the root's as it makes it, overriding the "slack_bolt"
    level serve sets: at NATLINK_LOG_LEVEL=INFO every unsigned body was logged whole, and DEBUG adds
    every answer. Given one, every part copies its level and filter.
    """
    logger = logging.getLogger("slack_bolt")
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, WithoutBodies) for f in logger.filters):
        logger.addFilter(WithoutBodies())
    return logger


SPOKEN = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
"""The methods whose ``text`` a person reads as a notification: their mentions become names."""


class CountingWebClient(WebClient):
    """A WebClient that, in one place rather than at every call site, tells ``on_error`` of every
    call Slack refused (method, error), as /metrics counts Slack API errors by method, and with
    ``names`` names the people a message's ``text`` mentions (bot/names.py)."""

    def __init__(
        self,
        *args: Any,
        on_error: Callable[[str, str], object] | None = None,
        names: names.Names | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_error = on_error
        self.names = names

    def api_call(self, api_method: str, **kwargs: Any) -> Any:  # type: ignore[override]
        body = kwargs.get("json")  # slack_sdk sends the chat.* methods' arguments as JSON
        if (
            self.names is not None
            and api_method in SPOKEN
            and isinstance(body, dict)
            and isinstance(body.get("text"), str)
        ):
            kwargs["json"] = body | {"text": self.names.spoken(body["text"])}
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            if self.on_error is not None:
                self.on_error(api_method, str(error.response.get("error")))
            raise


def web_client(settings: BotSettings, on_error: Callable[[str, str], object] | None = None) -> WebClient:
    """Rate-limited calls are retried after Slack's Retry-After; dropped connections are retried too.
    Names are asked on a client of their own that neither waits nor retries (bot/names.py)."""
    base_url = settings.api_url or SLACK_API_URL
    quick = CountingWebClient(
        on_error=on_error,
        token=settings.bot_token,
        base_url=base_url,
        timeout=names.TIMEOUT_SECONDS,
        retry_handlers=[],
    )
    return CountingWebClient(
        on_error=on_error,
        names=names.Names(names.users_info(quick)),
        token=settings.bot_token,
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=5),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_app(settings: BotSettings, deps: Deps, client: WebClient) -> App:
    """bolt verifies every request's signature and timestamp (older than 5 minutes is refused) before a listener runs."""
    # bolt runs listeners on its own pool (10 threads by default) and answers Slack when a listener
    # acks; a burst of 20 commands would queue behind 10. The client carries the token.
    app = App(
        signing_secret=settings.signing_secret,
        client=client,
        logger=bolt_logger(),
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="natlink-listener"
        ),
    )
    app.middleware(_ours(client))
    register(app, deps)
    request_form.register(app, deps)
    return app


def _ours(client: WebClient) -> Callable[[BoltContext, Callable[[], None]], None]:
    """A middleware giving listeners natlink's client. Since bolt 1.15 a listener's ``client`` is a
    plain WebClient bolt makes per request (slack_bolt.App._init_context), which would post without
    naming people (``CountingWebClient.names``) or counting Slack's refusals (``on_error``). natlink
    never changes a client's token, so sharing one is safe; bolt binds the arguments by name."""

    def use(context: BoltContext, next_: Callable[[], None]) -> None:
        context["client"] = client
        next_()

    return use
