"""Every table is written by exactly one module of clearway.store: no INSERT, UPDATE or DELETE
on a table appears in libs/ or services/ anywhere but in its owner (clearway.store.OWNERS)."""

from __future__ import annotations

import ast
import fnmatch
import re
from collections import defaultdict
from pathlib import Path

from clearway.store import OWNERS

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("libs", "services")
MIGRATIONS = ROOT / "libs" / "clearway" / "db" / "migrations"

# Writers allowed besides a table's owner while a move is under way: none left.
IN_TRANSITION: dict[str, tuple[str, ...]] = {}

_WRITE = re.compile(
    r"\bINSERT\s+INTO\s+(?P<insert>\w+)"
    r"|\bUPDATE\s+(?P<update>\w+)(?:\s+(?:AS\s+)?(?!SET\b)\w+)?\s+SET\b"
    r"|\bDELETE\s+FROM\s+(?P<delete>\w+)"
    r"|\bTRUNCATE\s+(?:TABLE\s+)?(?P<truncate>\w+)"
)


def _module_of(path: Path) -> str:
    relative = path.relative_to(ROOT)
    parts = list(relative.with_suffix("").parts)
    if parts[0] == "libs":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "text": a table name put into SQL by an f-string is read through."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _sql_texts(path: Path) -> list[str]:
    """Every string literal of the file but docstrings, f-strings with their names resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = _constants(tree)
    skip = _docstrings(tree)
    texts: list[str] = []
    inside_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            pieces = []
            for value in node.values:
                inside_fstrings.add(id(value))
                if isinstance(value, ast.Constant):
                    pieces.append(str(value.value))
                elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                    pieces.append(names.get(value.value.id, "{" + value.value.id + "}"))
                else:
                    pieces.append("{}")
            texts.append("".join(pieces))
    texts.extend(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and id(node) not in inside_fstrings
    )
    return texts


def written_tables() -> dict[str, set[str]]:
    """table → the modules whose source writes it."""
    writers: dict[str, set[str]] = defaultdict(set)
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for text in _sql_texts(path):
                for match in _WRITE.finditer(text):
                    table = next(group for group in match.groups() if group)
                    writers[table].add(str(path.relative_to(ROOT)))
    return writers


def _module_path(module: str) -> str:
    path = ROOT / "libs" / Path(*module.split("."))
    return str(
        (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).relative_to(ROOT)
    )


def test_every_table_is_written_only_by_its_owner() -> None:
    strays: dict[str, list[str]] = {}
    for table, paths in written_tables().items():
        owner = OWNERS.get(table)
        if owner is None:
            strays[table] = sorted(paths)  # a table no module owns
            continue
        allowed = IN_TRANSITION.get(owner, ())
        outside = [
            path
            for path in paths
            if path != _module_path(owner)
            and not any(fnmatch.fnmatch(path, pattern) for pattern in allowed)
        ]
        if outside:
            strays[table] = sorted(outside)
    assert strays == {}


def test_the_scan_sees_each_owners_statements() -> None:
    """The scan finds the writes where they are: each owner that exists writes its tables."""
    writers = written_tables()
    for table, owner in OWNERS.items():
        if owner in IN_TRANSITION and not (ROOT / _module_path(owner)).exists():
            continue
        assert _module_path(owner) in writers[table], table


def test_every_table_of_the_schema_has_an_owner() -> None:
    created = {
        match.group(1)
        for migration in MIGRATIONS.glob("*.sql")
        for match in re.finditer(r"CREATE TABLE (\w+)", migration.read_text(encoding="utf-8"))
    }
    assert created - OWNERS.keys() == set()
    assert OWNERS.keys() - created == {"schema_migrations"}  # the runner's, not a migration's
