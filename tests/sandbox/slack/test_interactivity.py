"""The stand-in refuses the answers to interactions that real Slack throws away."""

from __future__ import annotations

import yaml

from bot.manifest import MANIFEST
from sandbox.slack.blocks import view_errors
from sandbox.slack.interactivity import SHORTCUTS, options_errors, submission_errors

VIEW = {
    "type": "modal",
    "title": {"type": "plain_text", "text": "Form"},
    "blocks": [
        {"type": "section", "block_id": "about", "text": {"type": "mrkdwn", "text": "hi"}},
        {
            "type": "input",
            "block_id": "vm",
            "label": {"type": "plain_text", "text": "VM"},
            "element": {"type": "external_select", "action_id": "pick", "min_query_length": 0},
        },
    ],
}


def _option(text: str, value: str = "v") -> dict:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def test_errors_must_name_an_input_block_of_the_view() -> None:
    assert submission_errors(VIEW, {"response_action": "errors", "errors": {"vm": "no such VM"}}) == []
    for key in ("about", "subnet"):  # a section, and no block at all
        (refused,) = submission_errors(VIEW, {"response_action": "errors", "errors": {key: "x"}})
        assert repr(key) in refused
    assert submission_errors(VIEW, {"response_action": "errors", "errors": {}})
    assert submission_errors(VIEW, {}) == []  # a bare ack closes the form


def test_an_options_load_is_answered_in_time_within_slacks_limits() -> None:
    assert options_errors(200, {"options": [_option("VM-1")]}, 0.2) == []
    grouped = {"option_groups": [{"label": {"type": "plain_text", "text": "Sub"}, "options": [_option("a")]}]}
    assert options_errors(200, grouped, 0.2) == []
    assert options_errors(200, {"options": [_option("a")]}, 3.5)  # Slack waits 3 seconds
    assert options_errors(200, {"options": [_option(str(i)) for i in range(101)]}, 0.1)
    assert options_errors(200, {"options": [_option("x" * 76)]}, 0.1)
    assert options_errors(200, {"options": [_option("a", "v" * 151)]}, 0.1)
    assert options_errors(200, {"options": [], "option_groups": []}, 0.1)  # one of the two
    assert options_errors(500, None, 0.1)


def test_external_selects_are_checked() -> None:
    assert view_errors(VIEW) == []
    bad = {
        **VIEW,
        "blocks": [
            {
                **VIEW["blocks"][1],
                "element": {
                    "type": "external_select",
                    "action_id": "p",
                    "min_query_length": -1,
                    "placeholder": {"type": "plain_text", "text": "x" * 151},
                },
            }
        ],
    }
    assert len(view_errors(bad)) == 2


def test_the_stand_in_declares_the_shortcuts_of_the_manifest() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert manifest["features"]["shortcuts"] == list(SHORTCUTS)
