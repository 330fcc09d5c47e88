"""Each country's own rules, beyond EN 16931."""

from __future__ import annotations

from clearway.governments.be import rules as be
from clearway.governments.de import rules as de
from clearway.governments.fr import rules as fr
from clearway.governments.it import rules as it
from clearway.governments.pl import rules as pl
from clearway.governments.ro import rules as ro
from clearway.validation.findings import RuleSpec

RULES: tuple[RuleSpec, ...] = (*ro.RULES, *it.RULES, *be.RULES, *pl.RULES, *fr.RULES, *de.RULES)
