"""Type mapping, identifier quoting and literals per engine (careplus_spark.exposure.dialects)."""

from __future__ import annotations

import pytest

from careplus_spark.errors import ExposureError
from careplus_spark.exposure import dialects

# Spark type string (simpleString, or the Delta log's JSON name) -> (Athena/Hive, Redshift Spectrum)
MAPPINGS = {
    "string": ("STRING", "VARCHAR(65535)"),
    "char(10)": ("STRING", "VARCHAR(65535)"),
    "varchar(20)": ("STRING", "VARCHAR(65535)"),
    "boolean": ("BOOLEAN", "BOOLEAN"),
    "tinyint": ("TINYINT", "SMALLINT"),
    "byte": ("TINYINT", "SMALLINT"),
    "smallint": ("SMALLINT", "SMALLINT"),
    "short": ("SMALLINT", "SMALLINT"),
    "int": ("INT", "INTEGER"),
    "integer": ("INT", "INTEGER"),
    "bigint": ("BIGINT", "BIGINT"),
    "long": ("BIGINT", "BIGINT"),
    "float": ("FLOAT", "REAL"),
    "double": ("DOUBLE", "DOUBLE PRECISION"),
    "decimal(20,6)": ("DECIMAL(20,6)", "DECIMAL(20,6)"),
    "decimal(38,0)": ("DECIMAL(38,0)", "DECIMAL(38,0)"),
    "decimal(10, 2)": ("DECIMAL(10,2)", "DECIMAL(10,2)"),
    "date": ("DATE", "DATE"),
    "timestamp": ("TIMESTAMP", "TIMESTAMP"),
    "timestamp_ntz": ("TIMESTAMP", "TIMESTAMP"),
    "binary": ("BINARY", "VARBYTE(1024000)"),
    "array<string>": ("ARRAY<STRING>", "ARRAY<VARCHAR(65535)>"),
    "map<string,bigint>": ("MAP<STRING,BIGINT>", "MAP<VARCHAR(65535),BIGINT>"),
    "struct<at:timestamp,ms:int>": ("STRUCT<at:TIMESTAMP,ms:INT>", "STRUCT<at:TIMESTAMP,ms:INTEGER>"),
    "array<struct<a:decimal(20,6),b:map<string,array<long>>>>": (
        "ARRAY<STRUCT<a:DECIMAL(20,6),b:MAP<STRING,ARRAY<BIGINT>>>>",
        "ARRAY<STRUCT<a:DECIMAL(20,6),b:MAP<VARCHAR(65535),ARRAY<BIGINT>>>>",
    ),
    "struct<`quoted_name`:string>": ("STRUCT<quoted_name:STRING>", "STRUCT<quoted_name:VARCHAR(65535)>"),
}

UNSUPPORTED = [
    "interval day to second",
    "void",
    "variant",
    "calendarinterval",
    "decimal",
    "decimal(39,0)",
    "decimal(5,6)",
    "decimal(a,b)",
    "char",
    "array<interval>",
    "map<array<int>,int>",
    "struct<a b:int>",
    "struct<`a-b`:int>",
    "array<string",
    "int>",
    "",
]


@pytest.mark.parametrize(("spark_type", "expected"), [(t, m[0]) for t, m in MAPPINGS.items()])
def test_hive_type_maps_every_spark_type(spark_type: str, expected: str) -> None:
    assert dialects.hive_type(spark_type) == expected


@pytest.mark.parametrize(("spark_type", "expected"), [(t, m[1]) for t, m in MAPPINGS.items()])
def test_redshift_type_maps_every_spark_type(spark_type: str, expected: str) -> None:
    assert dialects.redshift_type(spark_type) == expected


@pytest.mark.parametrize("spark_type", UNSUPPORTED)
def test_an_unsupported_or_malformed_type_is_refused_by_both_engines(spark_type: str) -> None:
    with pytest.raises(ValueError):
        dialects.hive_type(spark_type)
    with pytest.raises(ValueError):
        dialects.redshift_type(spark_type)


def test_parse_type_reads_nested_types_into_a_tree() -> None:
    parsed = dialects.parse_type("map<string,struct<x:long>>")
    assert parsed == dialects.SparkType(
        "map",
        children=(dialects.SparkType("string"), dialects.SparkType("struct", children=(dialects.SparkType("bigint"),),
                                                                   fields=("x",))),
    )


@pytest.mark.parametrize(
    ("quoting", "name", "expected"),
    [
        (dialects.ATHENA_DDL, "fct_logs", "`fct_logs`"),
        (dialects.ATHENA_SQL, "careplus_gold", '"careplus_gold"'),
        (dialects.REDSHIFT, "Weird Name-1", '"Weird Name-1"'),
        (dialects.SPARK, "_row_hash", "`_row_hash`"),
    ],
)
def test_identifiers_are_quoted_per_engine(quoting: dialects.Quoting, name: str, expected: str) -> None:
    assert quoting.quote(name) == expected


@pytest.mark.parametrize(
    ("quoting", "name"),
    [
        (dialects.ATHENA_DDL, "bad`name"),
        (dialects.ATHENA_DDL, "careplus-gold"),
        (dialects.ATHENA_DDL, "two words"),
        (dialects.ATHENA_SQL, 'say"hi'),
        (dialects.REDSHIFT, 'say"hi'),
        (dialects.REDSHIFT, "line\nbreak"),
        (dialects.REDSHIFT, "x" * 128),
        (dialects.SPARK, "bad`name"),
        (dialects.SPARK, "tab\tname"),
        (dialects.SPARK, ""),
    ],
)
def test_an_identifier_that_cannot_be_quoted_safely_is_refused(quoting: dialects.Quoting, name: str) -> None:
    with pytest.raises(ExposureError, match=quoting.engine):
        quoting.quote(name, "column name")


def test_qualified_names_quote_each_part() -> None:
    assert dialects.ATHENA_SQL.qualified(("awsdatacatalog", "careplus_gold", "v_x")) == (
        '"awsdatacatalog"."careplus_gold"."v_x"'
    )


@pytest.mark.parametrize("value", ["s3://b/it's", "s3://b/back\\slash", "s3://b/new\nline", ""])
def test_a_literal_that_would_need_escaping_is_refused(value: str) -> None:
    with pytest.raises(ExposureError, match="location"):
        dialects.literal(value, "location")


def test_a_plain_literal_is_single_quoted() -> None:
    assert dialects.literal("s3://b/lake/gold/t/", "location") == "'s3://b/lake/gold/t/'"


@pytest.mark.parametrize("name", ["spark", "athena", "redshift"])
def test_every_view_dialect_divides_as_a_double_and_never_by_zero(name: str) -> None:
    d = dialects.DIALECTS[name]
    assert d.ratio("a", "b") == f"CAST(a AS {d.double}) / NULLIF(b, 0)"
