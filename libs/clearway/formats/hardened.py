"""The one way Clearway's libraries parse XML they did not write: lxml with what hostile XML
abuses turned off (entity expansion, DTDs, the network, huge trees)."""

from __future__ import annotations

from lxml import etree


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
