"""Generated tickets through silver cleaning: every generated layout parses to the instant it stands for.

The generator writes tickets into SQLite (no Spark); the rows go through ``clean_tickets`` and
each created_at / resolved_at is compared with the plain-Python oracle of
``tests/synthetic_support.py``. Only garbage and zero created_at may be quarantined.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from careplus_spark.silver.ticket_cleaning import (
    RULE_CREATED_AT,
    TicketMappings,
    clean_tickets,
    corrected_time_parser,
    load_mappings,
)
from careplus_spark.silver.timestamps import TimestampLayouts
from careplus_spark.sources.tickets_schema import TICKET_COLUMNS
from careplus_spark.synthetic import LAYOUTS, GenerateSpec
from tests.synthetic_support import epoch_micros, expected_utc, layout_of, rows, run

EVERY_LAYOUT = {f"ts_{name}": 0.07 for name in LAYOUTS if name != "month_first"}
SPEC = GenerateSpec(seed=21, days=2, tickets_per_day=200, log_files_per_day=0, zero_date=0.05,
                    unparseable_created_at=0.03).with_rates(EVERY_LAYOUT)
MONTH_FIRST = SPEC.with_rates({"ts_day_first": 0.0, "ts_month_first": 0.1})
RAW = ", ".join(f"`{c}` string" for c in TICKET_COLUMNS)
OUT = "ticket_id string, created bigint, resolved bigint, _rule string"


def generated(spark: SparkSession, root: Path, spec: GenerateSpec) -> tuple[DataFrame, list[tuple[str, ...]]]:
    run(spec, root)
    table = rows(root / "tickets.db")
    return spark.createDataFrame(table, RAW), table


def check(spark: SparkSession, root: Path, spec: GenerateSpec, mappings: TicketMappings, month_first: bool) -> None:
    bronze, table = generated(spark, root, spec)
    layouts = Counter(layout_of(v, month_first) for r in table for v in (r[1], r[3]))
    missing = {n for n in LAYOUTS if getattr(spec, f"ts_{n}") > 0} - set(layouts)
    assert not missing, f"the generated data has no {sorted(missing)}"
    want = []
    for r in table:
        created, resolved = expected_utc(r[1], month_first), expected_utc(r[3], month_first)
        want.append((r[0], epoch_micros(created), epoch_micros(resolved), None if created else RULE_CREATED_AT))
    assert any(w[3] for w in want) and sum(1 for w in want if w[3] is None) > 0.9 * len(want)
    with corrected_time_parser(spark):
        got = bronze.transform(clean_tickets(mappings)).select(
            "ticket_id", F.unix_micros("created_at").alias("created"), F.unix_micros("resolved_at").alias("resolved"),
            "_rule",
        )
        assert_df_equality(got, spark.createDataFrame(want, OUT), ignore_row_order=True, ignore_nullable=True)


def test_every_generated_layout_parses_and_only_garbage_is_quarantined(spark: SparkSession, tmp_path: Path) -> None:
    check(spark, tmp_path, SPEC, load_mappings(), month_first=False)


def test_month_first_layout_parses_with_month_first_mappings(spark: SparkSession, tmp_path: Path) -> None:
    packaged = load_mappings()
    mappings = dataclasses.replace(
        packaged, timestamps=TimestampLayouts(zero_dates=packaged.zero_dates, month_first=True)
    )
    check(spark, tmp_path, MONTH_FIRST, mappings, month_first=True)
