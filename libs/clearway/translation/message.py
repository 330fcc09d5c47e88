"""A catalogue row: a message a government sends, and what Clearway tells the caller about it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    code: str  # the government's rule id or error code, else the catalogue's own key
    pattern: str  # a regular expression found in the message (case-insensitive)
    english: str  # what it means; `{name}` takes the pattern's named group
    fix: str  # what to change, naming the JSON pointer where one applies
    pointer: str | None = None  # `{party}` is supplier or customer, as the message says
