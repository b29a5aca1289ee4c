"""Window and partition planning of the tickets extraction, and its JDBC options (pure functions, no Spark)."""

from __future__ import annotations

import pytest

from careplus_spark.errors import ConfigError, DataError, SchemaError
from careplus_spark.sources import tickets_extract as ex


def test_window_starts_lookback_before_the_cursor_in_the_cursor_text_form() -> None:
    assert ex.window_start("2025-07-02 00:10:00.000250", 60) == "2025-07-01 23:10:00.000250"
    assert ex.window_start("2025-07-02 00:10:00", 0) == "2025-07-02 00:10:00"
    assert ex.window_start(None, 60) is None


def test_a_cursor_that_is_no_timestamp_is_a_data_error() -> None:
    with pytest.raises(DataError, match="'TBD' is not a timestamp"):
        ex.window_start("TBD", 60)


def test_window_condition_is_inclusive_at_both_ends() -> None:
    window = ex.ExtractWindow("2025-07-01 09:00:00", "2025-07-02 10:00:00", 5)
    assert ex.window_condition("updated_at", window, "mysql") == (
        "`updated_at` >= '2025-07-01 09:00:00' AND `updated_at` <= '2025-07-02 10:00:00'"
    )


def test_window_condition_of_a_full_load_keeps_null_cursors() -> None:
    full = ex.ExtractWindow(None, "2025-07-02 10:00:00", 5)
    assert ex.window_condition("updated_at", full, "mysql") == (
        "(`updated_at` <= '2025-07-02 10:00:00' OR `updated_at` IS NULL)"
    )


def test_range_predicates_cover_every_value_once() -> None:
    assert ex.range_predicates("k", ["b", "m"], "mysql") == (
        "`k` < _utf8mb4 X'62' OR `k` IS NULL",
        "`k` >= _utf8mb4 X'62' AND `k` < _utf8mb4 X'6d'",
        "`k` >= _utf8mb4 X'6d'",
    )
    assert ex.range_predicates("k", [], "mysql") == ("1=1",)


def test_cursor_range_predicates_reformat_the_boundaries() -> None:
    assert ex.range_predicates("c", ["2025-07-01 10:00:00.5"], "sqlite", cursor=True) == (
        "`c` < '2025-07-01 10:00:00.5' OR `c` IS NULL",
        "`c` >= '2025-07-01 10:00:00.5'",
    )


def test_key_literals_hold_only_hex_digits_whatever_the_key_holds() -> None:
    assert ex.literal("O'Brien\\x", "mysql") == "_utf8mb4 X'4f27427269656e5c78'"
    assert ex.literal("O'Brien\\x", "mariadb") == "_utf8mb4 X'4f27427269656e5c78'"
    assert ex.literal("O'Brien\\x", "sqlite") == "CAST(X'4f27427269656e5c78' AS TEXT)"
    assert ex.literal("é", "mysql") == "_utf8mb4 X'c3a9'"  # UTF-8 bytes
    assert ex.literal(42, "mysql") == "42"
    assert ex.literal(2.5, "sqlite") == "2.5"


def test_other_dialects_double_quotes_and_refuse_backslashes() -> None:
    assert ex.literal("O'Brien", "postgresql") == "'O''Brien'"
    with pytest.raises(DataError, match="backslash"):
        ex.literal("a\\' OR 1=1 --", "postgresql")


@pytest.mark.parametrize("value", [None, True, float("nan"), float("inf")])
def test_values_without_a_literal_are_data_errors(value: object) -> None:
    with pytest.raises(DataError, match="boundary value"):
        ex.literal(value, "mysql")


@pytest.mark.parametrize("text", ["2025-07-01' OR '1'='1", "2025-07-01 10:00:00 --", "x\\'"])
def test_a_cursor_is_parsed_never_echoed(text: str) -> None:
    with pytest.raises(DataError, match="is not a timestamp"):
        ex.cursor_literal(text)


def test_cursor_literals_keep_the_source_text_form() -> None:
    assert ex.cursor_literal("2025-07-01 10:00:00") == "'2025-07-01 10:00:00'"
    assert ex.cursor_literal("2025-07-01 10:00:00.250000") == "'2025-07-01 10:00:00.250000'"
    assert ex.cursor_literal("2025-07-01T10:00:00.250Z") == "'2025-07-01T10:00:00.250Z'"


def test_identifiers_are_checked_and_quoted_part_by_part() -> None:
    assert ex.quote("crm.support_tickets") == "`crm`.`support_tickets`"
    for bad in ["t` OR 1=1 --", "support_tickets\\' OR 1=1 --", "a..b", ""]:
        with pytest.raises(ConfigError, match="not a valid source table or column name"):
            ex.quote(bad)


def test_cursor_boundaries_slice_the_window_evenly() -> None:
    bounds = ex.cursor_boundaries("2025-07-01 00:00:00.000000", "2025-07-01 03:00:00.000000", 3)
    assert bounds == ["2025-07-01 01:00:00.000000", "2025-07-01 02:00:00.000000"]
    assert ex.cursor_boundaries("2025-07-01 00:00:00", "2025-07-01 00:00:00", 4) == []


@pytest.mark.parametrize(("rows", "expected"), [(0, 1), (10, 1), (100_000, 2), (1_000_000, 4)])
def test_partition_count_respects_the_minimum_rows_per_partition(rows: int, expected: int) -> None:
    assert ex.partition_count(rows, 4, 50_000) == expected


def test_drift_policy_add_adds_new_source_columns() -> None:
    assert ex.drifted_columns(["a", "b", "new"], ("a", "b"), [], "add", "t") == ["new"]


def test_drift_policy_ignore_keeps_known_optional_columns_only() -> None:
    assert ex.drifted_columns(["a", "b", "new", "old"], ("a", "b"), ["old"], "ignore", "t") == ["old"]


def test_drift_policy_fail_refuses_new_columns_with_a_schema_error() -> None:
    with pytest.raises(ex.SchemaDriftError, match=r"new source column\(s\) \['new'\]") as info:
        ex.drifted_columns(["a", "b", "new"], ("a", "b"), [], "fail", "t")
    assert isinstance(info.value, SchemaError)


def test_missing_required_columns_are_named_with_the_present_ones() -> None:
    with pytest.raises(SchemaError, match=r"missing required column\(s\) \['b'\]; columns present: \['a', 'c'\]"):
        ex.check_required(["a", "c"], ["a", "b"], "source table t")


def _source(url: str, **options: str):  # type: ignore[no-untyped-def]
    from careplus_spark.platform.config import TicketsSourceConfig
    from careplus_spark.platform.secrets import Secret

    return ex.source_options(
        TicketsSourceConfig(
            url=url, table="t", user="u", password=Secret.empty(), fetch_size=500, options=dict(options)
        )
    )


def test_mysql_reads_stream_by_default() -> None:
    from careplus_spark.sources.jdbc import STREAMING_FETCH_SIZE, jdbc_options

    streamed = jdbc_options(_source("jdbc:mysql://h:3306/db"), dbtable="t")
    assert streamed["fetchsize"] == str(STREAMING_FETCH_SIZE) == "-2147483648"
    assert "useCursorFetch" not in streamed["url"] and "zeroDateTimeBehavior=CONVERT_TO_NULL" in streamed["url"]


def test_mysql_reads_with_the_fetch_size_when_cursor_fetch_is_asked_for() -> None:
    from careplus_spark.sources.jdbc import jdbc_options

    cursor = jdbc_options(_source("jdbc:mysql://h:3306/db", useCursorFetch="true"), dbtable="t")
    assert cursor["fetchsize"] == "500" and "useCursorFetch=true" in cursor["url"]


def test_other_sources_read_with_the_fetch_size() -> None:
    from careplus_spark.sources.jdbc import jdbc_options

    assert jdbc_options(_source("jdbc:sqlite:/tmp/x.db"), dbtable="t")["fetchsize"] == "500"
