"""The one way Clearway's libraries parse XML they did not write: lxml with what hostile XML
abuses turned off (entity expansion, DTDs, the network, huge trees)."""

from __future__ import annotations

from lxml import etree


class UnreadableDocumentError(ValueError):
    """A document Clearway cannot read: not well-formed XML, a DTD (never legitimate in an
    e-invoice), not the format it should be, or content the invoice model cannot hold. The
    message says which, for the person who sent it."""


def hardened_parser(*, remove_pis: bool = False) -> etree.XMLParser:
    # A new parser each time: lxml parsers are not to be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=remove_pis,
    )


def hardened_tree(xml: bytes) -> etree._ElementTree:
    """The document as lxml reads it with `hardened_parser`; UnreadableDocumentError when it is
    not well-formed or declares a DTD."""
    try:
        tree = etree.ElementTree(etree.fromstring(xml, hardened_parser()))
    except etree.XMLSyntaxError as error:
        raise UnreadableDocumentError(f"The document is not well-formed XML: {error}") from error
    if tree.docinfo.internalDTD is not None:  # set by any DOCTYPE, even with load_dtd off
        raise UnreadableDocumentError("The document declares a DTD, which e-invoices never do.")
    return tree
