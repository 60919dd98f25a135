"""Help and docs come from the verb table, and the committed docs/commands.md matches it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from commands.declare import OneOf, Requires, Verb
from commands.docs import render_markdown
from commands.escapes import escape
from commands.grammar import parse
from commands.validate import Kind, check
from commands.verbs import NAMES, VERBS, help_text

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "commands.md"
FORBIDDEN = ("slack_bolt", "slack_sdk", "azure", "bot", "sandbox")


def test_committed_docs_match_the_generator() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/commands.md is stale: run `python -m commands.docs > docs/commands.md`"
    )


def test_docs_module_prints_the_same_text() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "commands.docs"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out == render_markdown()


@pytest.mark.parametrize("verb", list(VERBS.values()), ids=list(VERBS))
def test_every_example_parses_to_its_verb(verb: Verb) -> None:
    assert verb.examples
    for example in verb.examples:
        assert parse(example).verb == verb.name


@pytest.mark.parametrize("verb", list(VERBS.values()), ids=list(VERBS))
def test_usage_line_names_every_flag_and_argument(verb: Verb) -> None:
    assert verb.usage.startswith(verb.name)
    for flag in verb.flags:
        assert f"--{flag.name}" in verb.usage, flag.name
    for arg in verb.args:
        if arg.kind not in (Kind.USER, Kind.USERS, Kind.CHANNEL, Kind.CHOICE, Kind.SCOPE):
            assert arg.name in verb.usage or arg.kind in (Kind.TARGET, Kind.REQUEST_OR_SERVICE), arg.name


@pytest.mark.parametrize("verb", NAMES)
def test_help_for_each_verb_shows_usage_flags_and_examples(verb: str) -> None:
    text = help_text(verb)
    spec = VERBS[verb]
    assert escape(spec.usage_line) in text
    assert escape(spec.who) in text
    assert "<" not in text and ">" not in text, "Slack would read <...> as a link"
    assert all(f"--{f.name}" in text for f in spec.flags)
    assert "&lt;@" not in text, "examples are shown as typed (@bob), not as Slack sends them"


def test_general_help_lists_every_verb() -> None:
    text = help_text()
    assert all(f"`/natlink {name}`" in text for name in NAMES)
    assert help_text("nope").startswith("No verb `nope`.")
    assert help_text("<@U1>").startswith("No verb `&lt;@U1&gt;`.")
    assert help_text("CREATE") == help_text("create")


def test_only_one_table() -> None:
    assert list(VERBS) == list(NAMES)
    assert {"create", "share", "request", "approve", "reject", "revoke", "delete", "status", "map", "list",
            "pending", "owners", "grant", "ungrant", "subscribe", "unsubscribe", "audit", "help"} <= set(NAMES)  # fmt: skip


def test_commands_imports_nothing_it_must_not() -> None:
    for path in (ROOT / "commands").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


@pytest.mark.parametrize("verb", list(VERBS.values()), ids=list(VERBS))
def test_table_is_consistent(verb: Verb) -> None:
    assert all(not a.many for a in verb.args[:-1]), "only the last argument may take the rest"
    required = [a.required for a in verb.args]
    assert required == sorted(required, reverse=True), "optional arguments come after required ones"
    for spec in (*verb.args, *verb.flags):
        assert bool(spec.choices) == (spec.kind in (Kind.CHOICE, Kind.VERB)), spec.name
    for flag in verb.flags:
        if flag.default is not None and flag.kind not in (Kind.BOOL, Kind.CHOICE):
            assert check(flag.kind, str(flag.default)) == flag.default, flag.name
    names = {f.name for f in verb.flags} | {a.name for a in verb.args}
    for rule in verb.rules:
        if isinstance(rule, OneOf):
            mentioned = set(rule.flags)
        elif isinstance(rule, Requires):
            mentioned = {rule.flag, rule.needs}
        else:
            mentioned = {rule.arg, rule.other}
        assert mentioned <= names, rule
    if verb.action_by:
        arg, table = verb.action_by
        (spec,) = [a for a in verb.args if a.name == arg]
        assert {value for value, _ in table} == set(spec.choices)


def test_docs_have_no_bare_angle_brackets() -> None:
    """Outside code, Markdown would swallow ``<service>`` as an HTML tag."""
    text = re.sub(r"```.*?```", "", render_markdown(), flags=re.DOTALL)
    text = re.sub(r"`[^`]*`|<!--.*?-->", "", text)
    assert "<" not in text
