"""The one incremental routine on small Delta tables: watermarks, change feeds, fallbacks."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from careplus_spark.lakehouse import catalog, incremental, state, tables
from careplus_spark.lakehouse.catalog import Table
from careplus_spark.lakehouse.run import RunContext, StepResult
from careplus_spark.platform.config import AppConfig

SOURCE = Table("silver", "inc_source", ("id",), "tests:none", change_feed=True)
TARGET = Table("gold", "inc_target", ("id",), "tests:none")


class Recorder:
    """A ``process`` that copies what it is given into the target and remembers each batch."""

    def __init__(self, spark: SparkSession, ctx: RunContext) -> None:
        self.spark, self.ctx = spark, ctx
        self.batches: list[incremental.Batch] = []
        self.seen: list[list[int]] = []

    def __call__(self, batch: incremental.Batch) -> StepResult:
        self.batches.append(batch)
        source = batch.input(SOURCE.qualified)
        feed = None if batch.full else source.changes(self.spark)
        rows = source.snapshot(self.spark) if feed is None else feed.where("_change_type = 'insert'").select("id", "v")
        self.seen.append(sorted(r["id"] for r in rows.collect()))
        result = tables.upsert(self.spark, rows, batch.target, keys=["id"])
        return StepResult(step="x", rows_read=len(self.seen[-1]), rows_written=result.inserted)


@pytest.fixture
def ctx(lakehouse: AppConfig) -> RunContext:
    return RunContext(lakehouse)


def append(spark: SparkSession, ctx: RunContext, ids: list[int]) -> None:
    ref = ctx.ref(SOURCE)
    df = spark.createDataFrame([(i, f"v{i}") for i in ids], "id INT, v STRING")
    if not tables.exists(spark, ref):
        tables.create_if_missing(spark, ref, df, properties=SOURCE.properties)
    df.write.format("delta").mode("append").save(ref.path)


def run(spark: SparkSession, ctx: RunContext, process: Recorder, full_refresh: bool = False) -> StepResult:
    return incremental.refresh(spark, ctx, step="inc", consumer=TARGET, inputs=[SOURCE], process=process,
                               full_refresh=full_refresh)


def watermark(spark: SparkSession, ctx: RunContext) -> state.CursorState | None:
    name = incremental.watermark_name(TARGET.qualified, SOURCE.qualified)
    return state.load(spark, ctx.ref(catalog.CURSORS), name)


def test_a_missing_input_is_a_note_and_nothing_runs(spark: SparkSession, ctx: RunContext) -> None:
    process = Recorder(spark, ctx)
    result = run(spark, ctx, process)
    assert (result.step, result.rows_read, process.batches) == ("inc", 0, [])
    assert result.detail == "silver.inc_source does not exist yet"


def test_the_first_run_reads_the_snapshot_and_saves_the_watermark(spark: SparkSession, ctx: RunContext) -> None:
    append(spark, ctx, [1, 2])
    process = Recorder(spark, ctx)
    result = run(spark, ctx, process)
    assert [b.full for b in process.batches] == [True] and process.seen == [[1, 2]]
    assert (result.step, result.rows_written) == ("inc", 2)
    info = tables.table_info(spark, ctx.ref(SOURCE))
    mark = watermark(spark, ctx)
    assert mark is not None and info is not None
    assert (mark.value, mark.table_id, mark.run_id) == (str(info.version), info.table_id, ctx.run_id)


def test_a_run_with_nothing_new_reads_nothing(spark: SparkSession, ctx: RunContext) -> None:
    append(spark, ctx, [1])
    run(spark, ctx, Recorder(spark, ctx))
    process = Recorder(spark, ctx)
    again = run(spark, ctx, process)
    assert process.batches == [] and "silver.inc_source unchanged since version" in again.detail


def test_later_runs_read_only_the_change_feed_since_the_watermark(spark: SparkSession, ctx: RunContext) -> None:
    append(spark, ctx, [1, 2])
    run(spark, ctx, Recorder(spark, ctx))
    append(spark, ctx, [3])
    process = Recorder(spark, ctx)
    run(spark, ctx, process)
    batch = process.batches[0]
    source = batch.input(SOURCE.qualified)
    assert not batch.full and source.since is not None and source.span == f"{source.since + 1}..{source.version}"
    assert process.seen == [[3]]


def test_full_refresh_reads_the_snapshot_again(spark: SparkSession, ctx: RunContext) -> None:
    append(spark, ctx, [1])
    run(spark, ctx, Recorder(spark, ctx))
    append(spark, ctx, [2])
    process = Recorder(spark, ctx)
    run(spark, ctx, process, full_refresh=True)
    assert [b.full for b in process.batches] == [True] and process.seen == [[1, 2]]


def test_full_refresh_recomputes_even_when_no_input_changed(spark: SparkSession, ctx: RunContext) -> None:
    # e.g. after a change of gold.sla_hours: the inputs are unchanged, the result is not
    append(spark, ctx, [1])
    run(spark, ctx, Recorder(spark, ctx))
    process = Recorder(spark, ctx)
    run(spark, ctx, process, full_refresh=True)
    assert [b.full for b in process.batches] == [True] and process.seen == [[1]]


def test_a_recreated_input_is_read_whole(spark: SparkSession, ctx: RunContext) -> None:
    append(spark, ctx, [1, 2])
    run(spark, ctx, Recorder(spark, ctx))
    shutil.rmtree(Path(ctx.ref(SOURCE).path))
    append(spark, ctx, [7])
    process = Recorder(spark, ctx)
    run(spark, ctx, process)
    assert [b.full for b in process.batches] == [True] and process.seen == [[7]]


def test_an_input_without_a_feed_gets_one_and_the_consumer_falls_back_to_the_snapshot(
    spark: SparkSession, ctx: RunContext
) -> None:
    plain = replace(SOURCE, change_feed=False)
    ref = ctx.ref(plain)
    df = spark.createDataFrame([(1, "v1")], "id INT, v STRING")
    tables.create_if_missing(spark, ref, df)
    df.write.format("delta").mode("append").save(ref.path)
    run(spark, ctx, Recorder(spark, ctx))
    assert tables.table_info(spark, ref).change_feed  # type: ignore[union-attr]
    append(spark, ctx, [2])  # the feed serves from the version after it was turned on
    process = Recorder(spark, ctx)
    run(spark, ctx, process)
    assert process.seen == [[2]]


def test_a_failing_process_leaves_the_watermark_where_it_was(spark: SparkSession, ctx: RunContext) -> None:
    append(spark, ctx, [1])
    run(spark, ctx, Recorder(spark, ctx))
    before = watermark(spark, ctx)
    append(spark, ctx, [2])

    def fail(batch: incremental.Batch) -> StepResult:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        incremental.refresh(spark, ctx, step="inc", consumer=TARGET, inputs=[SOURCE], process=fail)
    assert watermark(spark, ctx) == before
    process = Recorder(spark, ctx)
    run(spark, ctx, process)
    assert process.seen == [[2]]
