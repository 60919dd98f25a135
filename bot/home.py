"""App Home: the Home tab natlink publishes for a person each time they open it (``app_home_opened``).

What it says comes from ``commands.home``; here it becomes Block Kit within Slack's limits (a Home
tab holds 100 blocks; natlink keeps to its message limits, 50 blocks and about 12,000 characters
of text, through ``views.fit``), and Slack's answer to ``views.publish`` is checked: a refusal is
logged with the method and the user, and the person is told by DM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from commands.context import Context
from commands.home import Home, Part, Snapshots, gather
from commands.replies import Refusal

from . import slack_out, views

log = logging.getLogger("natlink.home")
HOME = "natlink_home"
ENABLE = "turn on the Home tab in the app's settings (app.yaml: features.app_home.home_tab_enabled)"


def view(home: Home) -> dict[str, Any]:
    """The Home tab: each part under its header, its lines within an equal share of the text budget."""
    share = views.MAX_TOTAL // max(len(home.parts), 1) - 300  # room for each part's header and note
    blocks = [
        views.header("natlink"),
        views.context(
            f"Yours as of {home.at:%Y-%m-%d %H:%M} UTC. natlink brings it up to date when you open this "
            f"tab; if that time looks old, {_commands(home)} say the same."
        ),
    ]
    for part in home.parts:
        blocks += [views.divider(), *_part(part, share)]
    return {"type": "home", "callback_id": HOME, "blocks": views.fit(blocks)}


def _part(part: Part, share: int) -> list[views.Block]:
    """A part's lines within ``share``; its portal links go (their labels stay) when they would
    leave lines out, since every line matters more than its links."""
    kept: list[str] = []
    lines = part.lines
    if sum(len(line) + 1 for line in lines) > share:
        lines = tuple(map(views.unlinked, lines))
    for line in lines:
        line = views.cut(line, views.MAX_SECTION)
        if kept and sum(len(k) + 1 for k in kept) + len(line) > share:
            break
        kept.append(line)
    blocks = views.lines_message(part.title, kept, part.empty).blocks
    if len(kept) < part.total:
        blocks.append(
            views.context(f"{len(kept)} of {part.total} shown; `/natlink {part.more}` lists them all.")
        )
    return blocks


def on_opened(context_of: Callable[[str], Context], snapshots: Snapshots | None) -> Callable[..., None]:
    """The ``app_home_opened`` listener (bolt acks events itself before it runs). bolt passes
    arguments by name, so what it needs is bound here."""

    def opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home":
            return  # the Messages tab: the DMs natlink sends are already there
        user = event["user"]
        try:
            home = gather(context_of(user), snapshots)
            shown = view(home)
        except Exception:  # a listener never raises into bolt; the person still learns it failed
            log.exception("the Home tab of %s could not be built", user)
            _tell(client, user, Refusal("natlink could not gather your Home tab. Open it again in a minute."))
            return
        publish(client, user, shown, _commands(home))

    return opened


def publish(client: WebClient, user: str, home: dict[str, Any], instead: str) -> bool:
    """``views.publish``, reading Slack's answer: a refusal is logged, and the person told in plain
    words that their Home tab still shows older information, and which commands (``instead``)
    show the same now."""
    try:
        client.views_publish(user_id=user, view=home)
        return True
    except SlackApiError as error:
        code = str(error.response.get("error"))
        log.warning("views.publish for %s failed: %s", user, code)
        if code == "not_enabled":
            refusal = Refusal(
                f"natlink could not show your Home tab: Slack answered {code}.",
                hint=f"Ask a Slack admin to {ENABLE}.",
            )
        else:
            refusal = Refusal(
                "natlink could not refresh your Home tab, so it still shows older information.",
                hint=f"{instead} show the same now.",
            )
        _tell(client, user, refusal)
        return False


def _commands(home: Home) -> str:
    """The commands that list what each part of the Home tab shows: always within reach."""
    return ", ".join(f"`/natlink {part.more}`" for part in home.parts)


def _tell(client: WebClient, user: str, refusal: Refusal) -> None:
    if slack_out.private(client, user, None, None, slack_out.render(refusal)) is not None:
        log.error("%s could not be told that their Home tab failed", user)
