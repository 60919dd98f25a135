"""Any text at all either parses or raises UsageError with a usage line: never a stack trace."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.grammar import Command, UsageError, parse
from commands.validate import InvalidValue, Kind, check
from commands.verbs import NAMES, VERBS

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SAMPLES = [
    "rdp-vmb", "RDP", "VM-Win2019-2", "3389", "80,443", "80,,443", "0", "70000", "-1", "1-2", "*", "2", "9",
    "11111111-1111-1111-1111-111111111111", "11111111-1111-1111-1111-111111111111/rg-team-b",
    "11111111-1111-1111-1111-111111111111/rg.", "x.2f0e9a36-6c5d-4a2b-9d7e-1b2c3d4e5f60.japaneast.azure.privatelinkservice",
    ".azure.privatelinkservice", "7d", "12h", "30m", "99999999999999999999d", "1m", "r-Ab3x9Q_k", "r-", "add", "list",
    "remove", "create", "request", "all", "problems", "daily", "<@U02BOB|bob>", "<@U02BOB>", "<@U1|a>,<@U1>",
    "<#C01TEAMA|team-a>", "<#C01>", "<!here>", "<!subteam^S1|@team>", "<https://x.example|x>", "&amp;", "&lt;@U1&gt;",
    "@alice", "#team-a", "--", "-", "-x", "\u2014vm", "'", '"', "\\", "\u201cquoted\u201d", "it's", "\u0130", "\x00",
    "\n", "\u00b2", "\U0001f600", "=", "--=", "--port=", "x" * 200,
]  # fmt: skip


@st.composite
def commands(draw: st.DrawFn) -> str:
    """Text shaped like a /natlink command: a verb (usually real), its flags and plausible values."""
    verb = draw(st.sampled_from([*NAMES, "crate", "HELP", ""]))
    flags = [f"--{f.name}" for f in VERBS[verb.lower()].flags] if verb.lower() in VERBS else []
    pieces = st.one_of(
        st.sampled_from(SAMPLES),
        st.sampled_from(flags or ["--x"]),
        st.builds(lambda f, v: f"{f}={v}", st.sampled_from(flags or ["--x"]), st.sampled_from(SAMPLES)),
        st.builds(lambda v: f'"{v}"', st.sampled_from(SAMPLES)),
        st.text(max_size=12),
    )
    return " ".join([verb, *draw(st.lists(pieces, max_size=10))])


def _check(text: str) -> None:
    try:
        command = parse(text)
    except UsageError as error:
        assert error.message
        assert error.usage.startswith("/natlink ")
        return
    assert isinstance(command, Command)
    assert command.verb in VERBS


@FUZZ
@given(st.text())
def test_any_text_parses_or_raises_usage_error(text: str) -> None:
    _check(text)


@FUZZ
@given(commands())
def test_command_shaped_text_parses_or_raises_usage_error(text: str) -> None:
    _check(text)


@FUZZ
@given(st.sampled_from([v for v in VERBS.values() if v.args]), st.text(min_size=1))
def test_any_single_argument_parses_or_raises_usage_error(verb: object, value: str) -> None:
    _check(f"{verb.name} -- {value}")  # type: ignore[attr-defined]


@FUZZ
@given(st.sampled_from(list(Kind)), st.text())
def test_every_check_raises_only_invalid_value(kind: Kind, text: str) -> None:
    try:
        check(kind, text, ("all", "problems"))
    except InvalidValue as error:
        assert str(error)
