"""Reading XML from callers: a hardened parser and the lookups the simulators share."""

from __future__ import annotations

from collections.abc import Mapping

from clearway.formats.hardened import hardened_parser
from lxml import etree


class UntrustedXmlError(Exception):
    """The bytes are not a well-formed XML document the simulators agree to read."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def hardened_xml_parser(*, remove_pis: bool = False) -> etree.XMLParser:
    """lxml's parser with what hostile XML abuses turned off: DTDs, entity expansion, the
    network and huge trees (Clearway's own: clearway.formats.hardened)."""
    return hardened_parser(remove_pis=remove_pis)


def parse_untrusted_xml(body: bytes) -> etree._Element:
    """Parse XML from a caller: no DTD at all, no entity expansion, no network, no huge trees.

    A DOCTYPE is refused outright, by a byte scan before parsing and again after parsing in case
    an encoding (UTF-16) hid it from the scan; with entity resolution off, nothing declared in
    it is ever expanded on the way.
    """
    if b"<!DOCTYPE" in body:
        raise UntrustedXmlError("DOCTYPE is not allowed")
    try:
        root = etree.fromstring(body, hardened_xml_parser(remove_pis=True))
    except etree.XMLSyntaxError as exc:
        raise UntrustedXmlError(exc.msg, exc.lineno) from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise UntrustedXmlError("DOCTYPE is not allowed")
    return root


def child_text(element: etree._Element | None, path: str, namespaces: Mapping[str, str]) -> str:
    """The stripped text at `path` under `element`, or "" when absent."""
    if element is None:
        return ""
    found = element.find(path, namespaces=dict(namespaces))
    return (found.text or "").strip() if found is not None else ""
