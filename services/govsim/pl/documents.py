"""What the simulated KSeF checks in an invoice it has decrypted, and the UPO it answers with.

The checks follow ksef-docs (faktury/weryfikacja-faktury.md): XML in UTF-8 valid against the
FA(3) schema, at most 1 MiB without attachments, attachments only in batch sessions, the issue
date (P_1) not after the day KSeF receives the invoice, the right to issue for the seller, and
uniqueness of (Podmiot1 NIP, RodzajFaktury, P_2). Which status code each check ends in is the
simulator's reading of the documented table (410, 415, 430, 450), not a quote.

The FA(3) XSD comes from the `ksef-client` package (ksef_client/documents/fa3/schemas). Its
imports name crd.gov.pl URLs; a resolver maps every schema file to the local copy by its file
name and refuses anything else, so compiling it never touches the network.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

from lxml import etree

from services.govsim.untrusted_xml import UntrustedXmlError, child_text, parse_untrusted_xml

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

FA3_NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
FA3_SCHEMA_FILE = "schemat_FA(3)_v1-0E.xsd"
FA3_FORM_CODE = {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
MAX_INVOICE_BYTES = 1024 * 1024  # 1 MiB without attachments
MAX_REPORTED_SCHEMA_ERRORS = 10
NAMESPACES = {"fa": FA3_NS}

UPO_NS = "http://upo.schematy.mf.gov.pl/KSeF/v4-2"  # as in the published v4-3 examples
XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
RECEIVING_PARTY = "Ministerstwo Finansów - symulator Clearway (govsim)"

# The documented invoice status table.
INVOICE_STATUS_DESCRIPTIONS = {
    100: "Faktura przyjęta do dalszego przetwarzania",
    150: "Trwa przetwarzanie",
    200: "Sukces",
    405: "Przetwarzanie anulowane z powodu błędu sesji",
    410: "Nieprawidłowy zakres uprawnień",
    415: "Brak możliwości wysyłania faktury z załącznikiem",
    430: "Błąd weryfikacji pliku faktury",
    435: "Błąd odszyfrowania pliku",
    440: "Duplikat faktury",
    450: "Błąd weryfikacji semantyki dokumentu faktury",
    500: "Nieznany błąd (500)",
    550: "Operacja została anulowana przez system",
}


class _SchemaFileResolver(etree.Resolver):
    """Hands out the packaged FA(3) schema files by file name; nothing else resolves."""

    def __init__(self, directory: resources.abc.Traversable) -> None:
        super().__init__()
        self._directory = directory

    # lxml calls resolve(url, public_id, context); lxml-stubs leave out the context.
    def resolve(self, system_url: str, _public_id: str, context: object) -> Any:  # type: ignore[override]
        name = system_url.replace("\\", "/").rsplit("/", 1)[-1]
        candidate = self._directory / name
        if not name.endswith(".xsd") or not candidate.is_file():
            return None
        return self.resolve_string(candidate.read_bytes(), context, base_url=name)


@functools.cache
def fa3_schema() -> etree.XMLSchema:
    """The FA(3) schema, compiled once per process from the ksef-client package's copy."""
    directory = resources.files("ksef_client.documents.fa3") / "schemas"
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    parser.resolvers.add(_SchemaFileResolver(directory))
    document = etree.fromstring((directory / FA3_SCHEMA_FILE).read_bytes(), parser)
    return etree.XMLSchema(document)


@dataclass(frozen=True)
class InvoiceFacts:
    """What KSeF keys an accepted invoice by, read from the FA(3) document."""

    seller_nip: str
    invoice_number: str  # P_2
    invoice_kind: str  # RodzajFaktury
    issue_date: str  # P_1


@dataclass(frozen=True)
class Verdict:
    code: int
    details: tuple[str, ...] = ()
    facts: InvoiceFacts | None = None


def verify_invoice(plaintext: bytes, *, context_nip: str, received_on: date) -> Verdict:
    """Every check short of uniqueness, which needs the system's memory; 200 if all pass."""
    if len(plaintext) > MAX_INVOICE_BYTES:
        return Verdict(430, (f"Rozmiar faktury przekracza {MAX_INVOICE_BYTES} bajtów.",))
    try:
        root = parse_untrusted_xml(plaintext)
    except UntrustedXmlError as error:
        return Verdict(430, (f"Plik faktury nie jest poprawnym dokumentem XML: {error.message}",))
    if root.find("fa:Zalacznik", NAMESPACES) is not None:
        return Verdict(415, ("Faktury z załącznikiem można przesyłać wyłącznie w sesji wsadowej.",))
    schema = fa3_schema()
    if not schema.validate(root):
        entries = islice(cast("Iterable[Any]", schema.error_log), MAX_REPORTED_SCHEMA_ERRORS)
        return Verdict(450, tuple(f"Linia {entry.line}: {entry.message}" for entry in entries))
    facts = InvoiceFacts(
        seller_nip=child_text(root, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP", NAMESPACES),
        invoice_number=child_text(root, "fa:Fa/fa:P_2", NAMESPACES),
        invoice_kind=child_text(root, "fa:Fa/fa:RodzajFaktury", NAMESPACES),
        issue_date=child_text(root, "fa:Fa/fa:P_1", NAMESPACES),
    )
    return _business_verdict(facts, context_nip, received_on)


def _business_verdict(facts: InvoiceFacts, context_nip: str, received_on: date) -> Verdict:
    if facts.seller_nip != context_nip:
        return Verdict(
            410,
            (
                (
                    f"Brak uprawnień do wystawienia faktury w imieniu podmiotu o NIP "
                    f"{facts.seller_nip} w kontekście {context_nip}."
                ),
            ),
        )
    if date.fromisoformat(facts.issue_date) > received_on:
        return Verdict(
            450,
            (
                (
                    f"Data wystawienia faktury (P_1) {facts.issue_date} jest późniejsza niż data "
                    f"przyjęcia dokumentu do systemu KSeF {received_on.isoformat()}."
                ),
            ),
        )
    return Verdict(200, facts=facts)


# --- UPO -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpoHeader:
    """The session and the authentication a UPO speaks for."""

    session_reference: str
    context_nip: str
    authentication_digest: str


@dataclass(frozen=True)
class UpoEntry:
    """One accepted invoice as the UPO lists it."""

    seller_nip: str
    ksef_number: str
    invoice_number: str
    issue_date: str
    sent_at: datetime
    numbered_at: datetime
    invoice_hash: str


def upo_document(
    header: UpoHeader, entries: Sequence[UpoEntry], *, seal_key: bytes, signed_at: datetime
) -> bytes:
    """A UPO shaped as KSeF's (upo v4-x elements) with an enveloped, XAdES-shaped signature.

    The signature's digest of the document is real (SHA-256 over its canonical form without the
    signature); its SignatureValue is an HMAC-SHA256 under a per-instance key, declared as such,
    because the simulator holds no qualified seal of the Ministry.
    """
    root = etree.Element(f"{{{UPO_NS}}}Potwierdzenie", nsmap={None: UPO_NS})  # type: ignore[dict-item]
    _add(root, "NazwaPodmiotuPrzyjmujacego", RECEIVING_PARTY)
    _add(root, "NumerReferencyjnySesji", header.session_reference)
    authentication = _add(root, "Uwierzytelnienie")
    _add(_add(authentication, "IdKontekstu"), "Nip", header.context_nip)
    _add(authentication, "SkrotDokumentuUwierzytelniajacego", header.authentication_digest)
    _add(root, "NazwaStrukturyLogicznej", "Schemat_FA(3)_v1-0E.xsd")
    _add(root, "KodFormularza", FA3_FORM_CODE["systemCode"])
    for entry in entries:
        document = _add(root, "Dokument")
        _add(document, "NipSprzedawcy", entry.seller_nip)
        _add(document, "NumerKSeFDokumentu", entry.ksef_number)
        _add(document, "NumerFaktury", entry.invoice_number)
        _add(document, "DataWystawieniaFaktury", entry.issue_date)
        _add(document, "DataPrzeslaniaDokumentu", entry.sent_at.isoformat(timespec="milliseconds"))
        _add(
            document, "DataNadaniaNumeruKSeF", entry.numbered_at.isoformat(timespec="milliseconds")
        )
        _add(document, "SkrotDokumentu", entry.invoice_hash)
        _add(document, "TrybWysylki", "Online")
    root.append(_enveloped_signature(root, seal_key, signed_at))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _enveloped_signature(
    document: etree._Element, key: bytes, signed_at: datetime
) -> etree._Element:
    ds = f"{{{XMLDSIG_NS}}}"
    signature = etree.Element(f"{ds}Signature", nsmap={"ds": XMLDSIG_NS})
    signature.set("Id", "Signature-govsim")
    signed_info = etree.SubElement(signature, f"{ds}SignedInfo")
    _algorithm(signed_info, "CanonicalizationMethod", "http://www.w3.org/2001/10/xml-exc-c14n#")
    _algorithm(signed_info, "SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256")
    reference = etree.SubElement(signed_info, f"{ds}Reference")
    reference.set("URI", "")
    _algorithm(
        etree.SubElement(reference, f"{ds}Transforms"),
        "Transform",
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    )
    _algorithm(reference, "DigestMethod", "http://www.w3.org/2001/04/xmlenc#sha256")
    canonical = etree.tostring(document, method="c14n", exclusive=True)
    etree.SubElement(reference, f"{ds}DigestValue").text = _b64(hashlib.sha256(canonical).digest())
    signed_info_c14n = etree.tostring(signed_info, method="c14n", exclusive=True)
    etree.SubElement(signature, f"{ds}SignatureValue").text = _b64(
        hmac.new(key, signed_info_c14n, hashlib.sha256).digest()
    )
    etree.SubElement(
        etree.SubElement(signature, f"{ds}KeyInfo"), f"{ds}KeyName"
    ).text = "govsim-ksef-sandbox-seal"
    xades = f"{{{XADES_NS}}}"
    qualifying = etree.SubElement(
        etree.SubElement(signature, f"{ds}Object"),
        f"{xades}QualifyingProperties",
        nsmap={"xades": XADES_NS},
    )
    qualifying.set("Target", "#Signature-govsim")
    signed_properties = etree.SubElement(qualifying, f"{xades}SignedProperties")
    etree.SubElement(
        etree.SubElement(signed_properties, f"{xades}SignedSignatureProperties"),
        f"{xades}SigningTime",
    ).text = signed_at.isoformat(timespec="seconds")
    return signature


def _algorithm(parent: etree._Element, tag: str, uri: str) -> None:
    """An XML-DSig method element (`ds:<tag> Algorithm="<uri>"`) under `parent`."""
    etree.SubElement(parent, f"{{{XMLDSIG_NS}}}{tag}").set("Algorithm", uri)


def _add(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{UPO_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
