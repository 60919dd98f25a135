"""Issue 9 rule 13: every error code natlink matches on or makes, and every code the ARM stand-in
emits, is either a real ARM code whose source a comment names, or marked as the stand-in's own
(``# the stand-in's own``) or natlink's own (``# natlink's own code``).

The scan reads the source with :mod:`ast`: a code is a PascalCase string given as an error's code
(``ArmError``, ``bad_request``, ``in_use``, ``CloudError``... or ``code=``), compared with a
``.code`` (or a name with ``code`` in it), or listed in a module constant named for codes, hints,
conflicts or retries. Its comment sits on the same line as the string or on the line before; when
the string is inside a call or comparison that spans lines, anywhere from the line above the call's
first line down to the string's own line (a formatter moves a comment to the first argument).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("sandbox/arm", "cloud")
CODE = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+$")
EMITTERS = {"ArmError", "bad_request", "in_use", "refuse_if_used", "_refuse_while_linked", "CloudError"}
CONSTANTS = re.compile(r"HINT|CODE|CONFLICT|RETRY", re.I)
OWN = re.compile(r"the stand-in's own|natlink's own")
SOURCE = re.compile(
    r"[\w.-]+/[\w.-]+#\d+"  # an issue or pull request: owner/repo#123
    r"|#\d{3,}"  # another number of a repository the comment has just named
    r"|\.json\b|\.md\b"  # a REST spec example or a docs page
    r"|learn\.microsoft\.com|azure-docs|azure-rest-api-specs|REST spec|Entra ID error codes"
)


def _codes(tree: ast.AST) -> list[tuple[int, int, str]]:
    """Each code as (first line of its call or comparison, line of the string, code)."""
    found: list[tuple[int, int, str]] = []
    anchor = 0

    def add(node: ast.AST | None) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
            found.append((min(anchor, node.lineno) or node.lineno, node.lineno, node.value))

    for node in ast.walk(tree):
        anchor = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in EMITTERS:
                for arg in node.args[:3]:
                    add(arg)
            for keyword in node.keywords:
                if keyword.arg == "code":
                    add(keyword.value)
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(
                (isinstance(s, ast.Attribute) and s.attr == "code")
                or (isinstance(s, ast.Name) and "code" in s.id.lower())
                for s in sides
            ):
                for side in sides:
                    add(side)
                    if isinstance(side, ast.Set | ast.Tuple | ast.List):
                        for element in side.elts:
                            add(element)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and CONSTANTS.search(t.id) for t in node.targets
        ):
            anchor = 0
            add(node.value)
            for inner in ast.walk(node.value):
                if isinstance(inner, ast.Dict):
                    for key in inner.keys:
                        add(key)
                elif isinstance(inner, ast.Set | ast.Tuple | ast.List):
                    for element in inner.elts:
                        add(element)
    return found


def _comment(line: str) -> str:
    """The comment on a line of code ('' if none); a '#' inside a string does not start one."""
    in_string: str | None = None
    for i, char in enumerate(line):
        if in_string:
            if char == in_string:
                in_string = None
        elif char in "\"'":
            in_string = char
        elif char == "#":
            return line[i:]
    return ""


def unmarked() -> list[str]:
    """Each code with neither a source nor an own-mark, as ``path:line: Code``."""
    missing = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).glob("*.py")):
            lines = path.read_text().splitlines()
            for first, lineno, code in _codes(ast.parse("\n".join(lines))):
                near = " ".join(_comment(lines[i]) for i in range(max(first - 2, 0), lineno))
                if not (OWN.search(near) or SOURCE.search(near)):
                    missing.append(f"{path.relative_to(ROOT)}:{lineno}: {code}")
    return missing


def test_the_scan_finds_codes() -> None:
    """The scan itself works: it finds ARM's codes the stand-in is known to emit and natlink's."""
    found = {
        code
        for folder in SCANNED
        for p in (ROOT / folder).glob("*.py")
        for _, _, code in _codes(ast.parse(p.read_text()))
    }
    assert {"ResourceNotFound", "AnotherOperationInProgress", "OperationTimedOut", "InvalidFault"} <= found


def test_every_error_code_names_its_source_or_is_marked_own() -> None:
    assert unmarked() == []
