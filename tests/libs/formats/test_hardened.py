"""XML Clearway did not write is only ever parsed by the hardened parser: every lxml parse in
libs/ and services/ is given hardened_parser() (clearway.formats.hardened), and no other XML
library is imported. Read from the source, so a new reader cannot slip past it."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest
from clearway.formats.hardened import UnreadableDocumentError, hardened_tree

from tests.libs.formats.test_reading import BILLION_LAUGHS, XXE

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "libs" / "clearway", ROOT / "services"]
PARSING = {"fromstring", "XML", "parse", "iterparse", "XMLParser", "XMLPullParser", "HTML"}
HARDENED = {"hardened_parser", "hardened_xml_parser"}
OTHER_XML_LIBRARIES = ("xml.", "lxml.objectify", "lxml.html", "defusedxml")
# Where a parser is made by hand: the hardened one itself, and the FA(3) schema the simulator
# compiles from the ksef-client package's own files (with the same settings, and a resolver
# that reads only that package's folder).
OWN_PARSERS = {"libs/clearway/formats/hardened.py", "services/govsim/pl/documents.py"}
# expat only for byte offsets: where the Peppol SBD's business document stands in a body the
# hardened parse has already accepted (well-formed, no DTD), so that it is kept byte for byte.
BYTE_OFFSETS_ONLY = {"libs/clearway/governments/peppol/receiving.py: xml.parsers.expat"}


@functools.cache
def _modules() -> tuple[tuple[Path, ast.Module], ...]:
    """Every Python file of libs/clearway and services/, parsed once for every scan."""
    paths = sorted(path for folder in SOURCES for path in folder.rglob("*.py"))
    return tuple((path, ast.parse(path.read_text(), str(path))) for path in paths)


def _hardened_names(tree: ast.AST) -> set[str]:
    """The names bound to a hardened parser anywhere in the module (parser = hardened_parser())."""
    return {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_hardened(node.value, set())
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _is_hardened(node: ast.expr | None, names: set[str]) -> bool:
    if isinstance(node, ast.Call):
        called = node.func
        name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
        return name in HARDENED
    return isinstance(node, ast.Name) and node.id in names


def _unhardened_parses(path: Path, tree: ast.Module, root: Path = ROOT) -> list[str]:
    names = _hardened_names(tree)
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "etree"
            and node.func.attr in PARSING
        ):
            continue
        parser = node.args[1] if len(node.args) > 1 else None
        parser = next((k.value for k in node.keywords if k.arg == "parser"), parser)
        if node.func.attr in {"XMLParser", "XMLPullParser", "HTML"} or not _is_hardened(
            parser, names
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno} etree.{node.func.attr}")
    return found


def test_every_xml_parse_in_the_product_and_the_simulators_is_hardened() -> None:
    modules = [(p, tree) for p, tree in _modules() if str(p.relative_to(ROOT)) not in OWN_PARSERS]
    assert len(modules) > 100  # the scan sees the tree
    assert [parse for p, tree in modules for parse in _unhardened_parses(p, tree)] == []


def test_no_other_xml_library_is_imported() -> None:
    imported = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            imported += [
                f"{path.relative_to(ROOT)}: {module}"
                for module in modules
                if module.startswith(OTHER_XML_LIBRARIES) or module == "xml"
            ]
    assert sorted(set(imported) - BYTE_OFFSETS_ONLY) == []
    assert set(imported) >= BYTE_OFFSETS_ONLY  # the exception is still needed


def test_the_scan_would_see_an_unhardened_parse(tmp_path: Path) -> None:
    risky = tmp_path / "reader.py"
    risky.write_text(
        "from lxml import etree\n"
        "from clearway.formats.hardened import hardened_parser\n"
        "safe = hardened_parser()\n"
        "etree.fromstring(b'<a/>', safe)\n"
        "etree.fromstring(b'<a/>', parser=hardened_parser())\n"
        "etree.fromstring(b'<a/>')\n"
        "etree.fromstring(b'<a/>', etree.XMLParser(resolve_entities=True))\n"
    )
    tree = ast.parse(risky.read_text())
    assert sorted(_unhardened_parses(risky, tree, tmp_path)) == [
        "reader.py:6 etree.fromstring",
        "reader.py:7 etree.XMLParser",
        "reader.py:7 etree.fromstring",
    ]


@pytest.mark.parametrize(
    ("hostile", "reason"),
    [(XXE, "declares a DTD"), (BILLION_LAUGHS, "entity amplification factor exceeded")],
    ids=["xxe", "billion laughs"],
)
def test_the_hardened_tree_refuses_a_dtd_and_expands_nothing(hostile: bytes, reason: str) -> None:
    # Without parse_root's byte scan first, libxml2's own limit stops the expansion.
    with pytest.raises(UnreadableDocumentError, match=reason):
        hardened_tree(hostile)
