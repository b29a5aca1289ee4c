"""The emitted SQL parses with a real SQL parser (sqlglot) in each engine's dialect.

sqlglot does not know every Redshift statement (``CREATE EXTERNAL SCHEMA`` falls back to an
unparsed command, which is not accepted here as a check); everything else must parse as the
statement it is meant to be, and every function in the views must be one the dialect knows.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from careplus_spark.exposure import ddl, views
from tests.unit.exposure.sample_tables import FCT_LOGS, TABLES

DIALECT = {"spark": "spark", "athena": "athena", "redshift": "redshift"}
NAMES = {"spark": {"gold": "gold"}, "athena": {"gold": "careplus_gold"}, "redshift": {"gold": "careplus"}}
VIEW_SCHEMA = {"spark": None, "athena": None, "redshift": "careplus_views"}


def parse(sql: str, dialect: str) -> Any:
    parsed = sqlglot.parse_one(sql, read=dialect)
    assert not isinstance(parsed, exp.Command), f"{dialect} did not parse: {sql[:80]}"
    return parsed


@pytest.mark.parametrize("target", ["athena", "athena-delta"])
@pytest.mark.parametrize("table", sorted(TABLES))
def test_athena_ddl_parses_as_a_hive_create_table(target: str, table: str) -> None:
    (statement,) = ddl.statements(ddl.render(TABLES[table], target, database="careplus_gold"))  # type: ignore[arg-type]
    parsed = parse(statement, "athena")
    assert isinstance(parsed, exp.Create) and parsed.kind == "TABLE"
    created = parsed.find(exp.Table)
    assert created is not None and (created.db, created.name) == ("careplus_gold", table)


def test_athena_ddl_declares_the_columns_and_the_partition_column() -> None:
    (statement,) = ddl.statements(ddl.render(FCT_LOGS, "athena", database="careplus_gold"))
    parsed = parse(statement, "athena")
    declared = [c.name for c in parsed.find_all(exp.ColumnDef)]
    assert declared == [c.name for c in (*FCT_LOGS.columns, *FCT_LOGS.partition_columns)]


def test_spectrum_table_and_partitions_parse_as_redshift() -> None:
    _schema, table, *partitions = ddl.statements(ddl.render(FCT_LOGS, "spectrum", database="careplus_gold"))
    assert isinstance(parse(table, "redshift"), exp.Create)
    assert [type(parse(p, "redshift")) for p in partitions] == [exp.Alter, exp.Alter]


@pytest.mark.parametrize("dialect", sorted(DIALECT))
@pytest.mark.parametrize("name", [v.name for v in views.VIEWS])
def test_each_view_parses_as_create_view_with_known_functions_only(dialect: str, name: str) -> None:
    sql = views.render(views.view(name), dialect, NAMES[dialect], view_schema=VIEW_SCHEMA[dialect])
    parsed = parse(sql, DIALECT[dialect])
    assert isinstance(parsed, exp.Create) and parsed.kind == "VIEW"
    assert [f.sql(DIALECT[dialect]) for f in parsed.find_all(exp.Anonymous)] == []


@pytest.mark.parametrize("name", [v.name for v in views.VIEWS])
def test_each_view_has_the_same_columns_and_inputs_in_every_dialect(name: str) -> None:
    shapes: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    for dialect in DIALECT:
        sql = views.render(views.view(name), dialect, NAMES[dialect], view_schema=VIEW_SCHEMA[dialect])
        query = parse(sql, DIALECT[dialect]).expression
        tables = tuple(sorted(t.name for t in query.find_all(exp.Table)))
        shapes.add((tuple(query.named_selects), tables))
    assert len(shapes) == 1
    ((_columns, tables),) = shapes
    assert tables == tuple(sorted(i.split(".")[1] for i in views.view(name).inputs))
