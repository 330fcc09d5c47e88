"""The documents the simulated ANAF answers with: response XMLs, error reports, seals, ZIPs.

Namespaces, element and attribute names are ANAF's, including the spelling "Factuta" in the
error report namespace. The seal is XMLDSig-shaped: its digest of the sealed file is real
(SHA-256), and its signature value is an HMAC-SHA256 under a key made per simulator instance,
declared as such, since the simulator holds no certificate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import zipfile
from typing import TYPE_CHECKING, Any

from lxml import etree

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

UPLOAD_RESPONSE_NS = "mfp:anaf:dgti:spv:respUploadFisier:v1"
STATUS_RESPONSE_NS = "mfp:anaf:dgti:efactura:stareMesajFactura:v1"
ERROR_REPORT_NS = "mfp:anaf:dgti:efactura:mesajEroriFactuta:v1"
XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
SEAL_KEY_NAME = "govsim-anaf-sandbox-seal"


def upload_answer(*, date_response: str, index: int | None, errors: Sequence[str]) -> bytes:
    """`<header ExecutionStatus="0" index_incarcare=…/>`, or status 1 with <Errors>."""
    root = _header(UPLOAD_RESPONSE_NS)
    root.set("dateResponse", date_response)
    root.set("ExecutionStatus", "1" if errors else "0")
    if index is not None:
        root.set("index_incarcare", str(index))
    _append(root, UPLOAD_RESPONSE_NS, "Errors", errors)
    return _serialize(root)


def status_answer(
    *, state: str | None = None, download_id: int | None = None, errors: Sequence[str] = ()
) -> bytes:
    """`<header stare=… id_descarcare=…/>`, or a bare header with <Errors>."""
    root = _header(STATUS_RESPONSE_NS)
    if state is not None:
        root.set("stare", state)
    if download_id is not None:
        root.set("id_descarcare", str(download_id))
    _append(root, STATUS_RESPONSE_NS, "Errors", errors)
    return _serialize(root)


def error_report(*, upload_index: int, issuer_cif: str, errors: Sequence[str]) -> bytes:
    """The file a `nok` download holds in place of the invoice."""
    root = _header(ERROR_REPORT_NS)
    root.set("Index_incarcare", str(upload_index))
    root.set("Cif_emitent", issuer_cif)
    _append(root, ERROR_REPORT_NS, "Error", errors)
    return _serialize(root)


def sealed_zip(
    *, upload_index: int, content: bytes, seal_key: bytes, created_at: datetime
) -> bytes:
    """The download: `<index>.xml` (invoice or error report) and `semnatura_<index>.xml`."""
    file_name = f"{upload_index}.xml"
    seal = _seal(file_name, content, seal_key)
    buffer = io.BytesIO()
    timestamp = created_at.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in ((file_name, content), (f"semnatura_{upload_index}.xml", seal)):
            entry = zipfile.ZipInfo(name, date_time=timestamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return buffer.getvalue()


def _seal(file_name: str, content: bytes, key: bytes) -> bytes:
    signature = etree.Element(f"{{{XMLDSIG_NS}}}Signature", nsmap=_default_namespace(XMLDSIG_NS))
    signed_info = _child(signature, "SignedInfo")
    _child(signed_info, "CanonicalizationMethod").set(
        "Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    _child(signed_info, "SignatureMethod").set(
        "Algorithm", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
    )
    reference = _child(signed_info, "Reference")
    reference.set("URI", file_name)
    _child(reference, "DigestMethod").set("Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256")
    _child(reference, "DigestValue").text = _b64(hashlib.sha256(content).digest())
    canonical_signed_info = etree.tostring(signed_info, method="c14n", exclusive=True)
    _child(signature, "SignatureValue").text = _b64(
        hmac.new(key, canonical_signed_info, hashlib.sha256).digest()
    )
    _child(_child(signature, "KeyInfo"), "KeyName").text = SEAL_KEY_NAME
    return _serialize(signature)


def _header(namespace: str) -> etree._Element:
    return etree.Element(f"{{{namespace}}}header", nsmap=_default_namespace(namespace))


def _default_namespace(namespace: str) -> dict[Any, str]:
    # The stubs type nsmap keys as str; lxml takes None as the key of the default namespace.
    return {None: namespace}


def _append(parent: etree._Element, namespace: str, tag: str, messages: Sequence[str]) -> None:
    for message in messages:
        etree.SubElement(parent, f"{{{namespace}}}{tag}").set("errorMessage", message)


def _child(parent: etree._Element, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XMLDSIG_NS}}}{tag}")


def _serialize(root: etree._Element) -> bytes:
    """UTF-8 with the declaration written as ANAF writes it (double quotes, standalone="yes")."""
    standalone = ' standalone="yes"' if etree.QName(root).namespace != XMLDSIG_NS else ""
    declaration = f'<?xml version="1.0" encoding="UTF-8"{standalone}?>\n'.encode()
    serialized = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    assert isinstance(serialized, bytes)  # an encoding was given, so lxml returns bytes
    return declaration + serialized


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
