"""The invoice as a client sends it (POST /v1/invoices), and the totals Clearway derives from it.

Pure: no I/O. Every amount is a Decimal; JSON numbers are parsed straight to Decimal, never
through float.
"""

from __future__ import annotations

import binascii
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    StringConstraints,
    field_validator,
)

from clearway.domain.wire import WireModel

CENT = Decimal("0.01")

Country = Literal["RO", "IT", "BE", "PL", "FR", "DE"]
SUPPORTED_COUNTRIES: tuple[str, ...] = ("RO", "IT", "BE", "PL", "FR", "DE")

# No NUL anywhere (PostgreSQL text cannot hold it); ShortText also needs a visible character.
# The patterns put both rules in the JSON schema, so the document says what is accepted.
NO_NUL = r"^[^\x00]*$"
ShortText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=300, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$"
    ),
]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)]
NoteText = Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)]


CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


@dataclass(frozen=True)
class DecimalString:
    """Documents a Decimal as `type: string, format: decimal`: a generated client keeps it as
    exact text, never a float. Pydantic writes a Decimal to JSON as a string already; the
    pattern states exactly the text that is accepted (or that is answered)."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, _schema: Any, _handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {
            "type": "string",
            "format": "decimal",
            "pattern": self.pattern,
            # (No "float" here: a generated model's docstring carries it, and the test that
            # generated models never use binary floating point reads their text.)
            "description": 'A decimal as a string ("5000.00"), kept exact. A request may give a '
            "JSON number instead; it is read straight to a decimal.",
        }


# Amounts and quantities: finite decimals below 10^13 in size. Documented as decimal strings;
# a JSON number is accepted as well (parsed straight to Decimal), as the seed's examples send.
MONEY_LIMIT = 10**13
Money = Annotated[
    Decimal,
    Field(allow_inf_nan=False, gt=-MONEY_LIMIT, lt=MONEY_LIMIT),
    DecimalString(r"^-?[0-9]{1,13}(\.[0-9]{1,20})?$"),
]
Percent = Annotated[
    Decimal,
    Field(allow_inf_nan=False, ge=0, le=100),
    DecimalString(r"^(100(\.0{1,20})?|[0-9]{1,2}(\.[0-9]{1,20})?)$"),
]


class VatCategory(StrEnum):
    """UNCL 5305 VAT category codes as EN 16931 uses them (BT-118, BT-151)."""

    STANDARD = "S"
    ZERO_RATED = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_COMMUNITY = "K"
    EXPORT = "G"
    OUTSIDE_SCOPE = "O"
    CANARY_ISLANDS = "L"
    CEUTA_MELILLA = "M"


class InvoiceType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"


class _Model(WireModel):  # the base of every public request model
    # Unknown fields are errors: a typo in a field name must not be silently dropped.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(_Model):
    street: ShortText | None = None
    city: ShortText | None = None
    postal_code: ShortText | None = None
    country: CountryCode
    state_or_province: ShortText | None = None


class Party(_Model):
    vat_number: ShortText
    name: ShortText
    trade_register: ShortText | None = None  # e.g. J40/1234/2020 (CIUS-RO BT-30)
    fiscal_code: ShortText | None = None  # Italy's Codice Fiscale
    pec: ShortText | None = None  # Italy: certified e-mail, when there is no sdiCode
    address: Address | None = None
    email: ShortText | None = None
    phone: ShortText | None = None
    sdi_code: ShortText | None = None
    peppol_id: ShortText | None = None
    siret: ShortText | None = None
    leitweg_id: ShortText | None = None


class Line(_Model):
    description: ShortText
    quantity: Money = Decimal(1)
    unit_price: Money
    vat_rate: Percent
    unit_code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,3}$")] = "C62"
    discount: Money | None = None
    item_code: ShortText | None = None
    # BT-151; when absent: S for a rate above 0, and a 0 rate must say which category it is.
    vat_category: VatCategory | None = None
    vat_exemption_reason: ShortText | None = None  # BT-120
    vat_exemption_reason_code: ShortText | None = None  # BT-121, e.g. VATEX-EU-IC
    natura: Annotated[str, StringConstraints(pattern=r"^N[1-7](\.[0-9])?$")] | None = None  # IT

    @property
    def effective_vat_category(self) -> VatCategory | None:
        if self.vat_category is not None:
            return self.vat_category
        return VatCategory.STANDARD if self.vat_rate > 0 else None


class PaymentMeans(_Model):
    bank_account: ShortText | None = None
    bic: ShortText | None = None
    payment_terms: ShortText | None = None
    due_date: dt.date | None = None


# EN 16931 BT-125's allowed MIME codes: what every government format can carry.
ATTACHMENT_MIME_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.spreadsheet",
)
MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024  # decoded, each
MAX_ATTACHMENTS = 10


class Attachment(_Model):
    filename: Annotated[str, StringConstraints(pattern=r"^[^/\\\x00]{1,200}$")]
    content: Annotated[
        str,
        StringConstraints(
            min_length=4,
            max_length=4 * -(-MAX_ATTACHMENT_BYTES // 3),
            pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
        ),
    ]
    mime_type: Literal[ATTACHMENT_MIME_TYPES]  # type: ignore[valid-type]

    @field_validator("content")
    @classmethod
    def _base64_within_limit(cls, content: str) -> str:
        try:
            decoded = binascii.a2b_base64(content, strict_mode=True)
        except binascii.Error as exc:
            raise ValueError(f"content is not valid base64 ({exc})") from None
        if len(decoded) > MAX_ATTACHMENT_BYTES:
            raise ValueError(
                f"the file is {len(decoded)} bytes; each attachment may be at most "
                f"{MAX_ATTACHMENT_BYTES} bytes"
            )
        return content


class PrecedingInvoice(_Model):
    """BG-3: the invoice a credit note (or corrective invoice) corrects."""

    number: ShortText
    issue_date: dt.date | None = None


# A platform's own string pairs on an invoice, sent or received (Stripe's limits).
MAX_METADATA_PAIRS = 50
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=NO_NUL)]
MetadataValue = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]
METADATA_VALUE_SCHEMA = {"type": "string", "maxLength": 500, "pattern": NO_NUL}


def metadata_keys_schema(schema: dict[str, Any]) -> None:
    """Pydantic writes the key's pattern as a patternProperties entry, which lets any other
    key through; say what is checked: every key's own constraints."""
    schema.pop("patternProperties", None)
    schema["propertyNames"] = {"minLength": 1, "maxLength": 40, "pattern": NO_NUL}


def _metadata_schema(schema: dict[str, Any]) -> None:
    """Every key's own constraints, every value a string."""
    metadata_keys_schema(schema)
    schema["additionalProperties"] = METADATA_VALUE_SCHEMA


class InvoiceRequest(_Model):
    country: Country
    invoice_type: InvoiceType = InvoiceType.INVOICE
    company_id: ShortText | None = None
    external_id: ExternalId | None = None
    invoice_number: ShortText | None = None  # BT-1; defaults to externalId, else the id
    supplier: Party
    customer: Party
    lines: Annotated[list[Line], Field(min_length=1, max_length=10_000)]
    currency: CurrencyCode = "EUR"
    exchange_rate: Money | None = Field(
        default=None,
        description="National currency per 1 unit of `currency`, for the VAT a country wants "
        "stated in its own currency too. Poland: PLN (FA(3) KursWaluty, VAT in PLN as P_14_xW); "
        "required for a PL invoice not in PLN.",
    )
    issue_date: dt.date = Field(default_factory=dt.date.today)
    due_date: dt.date | None = None
    note: NoteText | None = None
    payment_means: PaymentMeans | None = None
    attachments: Annotated[list[Attachment], Field(max_length=MAX_ATTACHMENTS)] = Field(
        default_factory=list
    )
    buyer_reference: ShortText | None = None  # BT-10 (DE: the Leitweg-ID)
    purchase_order_reference: ShortText | None = None  # BT-13
    preceding_invoice: PrecedingInvoice | None = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Field(max_length=MAX_METADATA_PAIRS)] = (
        Field(default_factory=dict, json_schema_extra=_metadata_schema)
    )


# Enough digits for the largest totals the request schema admits (10^13 x 10^13 x 10^4 lines),
# so arithmetic is exact and never overflows the default 28-digit context.
MONEY_CONTEXT = Context(prec=60, rounding=ROUND_HALF_UP)


def round_money(amount: Decimal) -> Decimal:
    """Round half away from zero to cents, as EN 16931 amounts are stated."""
    return amount.quantize(CENT, context=MONEY_CONTEXT)


def line_net_amount(line: Line) -> Decimal:
    """BT-131: quantity times the net price (unit price less the per-unit discount)."""
    with localcontext(MONEY_CONTEXT):
        net_price = line.unit_price - (line.discount or Decimal(0))
        return round_money(line.quantity * net_price)


class VatBreakdown(BaseModel):
    """One BG-23 VAT breakdown: the lines that share a VAT category and rate."""

    model_config = ConfigDict(frozen=True)

    category: VatCategory | None  # None only for a 0 rate the caller gave no category for
    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal


class Totals(BaseModel):
    model_config = ConfigDict(frozen=True)

    net_amount: Decimal
    vat_amount: Decimal
    gross_amount: Decimal
    breakdown: tuple[VatBreakdown, ...]


def _plain_rate(rate: Decimal) -> Decimal:
    """19.00 -> 19 and 20 -> 20: normalize() alone turns 20 into 2E+1, which leaks into the XML."""
    normalized = rate.normalize()
    exponent = normalized.as_tuple().exponent
    return (
        normalized.quantize(Decimal(1))
        if isinstance(exponent, int) and exponent > 0
        else normalized
    )


def compute_totals(lines: list[Line]) -> Totals:
    """VAT per (category, rate) on the rounded line nets, then summed (BR-CO-14/15, BR-S-09)."""
    with localcontext(MONEY_CONTEXT):
        return _compute_totals(lines)


def _compute_totals(lines: list[Line]) -> Totals:
    taxable: dict[tuple[VatCategory | None, Decimal], Decimal] = {}
    for line in lines:
        group = (line.effective_vat_category, _plain_rate(line.vat_rate))
        taxable[group] = taxable.get(group, Decimal(0)) + line_net_amount(line)
    breakdown = tuple(
        VatBreakdown(
            category=category,
            rate=rate,
            taxable_amount=amount,
            tax_amount=round_money(amount * rate / Decimal(100)),
        )
        for (category, rate), amount in sorted(
            taxable.items(), key=lambda item: (-item[0][1], item[0][0] or "")
        )
    )
    net = sum((b.taxable_amount for b in breakdown), Decimal(0))
    vat = sum((b.tax_amount for b in breakdown), Decimal(0))
    return Totals(
        net_amount=round_money(net),
        vat_amount=round_money(vat),
        gross_amount=round_money(net + vat),
        breakdown=breakdown,
    )


def money_str(amount: Decimal) -> str:
    """Amounts leave the API as 2-decimal strings ("5200.00")."""
    return str(round_money(amount))


# An amount in an answer: always two decimals ("5200.00"), as text.
Amount = Annotated[
    Decimal,
    PlainSerializer(money_str, return_type=str),
    DecimalString(r"^-?[0-9]+\.[0-9]{2}$"),
]

# An amount as a received document states it, digits and sign as stated ("6188.00", "12.5"),
# as text.
StatedAmount = Annotated[
    Decimal,
    PlainSerializer(str, return_type=str),
    DecimalString(r"^-?[0-9]+(\.[0-9]+)?$"),
]
