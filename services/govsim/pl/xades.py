"""The simulated KSeF's check of a XAdES-signed AuthTokenRequest (POST /auth/xades-signature).

What is checked, after ksef-docs (auth/podpis-xades.md, uwierzytelnianie.md) and XML-DSig:

- the document: AuthTokenRequest (schema 2.0 or 2.1) with Challenge, ContextIdentifier/Nip and
  SubjectIdentifierType, parsed hardened (no DTD, no entities);
- one enveloped ds:Signature, a child of the document, whose SignedInfo references the document
  (URI="", the enveloped-signature transform, optionally a c14n one) and its own
  xades:SignedProperties (by Id, inside this signature only: no wrapping), each digest
  recomputed; SignatureValue checked over the canonical SignedInfo with the certificate in
  KeyInfo/X509Data (RSA PKCS#1 v1.5 or ECDSA, SHA-256/384/512);
- SignedProperties: a SigningTime, and a SigningCertificate digest equal to that certificate's.

Accepted transforms are the documented list less XPath, XPath Filter 2.0, base64 and C14N 1.1,
which the simulator does not implement (a signature using them is refused, saying so). Like the
TE environment, self-signed certificates are accepted and no chain or OCSP check is made. The
hardened parser drops processing instructions, so a document signed with some fails its digest.

Refusals are KSeF exception bodies. Codes 9102 ("Brak podpisu."), 9105 ("Nieprawidłowa treść
podpisu.", with details such as "Podpis zweryfikowany negatywnie.") and 21115 ("Nieprawidłowy
certyfikat.") are what KSeF answers (CIRFMF/ksef-api issues 121, 144, 150, 325); 21001
("Nieczytelna treść.") is named in the ksef-client SDK; the detail texts are the simulator's.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from services.govsim.pl.auth import INPUT_INVALID, INPUT_VALIDATION, KsefError
from services.govsim.untrusted_xml import UntrustedXmlError, child_text, parse_untrusted_xml

AUTH_NAMESPACES = ("http://ksef.mf.gov.pl/auth/token/2.0", "http://ksef.mf.gov.pl/auth/token/2.1")
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS_NS, "xades": XADES_NS}
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

UNREADABLE = 21001
SIGNATURE_MISSING = 9102
SIGNATURE_INVALID = 9105
CERTIFICATE_INVALID = 21115
SIGNATURE_INVALID_TEXT = "Nieprawidłowa treść podpisu."
CERTIFICATE_INVALID_TEXT = "Nieprawidłowy certyfikat."

# Canonicalization URI → (exclusive, with comments), as lxml can do them.
C14N_METHODS = {
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
}
DIGEST_METHODS = {
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}
MORE = "http://www.w3.org/2001/04/xmldsig-more#"
SIGNATURE_METHODS: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    f"{MORE}rsa-sha256": ("rsa", hashes.SHA256()),
    f"{MORE}rsa-sha384": ("rsa", hashes.SHA384()),
    f"{MORE}rsa-sha512": ("rsa", hashes.SHA512()),
    f"{MORE}ecdsa-sha256": ("ec", hashes.SHA256()),
    f"{MORE}ecdsa-sha384": ("ec", hashes.SHA384()),
    f"{MORE}ecdsa-sha512": ("ec", hashes.SHA512()),
}

# Subject attributes KSeF reads an identifier from (auth/podpis-xades.md).
ORGANIZATION_NIP = re.compile(r"VATPL.*?(\d{10})")
PERSON_NIP = re.compile(r"(?:TINPL|NIP).*?(\d{10})")
PERSON_PESEL = re.compile(r"(?:PNOPL|PESEL).*?(\d{11})")


@dataclass(frozen=True)
class SubjectIdentifier:
    kind: str  # "Nip" or "Pesel"
    value: str
    authentication_method: str  # as GET /auth/{ref} names it


@dataclass(frozen=True)
class SignedAuthRequest:
    challenge: str
    context_nip: str
    subject_identifier_type: str
    certificate: x509.Certificate


def _invalid_signature(detail: str) -> KsefError:
    return KsefError(SIGNATURE_INVALID, SIGNATURE_INVALID_TEXT, [detail])


def _invalid_certificate(detail: str) -> KsefError:
    return KsefError(CERTIFICATE_INVALID, CERTIFICATE_INVALID_TEXT, [detail])


def read_signed_auth_request(body: bytes) -> SignedAuthRequest:
    """The request's facts once its signature holds; KsefError (HTTP 400) otherwise."""
    try:
        root = parse_untrusted_xml(body)
    except UntrustedXmlError as exc:
        raise KsefError(UNREADABLE, "Nieczytelna treść.", [str(exc)]) from exc
    name = etree.QName(root)
    if name.localname != "AuthTokenRequest" or name.namespace not in AUTH_NAMESPACES:
        raise KsefError(INPUT_VALIDATION, INPUT_INVALID, ["Oczekiwano dokumentu AuthTokenRequest."])
    auth_ns = {"a": name.namespace}
    challenge = child_text(root, "a:Challenge", auth_ns)
    nip = child_text(root, "a:ContextIdentifier/a:Nip", auth_ns)
    subject_type = child_text(root, "a:SubjectIdentifierType", auth_ns)
    if not challenge or not nip or not subject_type:
        raise KsefError(
            INPUT_VALIDATION,
            INPUT_INVALID,
            ["AuthTokenRequest: wymagane Challenge, ContextIdentifier/Nip, SubjectIdentifierType."],
        )
    signatures = list(root.iter(f"{{{DS_NS}}}Signature"))
    if not signatures:
        raise KsefError(SIGNATURE_MISSING, "Brak podpisu.")
    if len(signatures) > 1 or signatures[0].getparent() is not root:
        raise _invalid_signature("Oczekiwano jednego podpisu otaczanego, w elemencie głównym.")
    certificate = _verify(root, signatures[0])
    return SignedAuthRequest(challenge, nip, subject_type, certificate)


def subject_identifier(certificate: x509.Certificate) -> SubjectIdentifier | None:
    """The NIP or PESEL in the certificate's subject, read as KSeF reads qualified seals
    (organizationIdentifier VATPL-…) and signatures (serialNumber TINPL-…, PNOPL-…)."""

    def values(oid: x509.ObjectIdentifier) -> list[str]:
        return [str(a.value) for a in certificate.subject.get_attributes_for_oid(oid)]

    for value in values(x509.NameOID.ORGANIZATION_IDENTIFIER):
        if found := ORGANIZATION_NIP.search(value):
            return SubjectIdentifier("Nip", found.group(1), "QualifiedSeal")
    for value in values(x509.NameOID.SERIAL_NUMBER):
        if found := PERSON_NIP.search(value):
            return SubjectIdentifier("Nip", found.group(1), "QualifiedSignature")
        if found := PERSON_PESEL.search(value):
            return SubjectIdentifier("Pesel", found.group(1), "QualifiedSignature")
    return None


def checked_subject(request: SignedAuthRequest, now: datetime) -> SubjectIdentifier | None:
    """Who signed, once the certificate is valid at `now`; None for certificateFingerprint
    (the subject is the fingerprint itself). KsefError (HTTP 400) otherwise."""
    certificate = request.certificate
    if not certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc:
        raise _invalid_certificate(
            f"Nieważny certyfikat: ważny od {certificate.not_valid_before_utc.isoformat()} "
            f"do {certificate.not_valid_after_utc.isoformat()}."
        )
    if request.subject_identifier_type == "certificateFingerprint":
        return None
    if request.subject_identifier_type != "certificateSubject":
        raise KsefError(
            INPUT_VALIDATION,
            INPUT_INVALID,
            ["SubjectIdentifierType: certificateSubject lub certificateFingerprint."],
        )
    subject = subject_identifier(certificate)
    if subject is None:
        raise _invalid_certificate(
            "Podmiot certyfikatu nie zawiera NIP ani PESEL (organizationIdentifier VATPL-…, "
            "serialNumber TINPL-… lub PNOPL-…)."
        )
    return subject


# --- the signature -------------------------------------------------------------------------


def _one(parent: etree._Element, path: str, what: str) -> etree._Element:
    found = parent.findall(path, namespaces=NS)
    if len(found) != 1:
        raise _invalid_signature(f"Oczekiwano dokładnie jednego elementu {what}.")
    return found[0]


def _b64decode(text: str | None, what: str) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid_signature(f"{what}: wartość nie jest poprawnym ciągiem Base64.") from exc


def _verify(root: etree._Element, signature: etree._Element) -> x509.Certificate:
    signed_info = _one(signature, "ds:SignedInfo", "ds:SignedInfo")
    certificate = _embedded_certificate(signature)
    references = signed_info.findall("ds:Reference", namespaces=NS)
    to_document = [r for r in references if r.get("URI") == ""]
    to_properties = [r for r in references if r.get("Type") == SIGNED_PROPERTIES_TYPE]
    if len(references) != 2 or len(to_document) != 1 or len(to_properties) != 1:
        raise _invalid_signature(
            'Podpis XAdES musi mieć referencję do dokumentu (URI="") i do SignedProperties.'
        )
    signed_properties = _signed_properties(root, signature, to_properties[0])
    _check_digest(to_document[0], _enveloped_document(root, signature, to_document[0]))
    _check_digest(to_properties[0], _transformed(signed_properties, to_properties[0]))
    _check_signed_properties(signed_properties, certificate)
    _check_signature_value(signature, signed_info, certificate)
    return certificate


def _embedded_certificate(signature: etree._Element) -> x509.Certificate:
    certificates = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
    if not certificates:
        raise _invalid_certificate("Brak certyfikatu w KeyInfo/X509Data/X509Certificate.")
    try:
        der = base64.b64decode("".join((certificates[0].text or "").split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError) as exc:
        raise _invalid_certificate("Nie można odczytać certyfikatu z KeyInfo.") from exc


def _elements(found: object) -> list[etree._Element]:
    return [e for e in found if etree.iselement(e)] if isinstance(found, list) else []


def _signed_properties(
    root: etree._Element, signature: etree._Element, reference: etree._Element
) -> etree._Element:
    uri = reference.get("URI") or ""
    identifier = uri.removeprefix("#")
    found = _elements(
        signature.xpath(
            "ds:Object/xades:QualifyingProperties/xades:SignedProperties[@Id=$id]",
            namespaces=NS,
            id=identifier,
        )
    )
    same_id = _elements(root.xpath("//*[@Id=$id]", id=identifier))
    # Only this signature's own SignedProperties, and an Id nothing else carries: no wrapping.
    if not uri.startswith("#") or len(found) != 1 or len(same_id) != 1:
        raise _invalid_signature(
            f"Element wskazywany przez referencję '{uri}' nie jest jedynym SignedProperties "
            "tego podpisu."
        )
    qualifying = found[0].getparent()
    signature_id = signature.get("Id")
    if signature_id and qualifying is not None and qualifying.get("Target") != f"#{signature_id}":
        raise _invalid_signature("QualifyingProperties/@Target nie wskazuje tego podpisu.")
    return found[0]


def _transforms(reference: etree._Element) -> list[etree._Element]:
    return reference.findall("ds:Transforms/ds:Transform", namespaces=NS)


def _canonical(element: etree._Element, transform: etree._Element | None) -> bytes:
    """Canonical octets of a same-document reference: comments never count (XML-DSig 4.3.3.3:
    URI="" and "#id" drop them, whatever the c14n says); C14N 1.0 when none is named."""
    if transform is None:
        return etree.tostring(element, method="c14n", exclusive=False, with_comments=False)
    algorithm = transform.get("Algorithm") or ""
    if algorithm not in C14N_METHODS:
        raise _invalid_signature(f"Transformata {algorithm} nie jest obsługiwana przez symulator.")
    exclusive, _ = C14N_METHODS[algorithm]
    prefixes = _inclusive_prefixes(transform) if exclusive else None
    return etree.tostring(
        element,
        method="c14n",
        exclusive=exclusive,
        with_comments=False,
        inclusive_ns_prefixes=prefixes,
    )


def _inclusive_prefixes(method: etree._Element) -> list[str] | None:
    for child in method:
        if etree.QName(child).localname == "InclusiveNamespaces":
            return (child.get("PrefixList") or "").split() or None
    return None


def _single_c14n(transforms: list[etree._Element]) -> etree._Element | None:
    if len(transforms) > 1:
        raise _invalid_signature("Po transformacie kanonikalizacji nie może być innych.")
    return transforms[0] if transforms else None


def _enveloped_document(
    root: etree._Element, signature: etree._Element, reference: etree._Element
) -> bytes:
    transforms = _transforms(reference)
    if not transforms or transforms[0].get("Algorithm") != ENVELOPED:
        raise _invalid_signature(
            "Referencja do dokumentu musi zaczynać się od transformaty enveloped-signature."
        )
    c14n = _single_c14n(transforms[1:])
    document = copy.deepcopy(root)
    enveloped = document[root.index(signature)]
    # The transform removes the Signature element only: the text after it stays.
    if enveloped.tail:
        previous = enveloped.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + enveloped.tail
        else:
            document.text = (document.text or "") + enveloped.tail
    document.remove(enveloped)
    return _canonical(document, c14n)


def _transformed(element: etree._Element, reference: etree._Element) -> bytes:
    return _canonical(element, _single_c14n(_transforms(reference)))


def _check_digest(reference: etree._Element, octets: bytes) -> None:
    algorithm = _one(reference, "ds:DigestMethod", "ds:DigestMethod").get("Algorithm") or ""
    if algorithm not in DIGEST_METHODS:
        raise _invalid_signature(f"Algorytm skrótu {algorithm} nie jest akceptowany.")
    expected = _b64decode(_one(reference, "ds:DigestValue", "ds:DigestValue").text, "DigestValue")
    actual = hashlib.new(DIGEST_METHODS[algorithm], octets).digest()
    if not hmac.compare_digest(expected, actual):
        target = reference.get("URI") or "dokument"
        raise _invalid_signature(
            f"Nieprawidłowa wartość skrótu dla referencji wskazującej na element '{target}'."
        )


def _check_signed_properties(properties: etree._Element, certificate: x509.Certificate) -> None:
    signing_time = child_text(properties, "xades:SignedSignatureProperties/xades:SigningTime", NS)
    try:
        datetime.fromisoformat(signing_time)
    except ValueError as exc:
        raise _invalid_signature("Brak lub nieprawidłowy SigningTime w SignedProperties.") from exc
    digests = _elements(
        properties.xpath(
            "xades:SignedSignatureProperties/xades:SigningCertificate/xades:Cert/xades:CertDigest"
            " | xades:SignedSignatureProperties/xades:SigningCertificateV2/xades:Cert"
            "/xades:CertDigest",
            namespaces=NS,
        )
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    for digest in digests:
        method = digest.find("ds:DigestMethod", namespaces=NS)
        algorithm = (
            DIGEST_METHODS.get(method.get("Algorithm") or "") if method is not None else None
        )
        value = _b64decode(child_text(digest, "ds:DigestValue", NS), "CertDigest")
        if algorithm and hmac.compare_digest(value, hashlib.new(algorithm, der).digest()):
            return
    raise _invalid_signature(
        "SigningCertificate nie zawiera skrótu certyfikatu, którym złożono podpis."
    )


def _check_signature_value(
    signature: etree._Element, signed_info: etree._Element, certificate: x509.Certificate
) -> None:
    c14n = _one(signed_info, "ds:CanonicalizationMethod", "ds:CanonicalizationMethod")
    algorithm = c14n.get("Algorithm") or ""
    if algorithm not in C14N_METHODS:
        raise _invalid_signature(f"Kanonikalizacja {algorithm} nie jest obsługiwana.")
    exclusive, with_comments = C14N_METHODS[algorithm]
    octets = etree.tostring(
        signed_info,
        method="c14n",
        exclusive=exclusive,
        with_comments=with_comments,
        inclusive_ns_prefixes=_inclusive_prefixes(c14n) if exclusive else None,
    )
    method = _one(signed_info, "ds:SignatureMethod", "ds:SignatureMethod").get("Algorithm") or ""
    if method not in SIGNATURE_METHODS:
        raise _invalid_signature(f"Algorytm podpisu {method} nie jest akceptowany.")
    key_type, digest = SIGNATURE_METHODS[method]
    value = _b64decode(
        _one(signature, "ds:SignatureValue", "ds:SignatureValue").text, "SignatureValue"
    )
    public_key = certificate.public_key()
    try:
        if key_type == "rsa" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(value, octets, padding.PKCS1v15(), digest)
            return
        if key_type == "ec" and isinstance(public_key, ec.EllipticCurvePublicKey):
            half = len(value) // 2
            r, s = int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            public_key.verify(encode_dss_signature(r, s), octets, ec.ECDSA(digest))
            return
    except InvalidSignature:
        raise _invalid_signature("Podpis zweryfikowany negatywnie.") from None
    raise _invalid_signature("Algorytm podpisu nie odpowiada kluczowi certyfikatu.")
