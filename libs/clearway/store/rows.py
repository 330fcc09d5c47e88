"""What the store's owner modules share: the columns a caller changes, the conditions of a
query, and the reads every API resource makes the same way (one row of an account's, a page
newest first). Nothing here writes a table: an UPDATE stays in its table's owner, which puts in
the assignments `Changes` gives."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection

# The API lists newest first, and pages on this key (the id breaks ties).
NEWEST_FIRST = "ORDER BY created_at DESC, id DESC"


class Changes(BaseModel):
    """Columns of a row to set; only the fields given are written (None given clears)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


def assignments(columns: dict[str, Any], start: int) -> str:
    """`name = $start, …, ` for an UPDATE's SET: the columns' values are its arguments from
    `start` on, in their order."""
    return "".join(f"{name} = ${i}, " for i, name in enumerate(columns, start=start))


class ManyRows:
    """Rows an owner inserts in one statement: `INSERT INTO table (columns) {select} …` with
    `arrays` for its arguments (one array per column, unnested). `types` maps each column, in
    the rows' order, to its SQL type; a jsonb value goes as JSON text (asyncpg would take a
    list in it for a dimension of the array)."""

    def __init__(self, types: dict[str, str], rows: Sequence[Sequence[Any]]) -> None:
        self.columns = ", ".join(types)
        self.arrays: list[list[Any]] = []
        unnested: list[str] = []
        selected: list[str] = []
        for i, sql_type in enumerate(types.values()):
            values = [row[i] for row in rows]
            if sql_type == "jsonb":
                values = [None if v is None else json.dumps(v) for v in values]
                unnested.append(f"${i + 1}::text[]")
                selected.append(f"c{i}::jsonb")
            else:
                unnested.append(f"${i + 1}::{sql_type}[]")
                selected.append(f"c{i}")
            self.arrays.append(values)
        aliases = ", ".join(f"c{i}" for i in range(len(types)))
        self.select = (
            f"SELECT {', '.join(selected)} "  # noqa: S608 - the names and types are ours
            f"FROM unnest({', '.join(unnested)}) AS u({aliases})"
        )


class Where:
    """The conditions of a query, ANDed; each `?` is the next value given, numbered $1, $2…"""

    def __init__(self, condition: str = "", *values: Any) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []
        if condition:
            self.add(condition, *values)

    def add(self, condition: str, *values: Any) -> Self:
        parts = condition.split("?")
        if len(parts) != len(values) + 1:
            raise ValueError(f"{condition!r} takes {len(parts) - 1} values, not {len(values)}")
        text = parts[0]
        for value, rest in zip(values, parts[1:], strict=True):
            self.args.append(value)
            text += f"${len(self.args)}{rest}"
        self.conditions.append(text)
        return self

    def add_if(self, condition: str, value: Any) -> Self:
        """`condition` on `value` when one is given: a filter left out (None, empty) leaves the
        query as it is."""
        return self.add(condition, value) if value else self

    def containing(self, text: str | None, *columns: str) -> Self:
        """Rows in which any of `columns` (names of ours) contains `text`, in any case, its
        wildcards taken literally; all rows when no text is given."""
        if not text:
            return self
        pattern = like_pattern(text)
        either = " OR ".join(f"{column} ILIKE ?" for column in columns)
        return self.add(f"({either})", *(pattern for _ in columns))

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions)

    def copy(self) -> Where:
        copied = Where()
        copied.conditions, copied.args = list(self.conditions), list(self.args)
        return copied


class ListingFilter(BaseModel):
    """What an API listing narrows an account's rows of one mode to; every field given must
    match. A listing adds the filters of its own."""

    model_config = ConfigDict(frozen=True)

    country: str | None = None
    company_id: str | None = None
    search: str | None = None  # a substring of any of the columns the listing searches
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    metadata: dict[str, str] = {}  # every pair must be in the row's metadata

    def where(self, account_id: str, *, livemode: bool, searched: tuple[str, ...]) -> Where:
        """The account's rows of the mode that these filters keep; `search` looks in the
        columns `searched` (names of ours)."""
        where = Where("account_id = ?", account_id).add("livemode = ?", livemode)
        where.add_if("country = ?", self.country)
        where.add_if("company_id = ?", self.company_id)
        where.containing(self.search, *searched)
        where.add_if("created_at >= ?", self.created_from)
        where.add_if("created_at <= ?", self.created_to)
        return where.add_if("metadata @> ?", self.metadata)


def owned(row_id: str, account_id: str, *, livemode: bool | None = None) -> Where:
    """The row `row_id` when it is the account's (and of that mode, when given): any other
    answers like a missing one."""
    where = Where("id = ?", row_id).add("account_id = ?", account_id)
    return where if livemode is None else where.add("livemode = ?", livemode)


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def one_row(conn: Connection, table: str, where: Where, *, for_update: bool = False) -> Any:
    """The row of `table` (a name of ours) that `where` picks, locked when asked; or None."""
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM {table} WHERE {where.sql}{lock}",  # noqa: S608 - names are ours
        *where.args,
    )


async def newest_first(  # noqa: PLR0913 - the listing's parts
    conn: Connection,
    table: str,
    where: Where,
    *,
    before: tuple[dt.datetime, str] | None = None,
    limit: int | None = None,
    columns: str = "*",
) -> list[Any]:
    """The rows of `table` (a name of ours) that `where` picks, newest first: after the keyset
    position `before` (created_at, id) when given, at most `limit` when given; `columns` (names
    of ours) when not all of them."""
    page = where.copy()
    if before is not None:
        page.add("(created_at, id) < (?, ?)", *before)
    sql = f"SELECT {columns} FROM {table} WHERE {page.sql} {NEWEST_FIRST}"  # noqa: S608 - ours
    args = page.args
    if limit is not None:
        args = [*args, limit]
        sql += f" LIMIT ${len(args)}"
    return list(await conn.fetch(sql, *args))
