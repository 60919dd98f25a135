"""``/natlink help``: Slack mrkdwn generated from the verb table, so help cannot drift from the parser.

The text is escaped for Slack: ``<service>`` unescaped would be read as a link, even in code.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import escapes
from .declare import SLASH, Verb
from .values import Value


def show_default(value: Value | None) -> str:
    """A flag default as a user would type it; empty when there is nothing worth saying."""
    if value is None or value is False:
        return ""
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def example(text: str) -> str:
    """An example as a person types it (``@bob``), not as Slack sends it (``<@U02BOB|bob>``)."""
    return f"{SLASH} {escapes.plain(text)}"


def _verb_text(verb: Verb) -> str:
    lines = [f"*`{SLASH} {verb.name}`* — {verb.summary}", f"*Usage:* `{verb.usage_line}`"]
    if verb.args:
        lines.append("*Arguments:*")
        lines += [f"• `{a.label}` — {a.help}" for a in verb.args]
    if verb.flags:
        lines.append("*Flags:*")
        for f in verb.flags:
            default = show_default(f.default)
            lines.append(f"• `{f.label}` — {f.help}" + (f" (default: `{default}`)" if default else ""))
    lines.append("*Examples:*")
    lines += [f"• `{example(e)}`" for e in verb.examples]
    lines.append(f"*Who may run it:* {verb.who}")
    return "\n".join(lines)


def render_help(verbs: Mapping[str, Verb], verb: str | None = None) -> str:
    """Help for one verb, or the list of verbs; an unknown verb gets the list with a note."""
    if verb and verb.lower() in verbs:
        return escapes.escape(_verb_text(verbs[verb.lower()]))
    head = [f"No verb `{verb}`.\n"] if verb else []
    head.append("*natlink* — Azure Private Link, from request to approval to address map, in Slack.")
    rows = [f"• `{SLASH} {v.name}` — {v.summary}" for v in verbs.values()]
    tail = f"Type `{SLASH} help <verb>` for a verb's arguments, flags and examples."
    return escapes.escape("\n".join([*head, *rows, tail]))
