"""What the simulated ANAF reads from an uploaded document, and the checks it decides on.

Two stages, as on the real system:
- at upload, the body must parse (hardened: no DTD, no entities, no network) and its root must be
  the one the `standard` parameter announces; failures come back at once in the upload answer,
  worded like the Java (Xerces) parser ANAF runs;
- at decision time, a handful of the CIUS-RO and EN 16931 rules that ANAF's validation most often
  rejects on, plus the seller identity. Each failing rule becomes one error message of the
  report; an empty list means the invoice is accepted.

Message wording: schematron findings follow the shape seen in real ANAF error reports
("[RULE-ID]-Romanian text, then '#' and the English text"); checks outside the schematron follow
"E: validari globale / eroare regula: …" as seen in public client test fixtures. The texts
themselves are the simulator's own Romanian, not ANAF's verbatim wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import cast

from lxml import etree

from services.govsim.untrusted_xml import hardened_xml_parser

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
CII_RAM_NS = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
RASP_NS = "mfp:anaf:dgti:spv:reqMesaj:v1"
NAMESPACES = {"cac": CAC_NS, "cbc": CBC_NS, "rsm": CII_NS, "ram": CII_RAM_NS}

CIUS_RO_CUSTOMIZATION_ID = (
    "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"
)

# ISO 3166-2:RO: the 41 counties and Bucharest, the list CIUS-RO codes BT-39/54/68/79 with.
RO_COUNTY_CODES = frozenset(
    f"RO-{code}"
    for code in (
        *("AB", "AG", "AR", "B", "BC", "BH", "BN", "BR", "BT", "BV", "BZ", "CJ", "CL", "CS"),
        *("CT", "CV", "DB", "DJ", "GJ", "GL", "GR", "HD", "HR", "IF", "IL", "IS", "MH", "MM"),
        *("MS", "NT", "OT", "PH", "SB", "SJ", "SM", "SV", "TL", "TM", "TR", "VL", "VN", "VS"),
    )
)
BUCHAREST_SECTORS = frozenset(f"SECTOR{number}" for number in range(1, 7))


class UploadStandard(StrEnum):
    UBL = "UBL"
    CN = "CN"
    CII = "CII"
    RASP = "RASP"


EXPECTED_ROOT = {
    UploadStandard.UBL: etree.QName(UBL_INVOICE_NS, "Invoice"),
    UploadStandard.CN: etree.QName(UBL_CREDIT_NOTE_NS, "CreditNote"),
    UploadStandard.CII: etree.QName(CII_NS, "CrossIndustryInvoice"),
    UploadStandard.RASP: etree.QName(RASP_NS, "header"),
}


class RejectedXmlError(Exception):
    """The upload is refused outright; `message` is the text of its <Errors> element."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- upload stage ---------------------------------------------------------------------------


def parse_hardened(body: bytes) -> etree._Element:
    """Parse untrusted XML: no DTD, no entity expansion, no network, no huge trees.

    A DOCTYPE is refused before parsing (as a Java parser with disallow-doctype-decl does), and
    again after parsing in case an encoding hid it from the byte scan.
    """
    doctype_at = body.find(b"<!DOCTYPE")
    if doctype_at >= 0:
        line, column = _line_and_column(body, doctype_at)
        raise RejectedXmlError(_sax_error(line, column, _DOCTYPE_DISALLOWED))
    try:
        root = etree.fromstring(body, hardened_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise RejectedXmlError(_sax_error(exc.lineno or 1, (exc.offset or 0) + 1, exc.msg)) from exc
    # lxml keeps any DOCTYPE, even one naming only an external DTD, as internalDTD.
    if root.getroottree().docinfo.internalDTD is not None:
        raise RejectedXmlError(_sax_error(1, 1, _DOCTYPE_DISALLOWED))
    return root


def check_root(root: etree._Element, standard: UploadStandard) -> None:
    """The schema ANAF validates against has one root; anything else is an unknown element."""
    if etree.QName(root) != EXPECTED_ROOT[standard]:
        local_name = etree.QName(root).localname
        raise RejectedXmlError(
            _sax_error(
                # The stubs type sourceline as `...`; lxml gives an int, or None if unknown.
                cast("int | None", root.sourceline) or 1,
                1,
                f"cvc-elt.1.a: Cannot find the declaration of element '{local_name}'.",
            )
        )


# ANAF's reference shows RASP only by its example (`<header xmlns="mfp:anaf:dgti:spv:reqMesaj:v1"
# index_incarcare="191823" message="…"/>`): the simulator takes both attributes as required and
# the index as a whole number, and words what is missing as Xerces words a schema error (as ANAF
# words the invoices'). Its schema's other limits (the message's length) are not known.
RASP_ATTRIBUTES = ("index_incarcare", "message")


@dataclass(frozen=True)
class BuyerMessage:
    """What a RASP upload says: the invoice it answers (its upload index) and the text."""

    invoice_index: int
    message: str


def read_buyer_message(root: etree._Element) -> BuyerMessage:
    """A RASP header's attributes (its root already checked); RejectedXmlError when one is
    missing, empty, or the index is not a number."""
    line = cast("int | None", root.sourceline) or 1
    for name in RASP_ATTRIBUTES:
        if not (root.get(name) or "").strip():
            raise RejectedXmlError(
                _sax_error(
                    line,
                    1,
                    f"cvc-complex-type.4: Attribute '{name}' must appear on element 'header'.",
                )
            )
    index = str(root.get("index_incarcare")).strip()
    if not index.isdigit():
        raise RejectedXmlError(
            _sax_error(
                line, 1, f"cvc-datatype-valid.1.2.1: '{index}' is not a valid value for 'integer'."
            )
        )
    return BuyerMessage(invoice_index=int(index), message=str(root.get("message")))


_DOCTYPE_DISALLOWED = (
    'DOCTYPE is disallowed when the feature "http://apache.org/xml/features/'
    'disallow-doctype-decl" set to true.'
)


def _sax_error(line: int, column: int, detail: str) -> str:
    return (
        "Fisierul transmis nu este valid. org.xml.sax.SAXParseException; "
        f"lineNumber: {line}; columnNumber: {column}; {detail} "
    )


def _line_and_column(body: bytes, offset: int) -> tuple[int, int]:
    line_start = body.rfind(b"\n", 0, offset) + 1
    return body.count(b"\n", 0, offset) + 1, offset - line_start + 1


# --- who the document is about --------------------------------------------------------------


@dataclass(frozen=True)
class DocumentParties:
    """Seller and buyer CIFs as ANAF keys them: digits only, no "RO" prefix; None if absent."""

    seller_cif: str | None
    buyer_cif: str | None


def read_parties(root: etree._Element, standard: UploadStandard) -> DocumentParties:
    if standard is UploadStandard.CII:
        trade_agreement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
        return DocumentParties(
            seller_cif=_first_cif(
                root, f"{trade_agreement}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID"
            ),
            buyer_cif=_first_cif(
                root, f"{trade_agreement}/ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID"
            ),
        )
    if standard is UploadStandard.RASP:
        return DocumentParties(seller_cif=None, buyer_cif=None)
    return DocumentParties(
        # BT-31 (VAT identifier) or BT-32 (tax registration identifier): both are PartyTaxScheme.
        seller_cif=_first_cif(
            root, "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"
        ),
        buyer_cif=_first_cif(
            root, "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"
        )
        or _first_cif(
            root, "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"
        ),
    )


def normalize_cif(value: str) -> str:
    compact = re.sub(r"\s+", "", value).upper()
    return compact.removeprefix("RO")


def _first_cif(root: etree._Element, path: str) -> str | None:
    for element in root.iterfind(path, NAMESPACES):
        cif = normalize_cif(element.text or "")
        if cif.isdigit():
            return cif
    return None


# --- decision stage -------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadContext:
    """What the upload request said about the document, which the checks compare against."""

    cif: str
    self_billed: bool  # autofactura=DA: the buyer issues the invoice for the seller
    by_enforcement_body: bool  # executare=DA: an enforcement body files for the debtor


def decide(root: etree._Element, standard: UploadStandard, context: UploadContext) -> list[str]:
    """Every error ANAF's processing would report for this document; empty means accepted."""
    if standard is UploadStandard.RASP:
        return []
    findings = _customization_findings(root, standard)
    findings += _identity_findings(read_parties(root, standard), context)
    if standard is not UploadStandard.CII:  # the simulator checks CII no further
        findings += _address_findings(root)
        findings += _line_findings(root, standard)
    return findings


def _schematron_message(rule_id: str, romanian: str, english: str) -> str:
    return f"[{rule_id}]-{romanian}\n\t\t#{english}"


def _global_message(text: str) -> str:
    return f"E: validari globale\n eroare regula: {text}"


def _customization_findings(root: etree._Element, standard: UploadStandard) -> list[str]:
    path = (
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
        if standard is UploadStandard.CII
        else "cbc:CustomizationID"
    )
    if (root.findtext(path, default="", namespaces=NAMESPACES) or "").strip() == (
        CIUS_RO_CUSTOMIZATION_ID
    ):
        return []
    return [
        _schematron_message(
            "BR-RO-001",
            "Identificatorul specificației (BT-24) trebuie să aibă valoarea stabilită prin "
            f"RO_CIUS ({CIUS_RO_CUSTOMIZATION_ID}).",
            "The specification identifier (BT-24) must have the value set by RO_CIUS "
            f"({CIUS_RO_CUSTOMIZATION_ID}).",
        )
    ]


def _identity_findings(parties: DocumentParties, context: UploadContext) -> list[str]:
    if context.by_enforcement_body:
        return []  # the enforcement body files under its own CIF for someone else's invoice
    issuer_cif = parties.buyer_cif if context.self_billed else parties.seller_cif
    if issuer_cif is None:
        return [
            _schematron_message(
                "BR-RO-065",
                "Identificatorul de TVA al vânzătorului (BT-31) sau identificatorul de "
                "înregistrare fiscală al vânzătorului (BT-32) trebuie să fie înscris.",
                "The Seller VAT identifier (BT-31) or the Seller tax registration identifier "
                "(BT-32) shall be present.",
            )
        ]
    if issuer_cif != context.cif:
        role = "cumparatorului (autofactura)" if context.self_billed else "vanzatorului"
        return [
            _global_message(
                f"CIF-ul {role} din factura ({issuer_cif}) nu corespunde cu CIF-ul pentru care "
                f"s-a facut incarcarea ({context.cif})"
            )
        ]
    return []


@dataclass(frozen=True)
class _AddressRole:
    path: str
    sector_rule: str
    county_rule: str
    party_ro: str  # genitive, as in "Localitatea vânzătorului"
    party_en: str
    city_term: str
    subdivision_term: str
    country_term: str


_ADDRESS_ROLES = (
    _AddressRole(
        "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress",
        "BR-RO-100",
        "BR-RO-110",
        "vânzătorului",
        "Seller",
        "BT-37",
        "BT-39",
        "BT-40",
    ),
    _AddressRole(
        "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress",
        "BR-RO-101",
        "BR-RO-111",
        "cumpărătorului",
        "Buyer",
        "BT-52",
        "BT-54",
        "BT-55",
    ),
    _AddressRole(
        "cac:TaxRepresentativeParty/cac:PostalAddress",
        "BR-RO-160",
        "BR-RO-170",
        "reprezentantului fiscal",
        "Tax representative",
        "BT-66",
        "BT-68",
        "BT-69",
    ),
    _AddressRole(
        "cac:Delivery/cac:DeliveryLocation/cac:Address",
        "BR-RO-202",
        "BR-RO-212",
        "de livrare",
        "Deliver to",
        "BT-77",
        "BT-79",
        "BT-80",
    ),
)


def _address_findings(root: etree._Element) -> list[str]:
    findings: list[str] = []
    for role in _ADDRESS_ROLES:
        for address in root.iterfind(role.path, NAMESPACES):
            findings += _romanian_address_findings(address, role)
    return findings


def _romanian_address_findings(address: etree._Element, role: _AddressRole) -> list[str]:
    country = _normalized(address.findtext("cac:Country/cbc:IdentificationCode", "", NAMESPACES))
    if country.upper() != "RO":
        return []
    # The schematron compares the county exactly but upper-cases the city before the lookup.
    county = _normalized(address.findtext("cbc:CountrySubentity", "", NAMESPACES))
    city = _normalized(address.findtext("cbc:CityName", "", NAMESPACES)).upper()
    if county not in RO_COUNTY_CODES:
        return [
            _schematron_message(
                role.county_rule,
                f"Dacă Codul țării {role.party_ro} ({role.country_term}) este „RO”, Subdiviziunea "
                f"țării {role.party_ro} ({role.subdivision_term}) trebuie să fie un cod din lista "
                "ISO 3166-2:RO (de exemplu „RO-CJ”).",
                f"If the {role.party_en} country code ({role.country_term}) is 'RO', the "
                f"{role.party_en} country subdivision ({role.subdivision_term}) must be coded "
                "with the ISO 3166-2:RO code list (for example 'RO-CJ').",
            )
        ]
    if county == "RO-B" and city not in BUCHAREST_SECTORS:
        return [
            _schematron_message(
                role.sector_rule,
                f"Dacă Codul țării {role.party_ro} ({role.country_term}) este „RO” și "
                f"Subdiviziunea țării {role.party_ro} ({role.subdivision_term}) este „RO-B” "
                f"(Municipiul București), Localitatea {role.party_ro} ({role.city_term}) trebuie "
                "să fie una dintre valorile SECTOR1 … SECTOR6.",
                f"If the {role.party_en} country code ({role.country_term}) is 'RO' and the "
                f"{role.party_en} country subdivision ({role.subdivision_term}) is 'RO-B' "
                f"(Bucharest), the {role.party_en} city ({role.city_term}) must be one of "
                "SECTOR1 ... SECTOR6.",
            )
        ]
    return []


def _line_findings(root: etree._Element, standard: UploadStandard) -> list[str]:
    line_element = "cac:CreditNoteLine" if standard is UploadStandard.CN else "cac:InvoiceLine"
    lines = root.findall(line_element, NAMESPACES)
    if not lines:
        return [
            _schematron_message(
                "BR-16",
                "Documentul trebuie să aibă cel puțin o linie (BG-25).",
                "The document must have at least one line (BG-25).",
            )
        ]
    declared_total = _amount(
        root.find("cac:LegalMonetaryTotal/cbc:LineExtensionAmount", NAMESPACES)
    )
    if declared_total is None:
        return [
            _schematron_message(
                "BR-12",
                "Suma valorilor nete ale liniilor (BT-106) trebuie să fie înscrisă.",
                "The sum of line net amounts (BT-106) must be present.",
            )
        ]
    line_amounts = [_amount(line.find("cbc:LineExtensionAmount", NAMESPACES)) for line in lines]
    if any(amount is None for amount in line_amounts) or declared_total != sum(
        amount for amount in line_amounts if amount is not None
    ):
        return [
            _schematron_message(
                "BR-CO-10",
                "Suma valorilor nete ale liniilor (BT-106) trebuie să fie egală cu totalul "
                "valorilor nete ale liniilor facturii (BT-131).",
                "The sum of line net amounts (BT-106) must equal the total of the invoice line "
                "net amounts (BT-131).",
            )
        ]
    return []


def _amount(element: etree._Element | None) -> Decimal | None:
    if element is None or element.text is None:
        return None
    try:
        amount = Decimal(element.text.strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _normalized(text: str | None) -> str:
    return " ".join((text or "").split())
