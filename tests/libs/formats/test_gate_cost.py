"""The gate's cost per document, beside one raw saxonche transform of the CEN UBL stylesheet.

Slow (deselected by default); run with `pytest -m slow tests/libs/formats/test_gate_cost.py -s`.
For each country and format: the median, over RUNS checks, of every gate of the format on one
document (the corpus invoice with several rates, a discount and an attachment), and the median of
a bare transform (parse + transform, no hardening, no SVRL parsing) of the CEN EN 16931 UBL
stylesheet on the UBL rendering of the same invoice.
"""

from __future__ import annotations

import importlib.resources
import statistics
import time
from collections.abc import Callable

import pytest
from clearway.formats import FORMATS, check, gates_for, render
from clearway.formats.conformance import CEN_UBL_PACKAGE, CEN_UBL_STYLESHEET
from saxonche import PySaxonProcessor

from tests.libs.formats.corpus import invoice

RUNS = 200


def median_ms(action: Callable[[], object]) -> float:
    action()  # warm up
    timings = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


@pytest.mark.slow
def test_gate_cost_per_document() -> None:
    processor = PySaxonProcessor(license=False)
    stylesheet = importlib.resources.files(CEN_UBL_PACKAGE).joinpath(*CEN_UBL_STYLESHEET)
    cen = processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_text=stylesheet.read_text(encoding="utf-8")
    )
    rows = []
    for country, name in FORMATS:
        if country not in {"BE", "DE", "FR", "RO"}:
            continue
        request = invoice(country, "multiple_rates_discount_attachment")
        document = render(request, invoice_number="INV-2026-0001", country=country, format=name)
        gates_for(country, name)  # compiled before timing
        gate_ms = median_ms(lambda document=document, country=country: check(country, document))
        ubl = render(request, invoice_number="INV-2026-0001", country=country).xml.decode()
        raw_ms = median_ms(
            lambda ubl=ubl: cen.transform_to_string(xdm_node=processor.parse_xml(xml_text=ubl))
        )
        rows.append((country, name, len(document.xml), gate_ms, raw_ms))
    table = [
        f"{'country':8}{'format':16}{'bytes':>7}{'gates ms':>10}{'raw CEN ms':>12}{'ratio':>7}"
    ]
    for country, name, size, gate_ms, raw_ms in rows:
        ratio = gate_ms / raw_ms
        table.append(f"{country:8}{name:16}{size:>7}{gate_ms:>10.2f}{raw_ms:>12.2f}{ratio:>7.2f}")
        assert gate_ms > 0
        assert raw_ms > 0
    print("\n" + "\n".join(table))  # noqa: T201
