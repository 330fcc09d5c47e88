"""What a government's error message means, in plain English, and what to change in the JSON.

One catalogue per government (its errors.py, through Government.messages()), each a list of
the messages that government really sends, matched by pattern: the rule id when there is one
(ANAF's "[BR-RO-100]-…"), else the words. A message no entry matches still gets a generic
translation (with the English part ANAF often appends after '#', when present) and
`known=False`, so the caller can log it for the catalogue. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from clearway.translation.catalogue import Entry, entries_for, government_name, party_of

__all__ = ["Entry", "TranslatedErrors", "Translation", "translate", "translate_all"]

# ANAF's schematron messages: "[BR-RO-100]-Romanian text\n\t\t#English text".
_ENGLISH_AFTER_HASH = re.compile(r"#\s*(?P<english>[^#]+?)\s*$", re.DOTALL)


class Translation(BaseModel):
    model_config = ConfigDict(frozen=True)

    original: str
    english: str
    fix: str
    pointer: str | None  # JSON pointer of the field to change, when the message names one
    code: str | None  # the rule id or catalogue key that matched
    known: bool  # False: a generic translation; the message belongs in the catalogue

    def public(self) -> dict[str, object]:
        return {
            "message": self.original,
            "translated": self.english,
            "fix": self.fix,
            "pointer": self.pointer,
            "rule": self.code,
        }


class TranslatedErrors(BaseModel):
    """Several messages as the invoice's three error fields, and each one's details."""

    model_config = ConfigDict(frozen=True)

    message: str  # errorMessage: the government's own words
    translated: str  # errorTranslated
    fix: str  # errorFix
    details: tuple[Translation, ...]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def translate(country: str, message: str) -> Translation:
    text = message.strip()
    for entry in entries_for(country):
        match = entry.pattern.search(text)
        if match is not None:
            groups = {"party": party_of(text)}
            groups.update({k: v for k, v in match.groupdict().items() if v is not None})
            return Translation(
                original=text,
                english=entry.english.format(**groups),
                fix=entry.fix.format(**groups),
                pointer=entry.pointer.format(**groups) if entry.pointer else None,
                code=entry.code,
                known=True,
            )
    return _generic(country, text)


def _generic(country: str, text: str) -> Translation:
    government = government_name(country)
    english_part = _ENGLISH_AFTER_HASH.search(text) if "#" in text else None
    if english_part is not None:
        english = f"{government}: {_one_line(english_part.group('english'))}"
    else:
        english = f"{government} answered, in its own words: “{_one_line(text)}”."
    return Translation(
        original=text,
        english=english,
        fix="Correct what the message names and send the invoice again; if it names nothing in "
        "your invoice, contact Clearway support with the invoice id.",
        pointer=None,
        code=None,
        known=False,
    )


def translate_all(country: str, messages: Iterable[str]) -> TranslatedErrors:
    details = tuple(translate(country, m) for m in messages if m.strip())
    if not details:
        details = (_generic(country, "no reason given"),)
    return TranslatedErrors(
        message="; ".join(_one_line(d.original) for d in details),
        translated=" ".join(_dedup(d.english for d in details)),
        fix=" ".join(_dedup(d.fix for d in details)),
        details=details,
    )


def _dedup(texts: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for text in texts:
        if text not in seen:
            seen.append(text)
    return seen
