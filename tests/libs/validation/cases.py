"""Variations of the clean bodies: set or delete fields by JSON pointer."""

from __future__ import annotations

import copy
from typing import Any

from tests.libs.validation.bodies import Body, clean_body, found

# A case's changes to the clean body (JSON pointer: new value, or DELETE), and the finding a
# broken rule gives (rule id, JSON pointer).
Changes = dict[str, Any]
Hit = tuple[str, str]

DELETE = object()  # as a value in `changes`: remove the field


def _parent(body: Body, pointer: str) -> tuple[Any, str | int]:
    *path, last = pointer.strip("/").split("/")
    node: Any = body
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, int(last) if isinstance(node, list) else last


def mutated(country: str, changes: dict[str, Any]) -> Body:
    """The clean body of `country` with each pointer set to its value (or deleted)."""
    body = clean_body(country)
    for pointer, value in changes.items():
        node, key = _parent(body, pointer)
        if value is DELETE:
            del node[key]
        else:
            node[key] = copy.deepcopy(value)
    return body


def pointer_parent_exists(body: Body, pointer: str) -> bool:
    """Whether a finding's pointer lands in the body: its parent object or list is there."""
    if pointer.count("/") == 1:
        return True
    try:
        _parent(body, pointer)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def assert_triggers_at_its_pointer(country: str, changes: Changes, expected: Hit) -> None:
    """The changed clean body breaks the rule, reported at a pointer into the body."""
    body = mutated(country, changes)
    assert expected in found(body)
    assert pointer_parent_exists(body, expected[1])
