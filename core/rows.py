"""Model instances from the rows of a plain SQL statement, as the ORM makes them, for the few reads
on the path of every call (the API token, a session's grant) where compiling a queryset costs more
than running it. The statement is written once per process; each row becomes instances through
`Model.from_db` with the fields' own converters (what the ORM applies: JSON text decoded, SQLite's
dates and booleans), so they behave as the ORM's: saved state, deferred fields read on access.

https://docs.djangoproject.com/en/5.2/ref/models/instances/#customizing-model-loading"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, ForeignObject, Model

Converter = Callable[[Any, Any, Any], Any]


class Columns:
    """Some columns of one model, read under a table alias: in the model's field order (what
    `Model.from_db` expects), each with the converters the ORM would apply to it. Every column not
    named is deferred on the instances, as `.only()` defers it."""

    def __init__(self, model: type[Model], attnames: Iterable[str], *, alias: str) -> None:
        wanted = set(attnames)
        fields = [field for field in model._meta.concrete_fields if field.attname in wanted]
        missing = wanted - {field.attname for field in fields}
        if missing:
            raise ValueError(f"{model.__name__} has no column {sorted(missing)}")
        quote = connection.ops.quote_name
        self.model = model
        self.alias = alias
        self.names = frozenset(field.attname for field in fields)
        self.width = len(fields)
        self.sql = ", ".join(f"{alias}.{quote(_column(field))}" for field in fields)
        self.converters: list[tuple[int, list[Converter], Any]] = []
        for index, field in enumerate(fields):
            column = field.get_col(alias)
            converters = [
                *connection.ops.get_db_converters(column),
                *column.get_db_converters(connection),
            ]
            if converters:
                self.converters.append((index, converters, column))

    def column(self, attname: str) -> str:
        """The quoted column `attname` under this alias, for the statement's joins and filters."""
        field = next(f for f in self.model._meta.concrete_fields if f.attname == attname)
        return f"{self.alias}.{connection.ops.quote_name(_column(field))}"

    def instance(self, row: Sequence[Any], start: int = 0) -> Any:
        """The instance of `row[start:start + width]`, saved and read from the default database."""
        values = list(row[start : start + self.width])
        for index, converters, column in self.converters:
            value = values[index]
            for converter in converters:
                value = converter(value, column, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.names, values)


def table(model: type[Model]) -> str:
    """The model's table, quoted for the default database."""
    return connection.ops.quote_name(model._meta.db_table)


def related_model(model: type[Model], name: str) -> type[Model]:
    """The model the relation `name` of `model` points to."""
    return relation(model, name).related_model


def relation(model: type[Model], name: str) -> ForeignObject:
    """The forward relation (foreign key, one-to-one) `name` of `model`."""
    field = model._meta.get_field(name)
    if not isinstance(field, ForeignObject):
        raise TypeError(f"{model.__name__}.{name} is no foreign key")
    return field


def link(instance: Model, name: str, related: Model, *, both_ways: bool = False) -> None:
    """`instance.<name>` is `related`, with no query, as select_related links them; `both_ways`
    also sets the reverse side of a one-to-one (`related.<related_name>` is `instance`)."""
    field = relation(type(instance), name)
    field.set_cached_value(instance, related)
    if both_ways:
        field.remote_field.set_cached_value(related, instance)


def _column(field: Field) -> str:
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column
