"""The purchase invoices the simulated SDI delivers to a recipient's channel on request
(`POST /_sim/it/purchase-invoices`): a FatturaPA as a supplier sent it to SDI, either the test's
own or a sample rendered by Clearway's FatturaPA renderer (what an Italian supplier filing
through Clearway would have sent), and what SDI reads from it to deliver it (delivery.py)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from clearway.governments.it.document import render_fatturapa
from clearway.security.self_signed import common_name, self_signed_certificate
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7

from services.govsim.it.documents import FATTURA_NS, FORMATS
from services.govsim.purchases import sample_address, sample_party, sample_request
from services.govsim.untrusted_xml import UntrustedXmlError, child_text, parse_untrusted_xml

SAMPLE_SUPPLIER_PIVA = "07654320154"  # made up, with a valid check digit and office code
_PROGRESSIVO_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HEADER = "FatturaElettronicaHeader/"
_BUYER = _HEADER + "CessionarioCommittente/DatiAnagrafici/"


def sample_purchase_invoice(*, buyer_vat: str, code: str, issued: dt.date) -> bytes:
    """An invoice from the sample supplier (Milan) to `buyer_vat` (Turin) at channel `code`,
    numbered afresh."""
    request = sample_request(
        country="IT",
        supplier=sample_party(
            f"IT{SAMPLE_SUPPLIER_PIVA}",
            "Fornitore Esempio S.r.l.",
            sample_address("Via Dante 5", "Milano", "20121", "IT"),
        ),
        customer=sample_party(
            buyer_vat,
            "Acquirente Esempio S.p.A.",
            sample_address("Corso Vittorio Emanuele II 8", "Torino", "10123", "IT"),
            sdiCode=code,
        ),
        descriptions=("Consulenza informatica", "Hosting"),
        vat_rate=22,
        currency="EUR",
        issued=issued,
        payment_days=30,
        payment_means={"bankAccount": "IT60X0542811101000000123456"},
    )
    progressivo = "".join(secrets.choice(_PROGRESSIVO_DIGITS) for _ in range(5))
    number = f"FT-{secrets.token_hex(4).upper()}"
    return render_fatturapa(request, invoice_number=number, progressivo=progressivo)


def signed_cades(content: bytes) -> bytes:
    """`content` signed as a supplier signs a .xml.p7m (CMS SignedData, DER, the document inside),
    by a key made for it: SDI checked the signature; the recipient reads what it signs."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed_certificate(common_name("Fornitore Esempio S.r.l."), key)
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )


@dataclass(frozen=True)
class SentFile:
    """What SDI reads from a FatturaPA to deliver it: its file name, format and buyer."""

    name: str  # NomeFile: IT<transmitter>_<ProgressivoInvio>.xml
    formato: str  # FPR12 or FPA12
    buyer_vat: str | None  # IdPaese + IdCodice, or "IT" + a company's CodiceFiscale; None: none


def read_sent_file(content: bytes) -> SentFile | None:
    """SentFile of a FatturaPA; None when it cannot be read (a hostile or broken document, which
    real SDI would have refused with 00200: the sandbox delivers it, so that a channel's defences
    can be tried)."""
    try:
        root = parse_untrusted_xml(content)
    except UntrustedXmlError:
        return None
    if root.tag != f"{{{FATTURA_NS}}}FatturaElettronica":
        return None

    def text(path: str) -> str:
        return child_text(root, path, {})

    transmitter = text(_HEADER + "DatiTrasmissione/IdTrasmittente/IdPaese") + text(
        _HEADER + "DatiTrasmissione/IdTrasmittente/IdCodice"
    )
    progressivo = text(_HEADER + "DatiTrasmissione/ProgressivoInvio")
    if not transmitter or not progressivo:
        return None
    formato = root.get("versione", "")
    vat = text(_BUYER + "IdFiscaleIVA/IdPaese") + text(_BUYER + "IdFiscaleIVA/IdCodice")
    fiscal_code = text(_BUYER + "CodiceFiscale")
    buyer = vat or (f"IT{fiscal_code}" if fiscal_code else None)
    return SentFile(
        name=f"{transmitter}_{progressivo}.xml",
        formato=formato if formato in FORMATS else "FPR12",
        buyer_vat=buyer,
    )


def unread_file_name() -> str:
    """The name of a file whose transmitter could not be read: the sample supplier's."""
    progressivo = "".join(secrets.choice(_PROGRESSIVO_DIGITS) for _ in range(5))
    return f"IT{SAMPLE_SUPPLIER_PIVA}_{progressivo}.xml"
