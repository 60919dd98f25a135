"""Parse the text after ``/natlink`` into a typed ``Command``, or say exactly what is wrong.

Any string at all either parses or raises ``UsageError``; a slash command must never answer with
a stack trace. The verb table (``verbs.py``) says what each verb takes; the checks for each kind
of value are in ``validate.py``; this module only splits words and applies the table.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, field

from . import escapes
from .declare import SLASH, Arg, Flag, Verb
from .payloads import from_command
from .validate import LIST_KINDS, InvalidValue, Kind, check, show
from .values import Value
from .verbs import NAMES, VERBS, flag_names, usage_line

_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"'})
"""Slack clients on macOS "smarten" typed double quotes; curly apostrophes (U+2019) are left as text."""
_LONG_DASHES = ("\u2014", "\u2013")
"""...and turn ``--`` into an em or en dash, which must still read as a flag."""


class UsageError(ValueError):
    """A command that cannot be run as typed: ``message`` says why, ``usage`` how to write it.

    Both are plain text that may quote the user's input; escape them (``escapes.escape``) before
    posting to Slack.
    """

    def __init__(self, message: str, verb: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.verb = verb
        self.usage = usage_line(verb)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Command:
    """A parsed command: typed positional ``args`` by name, ``flags`` with defaults filled in.

    ``given`` holds the flags actually typed, for use cases that treat a default differently
    from the same value said out loud.
    """

    verb: str
    args: dict[str, Value] = field(default_factory=dict)
    flags: dict[str, Value] = field(default_factory=dict)
    given: frozenset[str] = frozenset()

    @property
    def action(self) -> str:
        """The policy action this command asks for."""
        verb = VERBS[self.verb]
        return verb.action_for(from_command(verb, {**self.args, **self.flags}))


def parse(text: str) -> Command:
    """Parse ``text`` (what Slack sends after ``/natlink``) or raise ``UsageError``."""
    words = _split(text)
    if not words:
        raise UsageError(f"no verb given; try `{SLASH} help`")
    verb = _verb(words[0])
    positionals, raw_flags = _scan(verb, words[1:])
    args = _args(verb, positionals)
    flags = {flag.name: _value(verb, f"--{flag.name}", flag, raw) for flag, raw in raw_flags.items()}
    given = frozenset(flags)
    for rule in verb.rules:
        if problem := rule.problem(given, args):
            raise UsageError(problem, verb.name)
    defaults = {f.name: f.default for f in verb.flags if f.name not in flags and f.default is not None}
    return Command(verb.name, args, {**defaults, **flags}, given)


def _split(text: str) -> list[str]:
    """Shell-like words; Slack's ``<...>`` escapes contain no spaces or quotes, so they stay whole."""
    try:
        words = shlex.split(text.translate(_SMART_QUOTES))
    except ValueError as error:
        first = text.split(maxsplit=1)[0].lower() if text.split() else None
        if "quotation" in str(error):
            message = (
                "unbalanced quotes: a quote is not closed; put text with an apostrophe inside double quotes"
            )
        else:
            message = "the text ends with a lone `\\`; write `\\\\` for a backslash"
        raise UsageError(message, first if first in VERBS else None) from None
    return [("--" + w[1:]) if w.startswith(_LONG_DASHES) else w for w in words]


def _verb(word: str) -> Verb:
    name = word.lower()
    if name in VERBS:
        return VERBS[name]
    close = difflib.get_close_matches(name, NAMES, n=1)
    hint = f"did you mean `{close[0]}`?" if close else f"try `{SLASH} help`"
    if what := escapes.describe(word):
        raise UsageError(f"the verb comes first, not {what}; {hint}")
    if word.startswith("--"):
        raise UsageError(f"the verb comes first, before flags like {show(word)}; {hint}")
    raise UsageError(f"unknown verb {show(word)}; {hint}")


def _scan(verb: Verb, words: list[str]) -> tuple[list[str], dict[Flag, list[str]]]:
    """Separate positional words from flags, collecting each flag's raw values in typed order."""
    positionals: list[str] = []
    flags: dict[Flag, list[str]] = {}
    rest = iter(words)
    for word in rest:
        if word == "--":
            positionals.extend(rest)
            break
        if word.startswith("--"):
            name, has_value, value = word[2:].partition("=")
            flag = _flag(verb, name.lower())
            if flag.kind is Kind.BOOL:
                if has_value:
                    raise UsageError(f"--{flag.name} takes no value", verb.name)
                value = ""
            elif not has_value:
                value = next(rest, "--")
                if value.startswith("--"):
                    raise UsageError(
                        f"--{flag.name} needs a value ({flag.metavar or flag.kind.value})", verb.name
                    )
            if flag in flags and flag.kind not in LIST_KINDS:
                raise UsageError(f"--{flag.name} is given twice; give it once", verb.name)
            flags.setdefault(flag, []).append(value)
        elif word.startswith("-") and len(word) > 1 and word[1].isalpha():
            hint = f"did you mean `--{word[1:]}`?" if verb.flag(word[1:].lower()) else "flags start with `--`"
            raise UsageError(f"unknown flag {show(word)}; {hint}", verb.name)
        else:
            positionals.append(word)
    return positionals, flags


def _flag(verb: Verb, name: str) -> Flag:
    if found := verb.flag(name):
        return found
    names = [f.name for f in verb.flags]
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        hint = f"; did you mean --{close[0]}?"
    elif names:
        hint = f"; it takes {', '.join('--' + n for n in names)}"
    else:
        hint = "; it takes no flags"
    where = " (another verb's flag)" if name in flag_names() else ""
    raise UsageError(f"unknown flag {show('--' + name)} for {verb.name}{where}{hint}", verb.name)


def _args(verb: Verb, words: list[str]) -> dict[str, Value]:
    """Give each positional word to its argument, in order; a last ``many`` argument takes the rest."""
    takes_rest = bool(verb.args) and verb.args[-1].many
    if not takes_rest and len(words) > len(verb.args):
        raise UsageError(_too_many(verb, words[len(verb.args)]), verb.name)
    raw = {
        spec.name: words[index:] if spec.many else [words[index]]
        for index, spec in enumerate(verb.args)
        if index < len(words)
    }
    for spec in verb.args:
        if spec.required and spec.name not in raw:
            raise UsageError(f"missing <{spec.name}>: {spec.help}", verb.name)
    return {
        spec.name: _value(verb, f"<{spec.name}>", spec, raw[spec.name])
        for spec in verb.args
        if spec.name in raw
    }


def _too_many(verb: Verb, extra: str) -> str:
    """Name the first unexpected word, and the likely slip: an unquoted phrase or a space-separated list."""
    takes = " ".join(a.label for a in verb.args) or "no arguments"
    lists = [f.name for f in verb.flags if f.kind is Kind.USERS]
    if escapes.user(extra) and lists:
        hint = f" (join users with commas: --{lists[0]} @a,@b)"
    else:
        hint = " (put text with spaces in quotes)" if verb.args else ""
    return f"too many arguments: {escapes.describe(extra) or show(extra)} is not expected; {verb.name} takes {takes}{hint}"


def _value(verb: Verb, label: str, spec: Arg | Flag, words: list[str]) -> Value:
    """Check the raw words of one argument or flag by kind; lists join with commas, text with spaces."""
    if spec.kind is Kind.BOOL:
        return True
    joined = ",".join(words) if spec.kind in LIST_KINDS else " ".join(words)
    try:
        return check(spec.kind, joined, spec.choices)
    except InvalidValue as error:
        raise UsageError(f"{label}: {error}", verb.name) from None
