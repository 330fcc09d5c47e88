"""Changing a platform's metadata after the fact (PATCH /v1/received-invoices/{id}): a JSON
merge patch (RFC 7396) of string pairs, under the same limits as an invoice's metadata
(clearway.domain.invoice: keys 1-40 characters, values up to 500, at most 50 pairs).

A key given a string is set, a key given null is removed, a key left out is kept; `{}` changes
nothing. The patch may itself hold at most 50 keys, and what it leaves must too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from clearway.domain.invoice import (
    MAX_METADATA_PAIRS,
    METADATA_VALUE_SCHEMA,
    MetadataKey,
    MetadataValue,
    metadata_keys_schema,
)


def _patch_schema(schema: dict[str, Any]) -> None:
    metadata_keys_schema(schema)
    schema["additionalProperties"] = {"anyOf": [METADATA_VALUE_SCHEMA, {"type": "null"}]}


MetadataPatch = Annotated[
    dict[MetadataKey, MetadataValue | None],
    Field(max_length=MAX_METADATA_PAIRS, json_schema_extra=_patch_schema),
]


class TooManyPairsError(ValueError):
    """The patch would leave more pairs than metadata may hold."""

    def __init__(self, pairs: int) -> None:
        super().__init__(
            f"The metadata would hold {pairs} pairs; at most {MAX_METADATA_PAIRS} are allowed. "
            "Remove keys by setting them to null."
        )
        self.pairs = pairs


def patched(current: Mapping[str, str], patch: Mapping[str, str | None]) -> dict[str, str]:
    """`current` with `patch` merged in; TooManyPairsError when the result is too large."""
    result = {key: value for key, value in current.items() if key not in patch}
    result.update({key: value for key, value in patch.items() if value is not None})
    if len(result) > MAX_METADATA_PAIRS:
        raise TooManyPairsError(len(result))
    return result
