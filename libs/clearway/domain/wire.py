"""The base of every model whose JSON is public (API requests and answers, events, webhooks):
snake_case in Python, camelCase on the wire.

Python code builds and reads these models by their snake_case names; JSON is read and written
under the camelCase alias (`vat_number` is `vatNumber`), and so is the OpenAPI schema. A field
whose wire name is not the camelCase of its Python name declares its own `alias`.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

WIRE_CONFIG = ConfigDict(
    alias_generator=to_camel,
    validate_by_name=True,  # Python code constructs the models by their snake_case names
    validate_by_alias=True,
    serialize_by_alias=True,  # model_dump() and model_dump_json() write the wire names
)


class WireModel(BaseModel):
    model_config = WIRE_CONFIG


WireT = TypeVar("WireT", bound=BaseModel)


def parse_wire_json(model: type[WireT], raw: str | bytes) -> WireT:
    """A client's JSON: wire names only, so a snake_case key stays an unknown field (refused
    where the model forbids extra fields), exactly as before the models had Python names."""
    return model.model_validate_json(raw, by_name=False)


class WireBody(WireModel):
    """A request body FastAPI parses: wire names only, as parse_wire_json reads the others, so a
    snake_case key is an unknown field and refused like any other."""

    model_config = ConfigDict(extra="forbid", validate_by_name=False)
