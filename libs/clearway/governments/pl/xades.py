"""The signed AuthTokenRequest of KSeF's certificate login (POST /auth/xades-signature).

KSeF takes an enveloped XAdES-BES signature (ksef-docs auth/podpis-xades.md): a ds:Signature
inside the AuthTokenRequest with two references, one to the whole document (enveloped-signature
transform, then exclusive c14n) and one to the xades:SignedProperties (the signing time and the
signing certificate's digest), and the certificate itself in KeyInfo. Canonicalization is lxml's;
signing is RSA PKCS#1 v1.5 or ECDSA, with SHA-256. Pure: no I/O.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

KSEF_AUTH_NS = "http://ksef.mf.gov.pl/auth/token/2.0"  # the AuthTokenRequest schema
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
EXCLUSIVE_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
SIGNATURE_ID = "Signature"
SIGNED_PROPERTIES_ID = "SignedProperties"


class XadesSigningError(ValueError):
    """The certificate or key cannot sign a KSeF login (unreadable, or neither RSA nor EC)."""


@dataclass(frozen=True)
class KsefCertificate:
    """A company's certificate (PEM, the leaf first) and its unencrypted private key (PEM)."""

    certificate_pem: str
    private_key_pem: str = field(repr=False)

    @property
    def not_valid_after(self) -> dt.datetime:
        try:
            leaf = x509.load_pem_x509_certificate(self.certificate_pem.encode())
        except ValueError as exc:
            raise XadesSigningError("The certificate cannot be read.") from exc
        return leaf.not_valid_after_utc


def _ds(name: str) -> str:
    return f"{{{DS_NS}}}{name}"


def _xades(name: str) -> str:
    return f"{{{XADES_NS}}}{name}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _signer(private_key_pem: bytes) -> tuple[str, Callable[[bytes], bytes]]:
    """The SignatureMethod URI and a function signing bytes with the key."""
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise XadesSigningError("The private key cannot be read.") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key
        return RSA_SHA256, lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ec_key = key
        size = (ec_key.curve.key_size + 7) // 8

        def sign_ecdsa(data: bytes) -> bytes:
            # XML-DSig wants r and s side by side at the curve's size, not cryptography's DER.
            r, s = decode_dss_signature(ec_key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")

        return ECDSA_SHA256, sign_ecdsa
    raise XadesSigningError("KSeF takes RSA or ECDSA keys only.")


def auth_token_request(challenge: str, nip: str) -> etree._Element:
    """The unsigned document: the challenge, the context (the company's NIP), and that KSeF
    should identify the signer by the certificate's subject."""
    root = etree.Element(
        f"{{{KSEF_AUTH_NS}}}AuthTokenRequest",
        nsmap={None: KSEF_AUTH_NS},  # type: ignore[dict-item]
    )
    etree.SubElement(root, f"{{{KSEF_AUTH_NS}}}Challenge").text = challenge
    context = etree.SubElement(root, f"{{{KSEF_AUTH_NS}}}ContextIdentifier")
    etree.SubElement(context, f"{{{KSEF_AUTH_NS}}}Nip").text = nip
    subject = etree.SubElement(root, f"{{{KSEF_AUTH_NS}}}SubjectIdentifierType")
    subject.text = "certificateSubject"
    return root


def _reference(
    signed_info: etree._Element, uri: str, transforms: tuple[str, ...], reference_type: str = ""
) -> etree._Element:
    reference = etree.SubElement(signed_info, _ds("Reference"), URI=uri)
    if reference_type:
        reference.set("Type", reference_type)
    transforms_element = etree.SubElement(reference, _ds("Transforms"))
    for algorithm in transforms:
        etree.SubElement(transforms_element, _ds("Transform"), Algorithm=algorithm)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SHA256)
    return etree.SubElement(reference, _ds("DigestValue"))


def sign_auth_token_request(
    challenge: str, nip: str, certificate_pem: bytes, private_key_pem: bytes, *, now: dt.datetime
) -> bytes:
    """The AuthTokenRequest for `challenge` and `nip`, signed XAdES-BES with the certificate
    (the first in `certificate_pem`: the leaf) and its private key."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise XadesSigningError("The certificate cannot be read.") from exc
    signature_method, sign = _signer(private_key_pem)
    certificate_der = certificate.public_bytes(serialization.Encoding.DER)

    document = auth_token_request(challenge, nip)
    # What the enveloped-signature transform leaves once the signature is in: the document now.
    document_digest = _b64(hashlib.sha256(_c14n(document)).digest())

    signature = etree.SubElement(document, _ds("Signature"), Id=SIGNATURE_ID, nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXCLUSIVE_C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=signature_method)
    _reference(signed_info, "", (ENVELOPED_SIGNATURE, EXCLUSIVE_C14N)).text = document_digest
    properties_digest = _reference(
        signed_info, f"#{SIGNED_PROPERTIES_ID}", (EXCLUSIVE_C14N,), SIGNED_PROPERTIES_TYPE
    )
    signature_value = etree.SubElement(signature, _ds("SignatureValue"))
    x509_data = etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data"))
    etree.SubElement(x509_data, _ds("X509Certificate")).text = _b64(certificate_der)

    qualifying = etree.SubElement(
        etree.SubElement(signature, _ds("Object")),
        _xades("QualifyingProperties"),
        Target=f"#{SIGNATURE_ID}",
        nsmap={"xades": XADES_NS},
    )
    signed_properties = etree.SubElement(
        qualifying, _xades("SignedProperties"), Id=SIGNED_PROPERTIES_ID
    )
    signature_properties = etree.SubElement(signed_properties, _xades("SignedSignatureProperties"))
    signing_time = etree.SubElement(signature_properties, _xades("SigningTime"))
    signing_time.text = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    cert = etree.SubElement(
        etree.SubElement(signature_properties, _xades("SigningCertificate")), _xades("Cert")
    )
    cert_digest = etree.SubElement(cert, _xades("CertDigest"))
    etree.SubElement(cert_digest, _ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(cert_digest, _ds("DigestValue")).text = _b64(
        hashlib.sha256(certificate_der).digest()
    )
    issuer_serial = etree.SubElement(cert, _xades("IssuerSerial"))
    etree.SubElement(
        issuer_serial, _ds("X509IssuerName")
    ).text = certificate.issuer.rfc4514_string()
    etree.SubElement(issuer_serial, _ds("X509SerialNumber")).text = str(certificate.serial_number)

    properties_digest.text = _b64(hashlib.sha256(_c14n(signed_properties)).digest())
    signature_value.text = _b64(sign(_c14n(signed_info)))
    return etree.tostring(document, xml_declaration=True, encoding="utf-8")
