"""The bolt App: Slack's signature check, a WebClient that retries 429s, and natlink's listeners."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from .listeners import Deps, register
from .settings import BotSettings

SLACK_API_URL = "https://slack.com/api/"
LISTENER_THREADS = 32


def web_client(settings: BotSettings) -> WebClient:
    """Rate-limited calls are retried after Slack's Retry-After; dropped connections are retried too."""
    return WebClient(
        token=settings.bot_token,
        base_url=settings.api_url or SLACK_API_URL,
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
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="natlink-listener"
        ),
    )
    register(app, deps)
    return app
