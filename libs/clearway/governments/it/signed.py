"""A FatturaPA signed CAdES-BES: the `.xml.p7m` file SDI takes and delivers as it was sent, a CMS
SignedData (RFC 5652) whose encapsulated content is the FatturaPA XML.

The signature was SDI's to check (it refuses a file whose signature is not valid, 00102) and the
signed file is the legal original, kept byte for byte; Clearway only takes the XML out to read
it. Suppliers' tools write it in DER, or as that DER in Base64 (SDI accepts both): both are read.
Pure; parsed by asn1crypto, which reads BER's indefinite lengths and constructed octet strings as
signing tools write them.
"""

from __future__ import annotations

import base64
import binascii

from asn1crypto import cms

from clearway.formats.hardened import UnreadableDocumentError

P7M = "application/pkcs7-mime"
_SEQUENCE = 0x30  # every DER ContentInfo starts with a SEQUENCE tag
_BASE64_START = b"MI"  # a SEQUENCE with a long length, in Base64


def is_p7m(content: bytes) -> bool:
    """Whether `content` looks like a signed file rather than XML (DER, or DER in Base64)."""
    head = content.lstrip()[:2]
    return bool(head) and (head[0] == _SEQUENCE or head == _BASE64_START)


def signed_content(content: bytes) -> bytes:
    """The document a `.p7m` file signs; UnreadableDocumentError when it is none."""
    der = content
    if content.lstrip()[:2] == _BASE64_START:
        try:
            der = base64.b64decode(b"".join(content.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UnreadableDocumentError(f"The signed file's Base64 is broken: {exc}") from exc
    try:
        info = cms.ContentInfo.load(der)
        kind = info["content_type"].native
        document = (
            info["content"]["encap_content_info"]["content"].native
            if kind == "signed_data"
            else None
        )
    except (ValueError, TypeError, KeyError) as exc:  # asn1crypto's errors for a broken DER
        raise UnreadableDocumentError(
            f"The file is not a CAdES (PKCS#7) signed file: {exc}"[:500]
        ) from exc
    if kind != "signed_data":
        raise UnreadableDocumentError(f"The signed file holds {kind}, not CMS signed data.")
    if not isinstance(document, bytes) or not document:
        raise UnreadableDocumentError("The signed file encloses no document (a detached one).")
    return document
