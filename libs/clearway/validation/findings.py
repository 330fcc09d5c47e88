"""What a rule reports, and what every rule module builds on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from clearway.domain.invoice import InvoiceRequest


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity
    pointer: str
    message: str
    fix: str


class ValidationReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    findings: tuple[Finding, ...]
    rules_checked: int

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)


@dataclass(frozen=True)
class RuleContext:
    # Identifier check digits are errors for live keys, warnings in the sandbox, so that the
    # seeds' placeholder identifiers still run end to end there.
    livemode: bool
    # When the rules run (UTC): what "in the future" means to a rule. Given, so rules stay pure.
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def check_digit_severity(self) -> Severity:
        return Severity.ERROR if self.livemode else Severity.WARNING

    def check_digits_wrong(self, rule: str, pointer: str, message: str, fix: str) -> Finding:
        """An identifier whose check digits do not match, at `check_digit_severity`."""
        return Finding(
            rule=rule, severity=self.check_digit_severity, pointer=pointer, message=message, fix=fix
        )


Rule = Callable[[InvoiceRequest, RuleContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule and the invoice countries it applies to (None: every country)."""

    check: Rule
    countries: frozenset[str] | None = None

    def applies_to(self, country: str) -> bool:
        return self.countries is None or country in self.countries

    def __call__(self, invoice: InvoiceRequest, context: RuleContext) -> Iterable[Finding]:
        return self.check(invoice, context)


def for_countries(*countries: str) -> Callable[[Rule], RuleSpec]:
    """Decorator: the rule runs only on invoices filed in one of `countries`."""

    def scope(check: Rule) -> RuleSpec:
        return RuleSpec(check, frozenset(countries))

    return scope


def every_country(check: Rule) -> RuleSpec:
    return RuleSpec(check)


def error(rule: str, pointer: str, message: str, fix: str) -> Finding:
    return Finding(rule=rule, severity=Severity.ERROR, pointer=pointer, message=message, fix=fix)


def warning(rule: str, pointer: str, message: str, fix: str) -> Finding:
    return Finding(rule=rule, severity=Severity.WARNING, pointer=pointer, message=message, fix=fix)
