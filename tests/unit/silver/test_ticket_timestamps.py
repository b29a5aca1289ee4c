"""Timestamps of silver.tickets, layout by layout (careplus_spark/silver/timestamps.py).

Results are compared as epoch microseconds (``unix_micros``), never as Python datetimes, so
that neither the session time zone nor the test process's one can hide an offset bug.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse.delta import session_conf
from careplus_spark.silver import ticket_cleaning as cleaning
from careplus_spark.silver.ticket_cleaning import corrected_time_parser, load_mappings
from careplus_spark.silver.timestamps import (
    DEFAULT_LAYOUTS,
    TimestampLayouts,
    has_zone_field,
    parse_timestamp,
    timestamp_of,
)

UTC = dt.UTC
T = dt.datetime(2025, 7, 1, 7, 11, 0, tzinfo=UTC)
DAY_FIRST = TimestampLayouts(day_first=True)
MONTH_FIRST = TimestampLayouts(month_first=True)


def us(value: dt.datetime | None, **delta: float) -> int | None:
    """Epoch microseconds of an aware datetime (plus a timedelta); None stays None."""
    if value is None:
        return None
    moment = value + dt.timedelta(**delta)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=UTC)) // dt.timedelta(microseconds=1)


def parsed(spark: SparkSession, values: list[str | None], layouts: TimestampLayouts = DEFAULT_LAYOUTS) -> DataFrame:
    df = spark.createDataFrame(list(enumerate(values)), "i int, v string")
    return df.select("i", F.unix_micros(parse_timestamp(F.col("v"), layouts)).alias("v"))


def micros(spark: SparkSession, values: list[int | None]) -> DataFrame:
    return spark.createDataFrame(list(enumerate(values)), "i int, v bigint")


def check(spark: SparkSession, cases: list[tuple[str | None, int | None]], layouts: TimestampLayouts = DEFAULT_LAYOUTS,
          zone: str = "UTC") -> None:
    """Parses each text of ``cases`` (with the session in ``zone``) and compares with its micros."""
    with corrected_time_parser(spark), session_conf(spark, {"spark.sql.session.timeZone": zone}):
        got = parsed(spark, [text for text, _ in cases], layouts)
        assert_df_equality(got, micros(spark, [m for _, m in cases]), ignore_row_order=True, ignore_nullable=True)


def test_year_first_dates_take_dash_slash_or_dot(spark: SparkSession) -> None:
    check(spark, [
        ("2025-07-01 07:11:00", us(T)),
        ("2025/07/01 07:11:00", us(T)),
        ("2025.07.01 07:11:00", us(T)),
        ("2025/7/1 7:11:00", us(T)),
        ("2025-07/01 07:11:00", None),  # two different separators
        ("25/07/01 07:11:00", None),  # two-digit year
    ])


def test_t_or_spaces_separate_date_and_time(spark: SparkSession) -> None:
    check(spark, [
        ("2025-07-01T07:11:00", us(T)),
        ("2025/07/01T07:11:00", us(T)),
        ("2025.07.01t07:11:00", us(T)),
        ("2025-07-01   07:11:00", us(T)),
        ("  2025-07-01 07:11:00  ", us(T)),
        ("2025-07-01X07:11:00", None),
    ])


def test_seconds_are_optional(spark: SparkSession) -> None:
    check(spark, [
        ("2025-07-01 07:11", us(T)),
        ("2025/07/01T07:11", us(T)),
        ("2025.07.01 07:11Z", us(T)),
        ("2025-07-01 07:11:5", None),
        ("2025-07-01 07", None),
    ])


def test_fractions_of_one_to_nine_digits_are_truncated_to_microseconds(spark: SparkSession) -> None:
    check(spark, [
        ("2025-07-01 07:11:00.1", us(T, microseconds=100_000)),
        ("2025-07-01 07:11:00.123", us(T, microseconds=123_000)),
        ("2025-07-01 07:11:00.123456", us(T, microseconds=123_456)),
        ("2025-07-01T07:11:00.123456789", us(T, microseconds=123_456)),
        ("2025-07-01 07:11:00.999999999", us(T, microseconds=999_999)),
        ("2025-07-01 07:11:00,5", us(T, microseconds=500_000)),
        ("2025-07-01 07:11:00.1234567890", None),  # ten digits
        ("2025-07-01 07:11.5", None),  # a fraction needs seconds
    ])


def test_zulu_and_numeric_offsets_are_converted_to_utc(spark: SparkSession) -> None:
    check(spark, [
        ("2025-07-01T07:11:00Z", us(T)),
        ("2025-07-01T07:11:00z", us(T)),
        ("2025-07-01 07:11:00 UTC", us(T)),
        ("2025-07-01T09:11:00+02:00", us(T)),
        ("2025-07-01T09:11:00+0200", us(T)),
        ("2025-07-01T02:11:00-05", us(T)),
        ("2025-07-01T12:41:00+05:30", us(T)),
        ("2025-07-01 09:11:00.5 +02:00", us(T, microseconds=500_000)),
        ("2025/07/01T01:00+02:00", us(dt.datetime(2025, 6, 30, 23, 0, tzinfo=UTC))),  # the day before in UTC
        ("2025-07-01T07:11:00+19:00", None),
        ("2025-07-01T07:11:00+02:", None),
        ("2025-07-01T07:11:00+2", None),
    ])


def test_a_date_alone_is_midnight_utc(spark: SparkSession) -> None:
    midnight = dt.datetime(2025, 7, 1, tzinfo=UTC)
    check(spark, [("2025-07-01", us(midnight)), ("2025/07/01", us(midnight)), ("2025.7.1", us(midnight))])


def test_numbers_are_epoch_seconds_or_milliseconds_by_magnitude(spark: SparkSession) -> None:
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
    check(spark, [
        ("1751353860", us(T)),
        (" 1751353860 ", us(T)),
        ("1751353860.5", us(T, microseconds=500_000)),
        ("1751353860123", us(T, microseconds=123_000)),
        ("1751353860123.4567", us(T, microseconds=123_456)),
        ("100000000", us(epoch, seconds=10**8)),  # 10^8 s: the first second read
        ("9999999999", us(epoch, seconds=10**10 - 1)),
        ("100000000000", us(epoch, seconds=10**8)),  # 10^11 ms: the first millisecond read
        ("9999999999999", us(epoch, milliseconds=10**13 - 1)),
        ("99999999", None),  # too small for either
        ("20250701", None),  # a compact date is no epoch
        ("17513538601", None),  # 11 digits: neither
        ("20250701071100", None),  # 14 digits: neither
        ("0", None),
        ("-1751353860", None),
        ("1.75e9", None),
    ])


def test_zero_dates_and_garbage_are_null(spark: SparkSession) -> None:
    check(spark, [
        ("0000-00-00 00:00:00", None),
        ("0000-00-00", None),
        ("0000-00-00T00:00:00Z", None),
        ("0000-01-01 00:00:00", None),
        ("1900-01-01 00:00:00", us(dt.datetime(1900, 1, 1, tzinfo=UTC))),
        ("TBD", None),
        ("n/a", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("2025-02-30 10:00:00", None),
        ("2025-13-01 10:00:00", None),
        ("2025-07-01 24:00:00", None),
        ("2025-07-01 07:60:00", None),
        ("2025-07-01 07:11:00 PM", None),
        ("07:11:00", None),
    ])


def test_configured_zero_dates_are_null(spark: SparkSession) -> None:
    layouts = TimestampLayouts(zero_dates=("1900-01-01 00:00:00",))
    check(spark, [("1900-01-01 00:00:00", None), (" 1900-01-01 00:00:00 ", None), ("2025-07-01 07:11", us(T))],
          layouts)


DAY_OR_MONTH = ["01/07/2025 07:11", "13/07/2025 07:11:30", "1.7.2025 07:11", "07/13/2025 07:11",
                "01-07-2025T09:11:00+02:00"]


def test_day_first_and_month_first_dates_are_null_unless_configured(spark: SparkSession) -> None:
    check(spark, [(text, None) for text in DAY_OR_MONTH])


def test_day_first_dates_when_configured(spark: SparkSession) -> None:
    expected = [us(T), us(T, days=12, seconds=30), us(T), None, us(T)]
    check(spark, list(zip(DAY_OR_MONTH, expected, strict=True)), DAY_FIRST)


def test_month_first_dates_when_configured(spark: SparkSession) -> None:
    january = dt.datetime(2025, 1, 7, 7, 11, tzinfo=UTC)
    expected = [us(january), None, us(january), us(T, days=12), us(january)]
    check(spark, list(zip(DAY_OR_MONTH, expected, strict=True)), MONTH_FIRST)


def test_day_first_and_month_first_together_are_refused() -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        TimestampLayouts(day_first=True, month_first=True)


def test_extra_formats_are_read_as_utc_unless_they_carry_a_zone(spark: SparkSession) -> None:
    layouts = TimestampLayouts(extra_formats=("dd MMM yyyy HH:mm", "yyyyMMddHHmmssXX"))
    cases = [
        ("01 Jul 2025 07:11", us(T)),
        ("20250701091100+0200", us(T)),
        ("20250701071100", None),  # no format matches and 14 digits are no epoch
        ("2025-07-01 07:11", us(T)),  # the built-in layouts still come first
    ]
    check(spark, cases, layouts, zone="America/New_York")
    assert has_zone_field("yyyyMMddHHmmssXX") and not has_zone_field("dd 'Z'MMM yyyy")


ZONE_CASES = [
    ("2025-07-01 07:11:00", us(T)),
    ("2025/07/01T07:11", us(T)),
    ("2025-07-01", us(dt.datetime(2025, 7, 1, tzinfo=UTC))),
    ("2025-07-01T09:11:00+02:00", us(T)),
    ("2025-01-15 12:00:00", us(dt.datetime(2025, 1, 15, 12, tzinfo=UTC))),  # winter time in the zones below
    ("2025-03-30 02:30:00", us(dt.datetime(2025, 3, 30, 2, 30, tzinfo=UTC))),  # a gap in Europe/Berlin
    ("01/07/2025 07:11", us(T)),
    ("1751353860123", us(T, microseconds=123_000)),
]


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "Europe/Berlin"])
def test_results_do_not_depend_on_the_session_time_zone(spark: SparkSession, zone: str) -> None:
    check(spark, ZONE_CASES, DAY_FIRST, zone=zone)


def test_source_types_timestamp_kept_numbers_as_epochs_text_parsed(spark: SparkSession) -> None:
    rows = [(1751353860, 1751353860.5, Decimal("1751353860123.456"), T, "2025/07/01 07:11:00", dt.date(2025, 7, 1)),
            (0, float("nan"), None, None, "TBD", None)]
    schema = "l bigint, d double, m decimal(20,3), t timestamp, s string, day date"
    with corrected_time_parser(spark), session_conf(spark, {"spark.sql.session.timeZone": "Asia/Kolkata"}):
        df = spark.createDataFrame(rows, schema)
        types = dict(df.dtypes)
        got = df.select(*[F.unix_micros(timestamp_of(F.col(c), types[c])).alias(c) for c in df.columns])
        want = spark.createDataFrame(
            [(us(T), us(T, microseconds=500_000), us(T, microseconds=123_456), us(T), us(T),
              us(dt.datetime(2025, 7, 1, tzinfo=UTC))),
             (None, None, None, None, None, None)],
            "l bigint, d bigint, m bigint, t bigint, s bigint, day bigint",
        )
        assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


# --- the mappings file ----------------------------------------------------------------


def mappings_with(tmp_path: Path, timestamps: str) -> Path:
    text = cleaning.DEFAULT_MAPPINGS.read_text(encoding="utf-8")
    head = text[: text.index("timestamps:")]
    path = tmp_path / "tickets.yaml"
    path.write_text(head + "timestamps:\n" + timestamps, encoding="utf-8")
    return path


def test_packaged_mappings_read_day_first_dates() -> None:
    assert load_mappings().timestamps == TimestampLayouts(
        zero_dates=("0000-00-00 00:00:00", "0000-00-00", "0000-00-00 00:00:00.000000"), day_first=True
    )


def test_mappings_without_the_optional_keys_read_year_first_only(tmp_path: Path) -> None:
    path = mappings_with(tmp_path, '  zero_dates: ["0000-00-00"]\n')
    assert load_mappings(path).timestamps == TimestampLayouts(zero_dates=("0000-00-00",))


def test_mappings_with_month_first_and_extra_formats(tmp_path: Path) -> None:
    path = mappings_with(tmp_path, '  zero_dates: []\n  month_first: true\n  extra_formats: ["dd MMM yyyy"]\n')
    assert load_mappings(path).timestamps == TimestampLayouts(month_first=True, extra_formats=("dd MMM yyyy",))


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('  zero_dates: []\n  formats: ["yyyy-MM-dd"]\n', r"timestamps\.formats is no longer read"),
        ("  zero_dates: []\n  day_first: true\n  month_first: true\n", r"day_first and timestamps\.month_first"),
        ('  zero_dates: []\n  day_first: "yes"\n', r"timestamps\.day_first must be true or false, found 'yes'"),
        ('  zero_dates: []\n  extra_formats: "dd MMM yyyy"\n', r"timestamps\.extra_formats must be a list"),
        ("  zero_dates: []\n  dayfirst: true\n", r"timestamps must have the key zero_dates .*'dayfirst'"),
        ("  day_first: true\n", r"timestamps must have the key zero_dates"),
    ],
)
def test_bad_timestamp_settings_are_refused_naming_file_and_key(tmp_path: Path, section: str, message: str) -> None:
    path = mappings_with(tmp_path, section)
    with pytest.raises(ConfigError, match=message) as caught:
        load_mappings(path)
    assert str(path) in str(caught.value)
