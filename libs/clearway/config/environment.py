"""Reading the environment: the one place Clearway does (nothing reads it at import time).

A group of settings (one government's, the webhooks') is a SettingsGroup: its fields are
named for Python and each is set by one environment variable, its validation alias, which a
group with a `variable_prefix` derives from the field's name (ANAF_ + live_client_id is
ANAF_LIVE_CLIENT_ID). `Settings.from_env()` (clearway.config) reads every group when a process
starts; a group a library needs without the rest is read on its own with `<Group>.from_env()`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, NamedTuple, Self, TypeVar

from pydantic import AliasGenerator, BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

M = TypeVar("M", bound=BaseModel)


class SettingsError(ValueError):
    """The environment sets something Clearway cannot use; names the variables, never a value
    (a value may be a secret)."""


class Variable(NamedTuple):
    """One environment variable Clearway reads: what `variables()` lists."""

    name: str  # the environment variable
    path: str  # where it lands in Settings: "anaf.live_client_id"
    description: str
    default: Any  # None: unset (or, for a derived default, the description says what it is)
    required: bool


def _group_of(info: FieldInfo) -> type[SettingsGroup] | None:
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, SettingsGroup):
        return annotation
    return None


def _variable_of(info: FieldInfo) -> str:
    if not isinstance(info.validation_alias, str):
        raise TypeError("every setting names its environment variable as its validation_alias")
    return info.validation_alias


def environment_values(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    """What `environ` sets of `model`'s fields, nested as the model is, keyed by variable."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        group = _group_of(info)
        if group is not None:
            nested = environment_values(group, environ)
            if nested:
                values[name] = nested
            continue
        variable = _variable_of(info)
        if variable in environ:
            values[variable] = environ[variable]
    return values


def model_variables(model: type[BaseModel], prefix: str = "") -> Iterator[Variable]:
    """The variables `model` reads, nested groups included, in declaration order."""
    for name, info in model.model_fields.items():
        group = _group_of(info)
        if group is not None:
            yield from model_variables(group, f"{prefix}{name}.")
            continue
        required = info.is_required()
        yield Variable(
            name=_variable_of(info),
            path=f"{prefix}{name}",
            description=info.description or "",
            default=None if required else info.get_default(call_default_factory=True),
            required=required,
        )


def variable(model: type[BaseModel], field_name: str) -> str:
    """The environment variable that sets `model.field_name`."""
    return _variable_of(model.model_fields[field_name])


# The environment the Settings composite's own source reads: the process's, unless from_env was
# given another (pydantic-settings runs its sources on every validation, model_validate included).
_environment: ContextVar[Mapping[str, str] | None] = ContextVar("environment", default=None)


def current_environment() -> Mapping[str, str]:
    """The environment being validated: the one from_env was given, else the process's."""
    environ = _environment.get()
    return os.environ if environ is None else environ


def validate_environment(model: type[M], environ: Mapping[str, str] | None) -> M:
    """`model` as `environ` (the process environment by default) sets it; SettingsError names
    each variable at fault."""
    environ = os.environ if environ is None else environ
    token = _environment.set(environ)
    try:
        return model.model_validate(environment_values(model, environ))
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None
    finally:
        _environment.reset(token)


def _explain(error: ValidationError) -> str:
    """The variables at fault and what is wrong with each, without their values."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        named = [part for part in problem["loc"] if isinstance(part, str) and part.isupper()]
        if problem["type"] == "missing" and named:
            lines.append(f"{named[-1]} is not set")
        elif named:
            lines.append(f"{named[-1]}: {problem['msg']}")
        else:
            lines.append(problem["msg"].removeprefix("Value error, "))
    return "Clearway's configuration is invalid: " + "; ".join(lines)


def variable_prefix(prefix: str) -> ConfigDict:
    """A group's config when its variables are `prefix` + the field's name in capitals, so
    each setting states its name once."""
    return ConfigDict(
        alias_generator=AliasGenerator(validation_alias=lambda name: prefix + name.upper())
    )


class SettingsGroup(BaseModel):
    """A group of settings (one government's, the webhooks'): fields named for Python, each
    with its environment variable as validation alias."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """This group alone, for a library that needs it without the rest of Settings."""
        return validate_environment(cls, environ)
