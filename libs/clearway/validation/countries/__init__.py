"""Each country's own rules, beyond EN 16931."""

from __future__ import annotations

from clearway.validation.countries import be, de, fr, it, pl, ro
from clearway.validation.findings import RuleSpec

RULES: tuple[RuleSpec, ...] = (*ro.RULES, *it.RULES, *be.RULES, *pl.RULES, *fr.RULES, *de.RULES)
