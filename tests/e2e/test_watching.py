"""Issue 14, section 3: an operator watches natlink through GET /metrics and JSON log lines."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

from sandbox.slack.driver import Driver
from tests.e2e.harness import create_rdp_vmb, start_bot


def _metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return response.read().decode()


def _value(text: str, name: str, **labels: str) -> float:
    """One sample of the exposition text, by name and labels (in any order)."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in:\n{text}")


def test_metrics_show_acks_arm_slack_operations_and_the_outbox(bot, driver, slack) -> None:
    create_rdp_vmb(driver, slack)
    text = _metrics(bot.url)
    assert _value(text, "natlink_ack_seconds_count", verb="create") == 1
    assert _value(text, "natlink_ack_seconds_count", verb="grant") == 2
    assert _value(text, "natlink_arm_responses_total", status="200") > 5
    assert _value(text, "natlink_operations", state="succeeded", verb="create") == 1
    assert _value(text, "natlink_worker_queue_depth") == 0
    assert (
        _value(text, "natlink_events", state="queued"),
        _value(text, "natlink_events", state="posted"),
    ) == (0, 0)
    assert "# TYPE natlink_sweep_seconds histogram" in text


def test_a_refused_slack_call_is_counted_by_method(bot, driver, slack) -> None:
    slack.control("POST", "faults", {"method": "chat.postMessage", "error": "not_in_channel", "count": 3})
    create_rdp_vmb(driver, slack)
    text = _metrics(bot.url)
    assert (
        _value(text, "natlink_slack_api_errors_total", method="chat.postMessage", error="not_in_channel") >= 1
    )


def test_json_log_lines_carry_the_operation_and_the_user(sandbox, slack, tmp_path: Path) -> None:
    running = start_bot(sandbox, slack, tmp_path, NATLINK_LOG_FORMAT="json", NATLINK_LOG_LEVEL="DEBUG")
    try:
        driver = Driver(f"{running.url}/slack/events", slack.config)
        create_rdp_vmb(driver, slack)
    finally:
        assert running.stop() == 0
    lines = [json.loads(line) for line in running.log.read_text().splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    about_work = [line for line in lines if "operation" in line]
    assert about_work, "some line was logged while an operation ran"
    assert all(line["user"] == slack.user("alice") for line in about_work if line["operation"] == "1")
