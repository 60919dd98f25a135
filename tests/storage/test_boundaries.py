"""Boundaries: storage is the only SQL writer, and storage depends on nothing else of natlink.

The SQL scan reads Python tokens rather than raw text, so prose in comments and docstrings about
"inserting into" a list or "updating the set" is not mistaken for SQL. String literals are flagged
only when they have the shape of a statement (``UPDATE x SET y =``, ``INSERT INTO x (`` ...), and
code is flagged when it calls ``.execute(``, ``.executemany(`` or ``.executescript(``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / name for name in ("bot", "commands", "cloud", "sandbox") if (ROOT / name).is_dir()]
STORAGE = ROOT / "storage"

_NAME = r"[\w\"`\[\].{}]+"
SQL_SHAPES = [
    re.compile(rf"\binsert\s+(or\s+\w+\s+)?into\s+{_NAME}\s*(\(|values\b|select\b|default\b)", re.I),
    re.compile(rf"\breplace\s+into\s+{_NAME}\s*(\(|values\b|select\b)", re.I),
    re.compile(rf"\bupdate\s+(or\s+\w+\s+)?{_NAME}\s+set\s+{_NAME}\s*=", re.I),
    re.compile(rf"\bdelete\s+from\s+{_NAME}\s*(\bwhere\b|;|$|\breturning\b)", re.I),
    re.compile(
        rf"\bcreate\s+(temp\w*\s+)?(table|view|trigger)\s+(if\s+not\s+exists\s+)?{_NAME}\s*(\(|as\b|before\b|after\b|instead\b)",
        re.I,
    ),
    re.compile(rf"\bcreate\s+(unique\s+)?index\s+(if\s+not\s+exists\s+)?{_NAME}\s+on\b", re.I),
    re.compile(rf"\b(drop|alter)\s+table\s+(if\s+exists\s+)?{_NAME}", re.I),
]
EXECUTE_METHODS = {"execute", "executemany", "executescript"}
FORBIDDEN_IN_STORAGE = ("bot", "commands", "cloud", "sandbox", "slack_bolt", "slack_sdk", "azure")


def string_literals(tokens: list[tokenize.TokenInfo]) -> list[tuple[int, str]]:
    """Each string literal's first line and text; f-strings (split into parts since Python 3.12)
    are put back together."""
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    literals: list[tuple[int, str]] = []
    open_fstrings: list[tuple[int, list[str]]] = []
    for tok in tokens:
        if fstring_start is not None and tok.type == fstring_start:
            open_fstrings.append((tok.start[0], []))
        elif fstring_end is not None and tok.type == fstring_end and open_fstrings:
            line, parts = open_fstrings.pop()
            literals.append((line, "".join(parts)))
        elif open_fstrings:
            open_fstrings[-1][1].append(tok.string)
        elif tok.type == tokenize.STRING:
            literals.append((tok.start[0], tok.string))
    return literals


def sql_findings(source: str) -> list[str]:
    """Where ``source`` writes SQL: statement-shaped string literals and ``.execute(`` calls."""
    findings: list[str] = []
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for line, text in string_literals(tokens):
        if any(shape.search(text) for shape in SQL_SHAPES):
            findings.append(f"line {line}: SQL statement in a string")
    for i, tok in enumerate(tokens):
        line = tok.start[0]
        if (
            tok.type == tokenize.NAME
            and tok.string in EXECUTE_METHODS
            and i > 0
            and tokens[i - 1].string == "."
            and i + 1 < len(tokens)
            and tokens[i + 1].string == "("
        ):
            findings.append(f"line {line}: .{tok.string}( call")
    return findings


@pytest.mark.parametrize(
    "snippet",
    [
        'cur.execute("SELECT 1")',
        "db.conn.executescript(script)",
        'q = "INSERT INTO services (name) VALUES (?)"',
        "q = 'insert or replace into t values (1)'",
        'q = f"UPDATE {table} SET state = ?"',
        'q = """\n  update requests\n  set state = ?\n"""',
        'q = "DELETE FROM owners WHERE user_id = ?"',
        'q = "delete from audit"',
        'q = "CREATE TABLE IF NOT EXISTS x (a)"',
        'q = "create unique index ix on t (a)"',
        'q = "DROP TABLE t"',
    ],
)
def test_scanner_catches_sql(snippet: str) -> None:
    assert sql_findings(snippet + "\n")


@pytest.mark.parametrize(
    "snippet",
    [
        '"""Insert into the list the new card, then update the set of owners."""',
        "# DELETE FROM owners WHERE ... is storage's job\nx = 1",
        'msg = "Please update your settings."',
        'msg = "Create a table of mappings for the channel"',
        'msg = "We delete from Azure what natlink created"',
        "executor.submit(job)",
        "execute = 1\nexecute(3)",
    ],
)
def test_scanner_ignores_prose_and_other_calls(snippet: str) -> None:
    assert sql_findings(snippet + "\n") == []


def test_nothing_outside_storage_writes_sql() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for directory in SCANNED
        for path in sorted(directory.rglob("*.py"))
        if (found := sql_findings(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "only storage/ may write SQL"


def imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_storage_imports_nothing_of_natlink_slack_or_azure() -> None:
    offenders = {
        path.name: sorted(bad)
        for path in sorted(STORAGE.rglob("*.py"))
        if (bad := imported_roots(path) & set(FORBIDDEN_IN_STORAGE))
    }
    assert offenders == {}


def test_scanner_sees_storage_own_sql() -> None:
    """The scan is not vacuous: the one package allowed to write SQL is flagged by it."""
    assert sql_findings((STORAGE / "migrations.py").read_text(encoding="utf-8"))
    assert sql_findings((STORAGE / "operations.py").read_text(encoding="utf-8"))
