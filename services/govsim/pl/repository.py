"""The simulated KSeF's repository of accepted invoices, as their buyers and sellers read it back
(ksef-docs pobieranie-faktur, the TE OpenAPI):

    POST /invoices/query/metadata   the InvoiceMetadata of the invoices matching the filters
                                    (subjectType: Subject1 seller, Subject2 buyer; dateRange of
                                    Issue, Invoicing or PermanentStorage, at most 3 months),
                                    sorted by that date (sortOrder Asc|Desc), a page at a time
                                    (pageOffset from 0, pageSize 10-250), at most 10 000 records
                                    per filter set (then isTruncated: narrow the range and start
                                    again at page 0), with permanentStorageHwmDate
    GET  /invoices/ksef/{ksefNumber} the invoice's XML as its seller sent it

An invoice is in the repository once KSeF stored it for good (its permanentStorageDate): an
invoice accepted in an online session a second after its KSeF number, a purchase invoice
delivered by the sandbox control at once. The simulator stores as it accepts, so its high water
mark (below which no invoice is ever added) is now, or the range's end if earlier.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from services.govsim.pl.auth import KsefError, invalid_input
from services.govsim.pl.documents import FA3_FORM_CODE, NAMESPACES
from services.govsim.untrusted_xml import child_text

WARSAW = ZoneInfo("Europe/Warsaw")

QUERY_RECORD_LIMIT = 10_000  # "Limit techniczny: ≤ 10 000 rekordów na zestaw filtrów"
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 10, 250
MAX_RANGE_MONTHS = 3
INVOICE_MISSING = 21164  # "Faktura o podanym identyfikatorze nie istnieje."
INVOICE_NOT_YET = 21165  # "Faktura o podanym numerze KSeF nie jest jeszcze dostępna."
RANGE_BEYOND_DATA = 21183  # "Zakres filtrowania wykracza poza dostępny zakres danych."

# RodzajFaktury → the API's InvoiceType.
INVOICE_TYPES = {
    "VAT": "Vat",
    "ZAL": "Zal",
    "KOR": "Kor",
    "ROZ": "Roz",
    "UPR": "Upr",
    "KOR_ZAL": "KorZal",
    "KOR_ROZ": "KorRoz",
}
DATE_FIELDS = {
    "Issue": "issueDate",
    "Invoicing": "invoicingDate",
    "PermanentStorage": "permanentStorageDate",
}


@dataclass(frozen=True)
class StoredInvoice:
    """One accepted invoice: its document and what its metadata record says of it."""

    ksef_number: str
    content: bytes
    invoice_hash: str
    seller_nip: str
    seller_name: str
    buyer_type: str  # Nip, VatUe, Other, None
    buyer_value: str | None
    buyer_name: str
    invoice_number: str
    issue_date: dt.date
    invoice_type: str
    currency: str
    net: Decimal
    vat: Decimal
    gross: Decimal
    has_attachment: bool
    self_invoicing: bool
    invoicing_at: float
    acquired_at: float
    stored_at: float


def read_stored(  # noqa: PLR0913 - the document and KSeF's own stamps on it
    root: etree._Element,
    content: bytes,
    *,
    ksef_number: str,
    invoice_hash: str,
    invoicing_at: float,
    acquired_at: float,
    stored_at: float,
) -> StoredInvoice:
    """The record of an FA(3) invoice that passed KSeF's checks (`root`: its parsed document)."""
    buyer = root.find("fa:Podmiot2/fa:DaneIdentyfikacyjne", NAMESPACES)
    buyer_type, buyer_value = _buyer_identifier(buyer)
    fa = root.find("fa:Fa", NAMESPACES)
    currency = child_text(fa, "fa:KodWaluty", NAMESPACES)
    net = _sum(fa, ("P_13_1", "P_13_2", "P_13_3", "P_13_4", "P_13_5", "P_13_6_1", "P_13_6_2"))
    net += _sum(fa, ("P_13_6_3", "P_13_7", "P_13_8", "P_13_9", "P_13_10", "P_13_11"))
    # vatAmount is in PLN: the W fields of an invoice in another currency.
    vat_fields: tuple[str, ...] = ("P_14_1", "P_14_2", "P_14_3", "P_14_4", "P_14_5")
    if currency != "PLN":
        vat_fields = (*(f"{name}W" for name in vat_fields[:4]), "P_14_5")
    return StoredInvoice(
        ksef_number=ksef_number,
        content=content,
        invoice_hash=invoice_hash,
        seller_nip=child_text(root, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP", NAMESPACES),
        seller_name=child_text(root, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:Nazwa", NAMESPACES),
        buyer_type=buyer_type,
        buyer_value=buyer_value,
        buyer_name=child_text(buyer, "fa:Nazwa", NAMESPACES),
        invoice_number=child_text(fa, "fa:P_2", NAMESPACES),
        issue_date=dt.date.fromisoformat(child_text(fa, "fa:P_1", NAMESPACES)),
        invoice_type=INVOICE_TYPES.get(child_text(fa, "fa:RodzajFaktury", NAMESPACES), "Vat"),
        currency=currency,
        net=net,
        vat=_sum(fa, vat_fields),
        gross=Decimal(child_text(fa, "fa:P_15", NAMESPACES) or "0"),
        has_attachment=root.find("fa:Zalacznik", NAMESPACES) is not None,
        self_invoicing=child_text(fa, "fa:Adnotacje/fa:P_17", NAMESPACES) == "1",
        invoicing_at=invoicing_at,
        acquired_at=acquired_at,
        stored_at=stored_at,
    )


def _buyer_identifier(buyer: etree._Element | None) -> tuple[str, str | None]:
    nip = child_text(buyer, "fa:NIP", NAMESPACES)
    if nip:
        return "Nip", nip
    eu = child_text(buyer, "fa:NrVatUE", NAMESPACES)
    if eu:
        return "VatUe", child_text(buyer, "fa:KodUE", NAMESPACES) + eu
    other = child_text(buyer, "fa:NrID", NAMESPACES)
    return ("Other", other) if other else ("None", None)


def _sum(fa: etree._Element | None, names: tuple[str, ...]) -> Decimal:
    return sum(
        (Decimal(child_text(fa, f"fa:{name}", NAMESPACES) or "0") for name in names), Decimal(0)
    )


# --- the query -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetadataQuery:
    """The body and parameters of POST /invoices/query/metadata, checked."""

    subject_type: str
    date_type: str
    date_from: dt.datetime
    date_to: dt.datetime | None
    restrict_to_hwm: bool
    filters: dict[str, Any]
    descending: bool
    page_offset: int
    page_size: int


SUBJECT_TYPES = ("Subject1", "Subject2", "Subject3", "SubjectAuthorized")


def parse_query(body: Any, sort_order: str, page_offset: str, page_size: str) -> MetadataQuery:
    """The query as KSeF validates it; KsefError 21405 naming what is wrong."""
    if not isinstance(body, dict):
        raise invalid_input("Treść żądania musi być obiektem InvoiceQueryFilters.")
    subject = body.get("subjectType")
    if subject not in SUBJECT_TYPES:
        raise invalid_input(f"subjectType: wymagana jedna z wartości {', '.join(SUBJECT_TYPES)}.")
    date_range = body.get("dateRange")
    if not isinstance(date_range, dict):
        raise invalid_input("dateRange: pole jest wymagane.")
    date_type = date_range.get("dateType")
    if date_type not in DATE_FIELDS:
        allowed = ", ".join(DATE_FIELDS)
        raise invalid_input(f"dateRange.dateType: wymagana jedna z wartości {allowed}.")
    date_from = _instant(date_range.get("from"), "dateRange.from")
    if date_from is None:
        raise invalid_input("dateRange.from: pole jest wymagane.")
    date_to = _instant(date_range.get("to"), "dateRange.to")
    if date_to is not None and date_to < date_from:
        raise invalid_input("dateRange: data końcowa jest wcześniejsza niż początkowa.")
    if sort_order not in {"Asc", "Desc"}:
        raise invalid_input("sortOrder: wymagana jedna z wartości Asc, Desc.")
    offset, size = _integer(page_offset, "pageOffset"), _integer(page_size, "pageSize")
    if offset < 0:
        raise invalid_input("pageOffset: wartość musi być większa lub równa 0.")
    if not MIN_PAGE_SIZE <= size <= MAX_PAGE_SIZE:
        raise invalid_input(f"pageSize: wartość z zakresu {MIN_PAGE_SIZE}-{MAX_PAGE_SIZE}.")
    return MetadataQuery(
        subject_type=subject,
        date_type=date_type,
        date_from=date_from,
        date_to=date_to,
        restrict_to_hwm=bool(date_range.get("restrictToPermanentStorageHwmDate")),
        filters={key: value for key, value in body.items() if value is not None},
        descending=sort_order == "Desc",
        page_offset=offset,
        page_size=size,
    )


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise invalid_input(f"{name}: wartość musi być liczbą całkowitą.") from None


def _instant(value: Any, name: str) -> dt.datetime | None:
    """An ISO 8601 date-time; one without an offset is Warsaw time, as KSeF reads it."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise invalid_input(f"{name}: data musi być w formacie ISO 8601.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=WARSAW)
    return moment


def _months_later(moment: dt.datetime, months: int) -> dt.datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1  # 31 May + 3 months: 31 August; 30 November + 3 months: 28 February


@dataclass(frozen=True)
class MetadataPage:
    invoices: list[StoredInvoice]
    has_more: bool
    is_truncated: bool
    hwm: dt.datetime | None


def query(
    invoices: list[StoredInvoice], query: MetadataQuery, *, context_nip: str, now: float
) -> MetadataPage:
    """One page of the invoices `context_nip` may see as `query.subject_type`."""
    now_at = dt.datetime.fromtimestamp(now, dt.UTC)
    end = query.date_to or now_at
    if end > _months_later(query.date_from, MAX_RANGE_MONTHS):
        raise invalid_input("dateRange: Maksymalny dozwolony okres wynosi 3 miesiące.")
    hwm: dt.datetime | None = None
    if query.date_type == "PermanentStorage":
        hwm = min(end, now_at)  # stored as accepted: complete up to now
        if query.restrict_to_hwm:
            if query.date_from > hwm:
                raise KsefError(
                    RANGE_BEYOND_DATA,
                    "Zakres filtrowania wykracza poza dostępny zakres danych.",
                    [
                        (
                            "Parametr dateRange.from jest późniejszy niż PermanentStorageHwmDate "
                            "przy włączonym restrictToPermanentStorageHwmDate."
                        )
                    ],
                )
            end = hwm
    matching = [
        invoice
        for invoice in invoices
        if invoice.stored_at <= now
        and _is_subject(invoice, query.subject_type, context_nip)
        and query.date_from <= _date_of(invoice, query.date_type) <= end
        and _passes(invoice, query.filters)
    ]
    matching.sort(
        key=lambda invoice: (_date_of(invoice, query.date_type), invoice.ksef_number),
        reverse=query.descending,
    )
    start = query.page_offset * query.page_size
    following = min(start + query.page_size, QUERY_RECORD_LIMIT)
    page = matching[start:following] if start < QUERY_RECORD_LIMIT else []
    has_more = len(matching) > following
    return MetadataPage(
        invoices=page,
        has_more=has_more,
        is_truncated=has_more and following >= QUERY_RECORD_LIMIT,
        hwm=hwm,
    )


def _is_subject(invoice: StoredInvoice, subject: str, nip: str) -> bool:
    if subject == "Subject1":
        return invoice.seller_nip == nip
    if subject == "Subject2":
        return invoice.buyer_type == "Nip" and invoice.buyer_value == nip
    return False  # the simulator keeps no third parties nor authorized subjects


def _date_of(invoice: StoredInvoice, date_type: str) -> dt.datetime:
    if date_type == "Issue":
        return dt.datetime.combine(invoice.issue_date, dt.time(), WARSAW)
    at = invoice.invoicing_at if date_type == "Invoicing" else invoice.stored_at
    return dt.datetime.fromtimestamp(at, dt.UTC)


def _passes(invoice: StoredInvoice, filters: dict[str, Any]) -> bool:  # noqa: PLR0911 - one test a filter
    # The filters that name a value the invoice must have as it is.
    exact = {
        "ksefNumber": invoice.ksef_number,
        "invoiceNumber": invoice.invoice_number,
        "sellerNip": invoice.seller_nip,
        "hasAttachment": invoice.has_attachment,
        "isSelfInvoicing": invoice.self_invoicing,
    }
    if any(name in filters and filters[name] != value for name, value in exact.items()):
        return False
    buyer = filters.get("buyerIdentifier")
    if isinstance(buyer, dict) and (
        buyer.get("type") != invoice.buyer_type
        or ("value" in buyer and buyer["value"] != invoice.buyer_value)
    ):
        return False
    if "currencyCodes" in filters and invoice.currency not in filters["currencyCodes"]:
        return False
    if "invoiceTypes" in filters and invoice.invoice_type not in filters["invoiceTypes"]:
        return False
    if filters.get("formType", "FA") != "FA" or filters.get("invoicingMode", "Online") != "Online":
        return False
    amount = filters.get("amount")
    if isinstance(amount, dict):
        value = {"Brutto": invoice.gross, "Netto": invoice.net, "Vat": invoice.vat}.get(
            str(amount.get("type")), invoice.gross
        )
        low, high = amount.get("from"), amount.get("to")
        if (low is not None and value < Decimal(str(low))) or (
            high is not None and value > Decimal(str(high))
        ):
            return False
    return True


def metadata_json(invoice: StoredInvoice, stamp: Any) -> dict[str, Any]:
    """The InvoiceMetadata record, as KSeF lists it; `stamp` formats an epoch time."""
    identifier: dict[str, Any] = {"type": invoice.buyer_type}
    if invoice.buyer_value is not None:
        identifier["value"] = invoice.buyer_value
    return {
        "ksefNumber": invoice.ksef_number,
        "invoiceNumber": invoice.invoice_number,
        "issueDate": invoice.issue_date.isoformat(),
        "invoicingDate": stamp(invoice.invoicing_at),
        "acquisitionDate": stamp(invoice.acquired_at),
        "permanentStorageDate": stamp(invoice.stored_at),
        "seller": {"nip": invoice.seller_nip, "name": invoice.seller_name},
        "buyer": {"identifier": identifier, "name": invoice.buyer_name},
        "netAmount": float(invoice.net),  # KSeF's numbers are JSON doubles
        "grossAmount": float(invoice.gross),
        "vatAmount": float(invoice.vat),
        "currency": invoice.currency,
        "invoicingMode": "Online",
        "invoiceType": invoice.invoice_type,
        "formCode": FA3_FORM_CODE,
        "isSelfInvoicing": invoice.self_invoicing,
        "hasAttachment": invoice.has_attachment,
        "invoiceHash": invoice.invoice_hash,
        "thirdSubjects": [],
    }


def missing(number: str) -> KsefError:
    return KsefError(
        INVOICE_MISSING,
        "Faktura o podanym identyfikatorze nie istnieje.",
        [f"Faktura o numerze KSeF {number} nie została znaleziona."],
    )


def not_yet(number: str) -> KsefError:
    return KsefError(
        INVOICE_NOT_YET,
        "Faktura o podanym numerze KSeF nie jest jeszcze dostępna.",
        [
            (
                f"Faktura o numerze KSeF {number} została przetworzona, ale nie jest jeszcze "
                "dostępna do pobrania. Spróbuj ponownie później."
            )
        ],
    )
