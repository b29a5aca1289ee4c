"""DDL for Athena, Redshift Spectrum and Athena's Delta reader (careplus_spark.exposure.ddl).

The DDL of ``fct_tickets`` and ``fct_logs`` (two partitions) is compared with golden files in
``tests/data/ddl/<target>/<table>.sql``. After an intended change, regenerate them with

    CAREPLUS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/exposure -q

and review ``git diff tests/data/ddl``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from careplus_spark.errors import CarePlusError, ExposureError
from careplus_spark.exposure import ddl
from careplus_spark.exposure.model import HIVE_NULL_PARTITION, Column, ExposedTable, Partition
from careplus_spark.gold.models import FCT_LOGS_COLUMNS, FCT_TICKETS_COLUMNS
from tests.unit.exposure import golden
from tests.unit.exposure.sample_tables import FCT_LOGS, FCT_TICKETS, TABLES

ROLE = "arn:aws:iam::123456789012:role/careplus-spectrum"


def render(table: ExposedTable, target: str, **kwargs: str) -> str:
    options = {"database": "careplus_gold", "spectrum_schema": "careplus", "iam_role": ROLE, **kwargs}
    return ddl.render(table, target, **options)  # type: ignore[arg-type]


def test_the_sample_tables_have_the_gold_models_columns() -> None:
    assert [c.name for c in FCT_TICKETS.columns if not c.name.startswith("_")] == [
        c for c in FCT_TICKETS_COLUMNS if c != "is_open"
    ]
    assert [c.name for c in FCT_LOGS.columns if not c.name.startswith("_")] == [
        c for c in FCT_LOGS_COLUMNS if c != "log_date"
    ]


@pytest.mark.parametrize("target", ddl.TARGETS)
@pytest.mark.parametrize("table", sorted(TABLES))
def test_ddl_matches_the_golden_file(target: str, table: str) -> None:
    golden.check(f"{target}/{table}.sql", render(TABLES[table], target))


def test_athena_puts_partition_columns_only_in_partitioned_by() -> None:
    text = render(FCT_LOGS, "athena")
    columns, partitioned = text.split("PARTITIONED BY")
    assert "`log_date`" not in columns
    assert "`log_date` DATE" in partitioned


def test_athena_projects_a_date_partition_from_the_first_partition_to_now() -> None:
    later_first = replace(FCT_LOGS, partitions=tuple(reversed(FCT_LOGS.partitions)))
    text = render(later_first, "athena")
    assert "'projection.log_date.range'='2025-07-01,NOW'" in text
    assert (
        "'storage.location.template'="
        "'s3://careplus-lake/lakehouse/gold/fct_logs/_symlink_format_manifest/log_date=${log_date}'"
    ) in text


def test_athena_explains_partition_projection_in_comments_without_statements() -> None:
    comments = [line for line in render(FCT_LOGS, "athena").splitlines() if line.startswith("--")]
    assert any("Partition projection" in line for line in comments)


@pytest.mark.parametrize("target", ddl.TARGETS)
@pytest.mark.parametrize("table", [FCT_LOGS, replace(FCT_LOGS, partitions=()), FCT_TICKETS])
def test_comments_hold_no_semicolon_or_quote_that_a_naive_splitter_could_trip_on(
    target: str, table: ExposedTable
) -> None:
    comments = [line for line in render(table, target).splitlines() if line.startswith("--")]
    assert comments and not [line for line in comments if ";" in line or "'" in line]


def test_athena_does_not_project_a_table_without_partitions_yet() -> None:
    text = render(replace(FCT_LOGS, partitions=()), "athena")
    assert "TBLPROPERTIES" not in text and "'projection.enabled'" not in text
    assert "-- Partitions are not projected" in text


def test_athena_does_not_project_a_string_partition_column() -> None:
    table = replace(FCT_LOGS, partition_columns=(Column("region", "string"),),
                    partitions=(Partition(("eu",), f"{FCT_LOGS.manifest_location}/region=eu"),))
    assert "TBLPROPERTIES" not in render(table, "athena")


def test_spectrum_adds_one_partition_per_manifest_partition() -> None:
    adds = [line for line in render(FCT_LOGS, "spectrum").splitlines() if line.startswith("ALTER TABLE")]
    assert adds == [
        f"ALTER TABLE \"careplus\".\"fct_logs\" ADD IF NOT EXISTS PARTITION (\"log_date\"='{day}') LOCATION "
        f"'s3://careplus-lake/lakehouse/gold/fct_logs/_symlink_format_manifest/log_date={day}/';"
        for day in ("2025-07-01", "2025-07-02")
    ]


def test_spectrum_leaves_a_null_partition_out_with_a_comment() -> None:
    null = Partition((HIVE_NULL_PARTITION,), f"{FCT_LOGS.manifest_location}/log_date={HIVE_NULL_PARTITION}")
    text = render(replace(FCT_LOGS, partitions=(null,)), "spectrum")
    assert "ADD IF NOT EXISTS PARTITION" not in text
    assert "-- not added: partition log_date=NULL" in text


def test_spectrum_without_a_role_uses_the_clusters_default_role() -> None:
    assert "IAM_ROLE default\n" in render(FCT_TICKETS, "spectrum", iam_role="")


@pytest.mark.parametrize("role", ["not-an-arn", "arn:aws:iam::123:role/x", f"{ROLE}' --"])
def test_spectrum_refuses_a_malformed_role(role: str) -> None:
    with pytest.raises(ExposureError, match="spectrum_iam_role"):
        render(FCT_TICKETS, "spectrum", iam_role=role)


def test_spectrum_accepts_chained_roles() -> None:
    chained = f"{ROLE},arn:aws:iam::210987654321:role/reader"
    assert f"IAM_ROLE '{chained}'" in render(FCT_TICKETS, "spectrum", iam_role=chained)


@pytest.mark.parametrize("target", ["athena", "spectrum"])
def test_an_unknown_type_fails_naming_table_column_and_type(target: str) -> None:
    table = replace(FCT_TICKETS, columns=(*FCT_TICKETS.columns, Column("wait", "interval day to second")))
    with pytest.raises(ExposureError) as caught:
        render(table, target)
    message = str(caught.value)
    assert "gold.fct_tickets" in message and "'wait'" in message and "'interval day to second'" in message
    assert isinstance(caught.value, CarePlusError) and caught.value.exit_code == 7


@pytest.mark.parametrize(
    ("target", "column"),
    [("athena", "bad`name"), ("athena", "two words"), ("spectrum", 'say"hi'), ("spectrum", "new\nline")],
)
def test_a_bad_column_identifier_is_refused(target: str, column: str) -> None:
    table = replace(FCT_TICKETS, columns=(Column(column, "string"),))
    with pytest.raises(ExposureError, match=r"column name in gold\.fct_tickets"):
        render(table, target)


@pytest.mark.parametrize(
    ("target", "options"),
    [
        ("athena", {"database": "careplus-gold"}),
        ("athena-delta", {"database": "careplus`gold"}),
        ("spectrum", {"spectrum_schema": 'care"plus'}),
        ("spectrum", {"database": "careplus gold"}),
    ],
)
def test_a_bad_database_or_schema_name_is_refused(target: str, options: dict[str, str]) -> None:
    with pytest.raises(ExposureError, match="cannot take"):
        render(FCT_TICKETS, target, **options)


@pytest.mark.parametrize("target", ddl.TARGETS)
def test_a_location_that_cannot_be_a_literal_is_refused(target: str) -> None:
    with pytest.raises(ExposureError, match="location"):
        render(replace(FCT_TICKETS, location="s3://b/it's"), target)


def test_a_partition_value_that_is_not_a_date_is_refused() -> None:
    bad = Partition(("July 1st",), f"{FCT_LOGS.manifest_location}/log_date=July 1st")
    with pytest.raises(ExposureError, match=r"gold\.fct_logs: partition log_date='July 1st'"):
        render(replace(FCT_LOGS, partitions=(bad,)), "spectrum")


def test_a_column_named_twice_regardless_of_case_is_refused() -> None:
    table = replace(FCT_TICKETS, columns=(Column("agent", "string"), Column("Agent", "string")))
    with pytest.raises(ExposureError, match="appears twice"):
        render(table, "athena")


def test_an_unknown_target_is_refused() -> None:
    with pytest.raises(ExposureError, match="unknown DDL target 'hive'"):
        render(FCT_TICKETS, "hive")


def test_statements_split_a_script_without_comments_and_respect_quotes() -> None:
    script = "-- it's a comment; not a statement\nCREATE X (a INT)\nLOCATION 's3://b/x;y/';\n\n-- end\nALTER X;\n"
    assert ddl.statements(script) == ["CREATE X (a INT)\nLOCATION 's3://b/x;y/'", "ALTER X"]


@pytest.mark.parametrize(("target", "count"), [("athena", 1), ("spectrum", 4), ("athena-delta", 1)])
def test_each_rendered_script_splits_into_its_statements(target: str, count: int) -> None:
    assert len(ddl.statements(render(FCT_LOGS, target))) == count
