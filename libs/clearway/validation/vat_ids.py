"""VAT identification numbers checked by the scheme of the state that issued them.

A party's number is read by its prefix (RO…, IT…, BE…, PL…, FR…, DE…); a number without a prefix
by the party's country; the rule ids and the adjective are the issuing state's Government's.
Numbers of other states are left to VIES, which Clearway does not call. A malformed number is
always an error; a well-formed number whose check digit does not match is an error for live keys
and a warning in the sandbox (DESIGN.md, Findings).
"""

from __future__ import annotations

from collections.abc import Iterator

from clearway.countries.vat_numbers import VAT_NUMBER_SCHEMES
from clearway.domain.invoice import InvoiceRequest
from clearway.governments import GOVERNMENTS
from clearway.validation.common import parties, vat_country
from clearway.validation.findings import Finding, RuleContext, RuleSpec, error, every_country


@every_country
def vat_number_check_digits(invoice: InvoiceRequest, context: RuleContext) -> Iterator[Finding]:
    for role, party in parties(invoice):
        issuer = vat_country(party, invoice)
        scheme = VAT_NUMBER_SCHEMES.get(issuer)
        government = GOVERNMENTS.get(issuer)
        if scheme is None or government is None:
            continue
        malformed_rule, check_digit_rule = government.vat_id_rules
        pointer = f"/{role}/vatNumber"
        adjective = government.adjective
        if not scheme.is_well_formed(party.vat_number):
            yield error(
                malformed_rule,
                pointer,
                f"{party.vat_number} is not a {adjective} VAT number ({scheme.shape}).",
                f"Send the {role}'s VAT number as {scheme.shape}, e.g. {scheme.example}.",
            )
        elif not scheme.is_valid(party.vat_number):
            yield context.check_digits_wrong(
                check_digit_rule,
                pointer,
                f"{party.vat_number}: the {scheme.checked} of this {adjective} VAT number "
                "does not match, so the number has a typo or does not exist.",
                f"Copy the {role}'s VAT number from its registration certificate or VIES.",
            )


RULES: tuple[RuleSpec, ...] = (vat_number_check_digits,)
