"""What Slack accepts from an app in answer to an interaction, and the app's declared shortcuts.

Slack judges an app's answers as it receives them, and a wrong one reaches nobody: the person sees
a generic failure in the form or an empty picker. The stand-in's driver holds the app to the same
rules (``AnswerRefused``), so a test cannot pass on an answer real Slack would throw away.

* Options loads (``block_suggestion``, sent to the app's options load URL for an
  ``external_select``, docs.slack.dev block-kit select menu element "external_select" and its
  guide to external data sources): the app answers HTTP 200 with ``options`` or ``option_groups``
  within 3 seconds; at most 100 options (or 100 groups of at most 100), option text at most 75
  characters, value at most 150, group label at most 75. Slack sends no load until the person has
  typed ``min_query_length`` characters (default 3).
* View submissions answered with ``response_action: "errors"`` (docs.slack.dev, bolt
  ``ViewErrorsResponseAction``: ``errors`` maps a block_id to its message): each key must be the
  block_id of an input block in the submitted view; Slack shows any other answer as a failure of
  the whole form.
* Shortcuts (docs.slack.dev, bolt-python "Listening and responding to shortcuts"): Slack only
  offers those the app's configuration declares (``features.shortcuts``: name at most 24
  characters, type ``global`` or ``message``, callback_id); a global shortcut's payload carries no
  channel, a message shortcut's (``message_action``) carries the channel, the message and a
  response URL.
"""

from __future__ import annotations

from typing import Any

OPTIONS_SECONDS = 3.0
MAX_OPTIONS = 100
OPTION_TEXT_MAX, OPTION_VALUE_MAX, GROUP_LABEL_MAX = 75, 150, 75
DEFAULT_MIN_QUERY_LENGTH = 3

SHORTCUTS: tuple[dict[str, str], ...] = (
    {
        "name": "Request private endpoint",
        "type": "global",
        "callback_id": "natlink_request_shortcut",
        "description": "Ask for a private endpoint to a natlink service, from a VM or subnet you may use",
    },
    {
        "name": "Request an endpoint",
        "type": "message",
        "callback_id": "natlink_message_request",
        "description": "Ask for a private endpoint to the service this natlink card is about",
    },
)
"""The shortcuts natlink's installation in this workspace declares, as its manifest (app.yaml) does;
a test holds the two equal."""


class AnswerRefused(Exception):
    """The app answered an interaction in a way Slack would not accept; ``errors`` say how."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def shortcut(callback_id: str, kind: str) -> dict[str, str]:
    """The declared shortcut of this ``kind`` (global or message); Slack offers no other."""
    for declared in SHORTCUTS:
        if declared["callback_id"] == callback_id and declared["type"] == kind:
            return declared
    raise LookupError(f"the app declares no {kind} shortcut {callback_id!r}")


def min_query_length(element: dict[str, Any]) -> int:
    value = element.get("min_query_length", DEFAULT_MIN_QUERY_LENGTH)
    return value if isinstance(value, int) else DEFAULT_MIN_QUERY_LENGTH


def options_errors(status: int, body: Any, seconds: float) -> list[str]:
    """Why Slack would not show this answer to an options load (empty when it would)."""
    if seconds > OPTIONS_SECONDS:
        return [f"the app took {seconds:.1f}s to answer; Slack waits {OPTIONS_SECONDS:.0f}s"]
    if status != 200:
        return [f"the app answered HTTP {status}"]
    if not isinstance(body, dict) or ("options" in body) == ("option_groups" in body):
        return ["the answer must hold options or option_groups (one of the two)"]
    errors: list[str] = []
    if "options" in body:
        _options(body["options"], "/options", errors)
        return errors
    groups = body["option_groups"]
    if not isinstance(groups, list) or len(groups) > MAX_OPTIONS:
        return [f"option_groups must be a list of at most {MAX_OPTIONS}"]
    for i, group in enumerate(groups):
        label = (group or {}).get("label") if isinstance(group, dict) else None
        _text(label, f"/option_groups/{i}/label", GROUP_LABEL_MAX, errors)
        _options(
            (group or {}).get("options") if isinstance(group, dict) else None,
            f"/option_groups/{i}/options",
            errors,
        )
    return errors


def _options(options: Any, at: str, errors: list[str]) -> None:
    if not isinstance(options, list) or len(options) > MAX_OPTIONS:
        errors.append(f"{at} must be a list of at most {MAX_OPTIONS}")
        return
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            errors.append(f"{at}/{i} must be an object")
            continue
        _text(option.get("text"), f"{at}/{i}/text", OPTION_TEXT_MAX, errors)
        value = option.get("value")
        if not isinstance(value, str) or not 1 <= len(value) <= OPTION_VALUE_MAX:
            errors.append(f"{at}/{i}/value must be 1 to {OPTION_VALUE_MAX} characters")


def _text(obj: Any, at: str, most: int, errors: list[str]) -> None:
    if not isinstance(obj, dict) or obj.get("type") != "plain_text" or not isinstance(obj.get("text"), str):
        errors.append(f"{at} must be a plain_text object")
    elif not 1 <= len(obj["text"]) <= most:
        errors.append(f"{at}/text must be 1 to {most} characters")


def submission_errors(view: dict[str, Any], body: Any) -> list[str]:
    """Why Slack would refuse this answer to a view submission (empty when it would accept it)."""
    if not isinstance(body, dict) or body.get("response_action") != "errors":
        return []
    errors = body.get("errors")
    if not isinstance(errors, dict) or not errors:
        return ["response_action errors needs a non-empty errors object"]
    inputs = {b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"}
    return [
        f"errors key {key!r} is not the block_id of an input block of the view"
        for key in errors
        if key not in inputs
    ] + [
        f"errors[{key!r}] must be a non-empty string"
        for key, text in errors.items()
        if not isinstance(text, str) or not text
    ]
