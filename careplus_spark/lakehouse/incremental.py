"""The one incremental routine: process what an input table changed since the last run.

A *consumer* (a silver table, a gold model) reads one or more input tables. For each
input it remembers the last version it processed: a watermark row
``<consumer><-<database>.<table>`` in ``ops.cursors``, with the input's Delta table id.
:func:`refresh` does the whole routine:

1. fixes each input at its current version (:class:`Input`); an input that does not
   exist yet ends the step with a note;
2. loads the watermarks: one recorded for another table id (the input was recreated)
   counts as none;
3. nothing changed since the watermarks (and the target exists): ends the step with a
   note, reading nothing;
4. calls ``process`` with a :class:`Batch`: ``full`` (no watermark, a recreated input,
   a missing target or ``--full-refresh``) means recompute from the snapshots; else
   each input's :meth:`Input.changes` is the change data feed since its watermark
   (None when unavailable: the consumer falls back to its snapshot);
5. saves every watermark in one commit, *after* ``process`` has committed its writes:
   a crash before it only means the same changes are processed again, which changes
   nothing (:func:`refresh_all` does this for the consumers of a whole step: one read of
   their watermarks, one commit of them);
6. returns ``process``'s :class:`~careplus_spark.lakehouse.run.StepResult` with the
   step's name and time.

Example:
    >>> def process(batch: Batch) -> StepResult:  # doctest: +SKIP
    ...     source = batch.inputs[0]
    ...     rows = source.snapshot(spark) if batch.full else source.changes(spark)
    ...     ...
    >>> refresh(spark, ctx, step="silver_logs", consumer=catalog.SILVER_LOGS,
    ...         inputs=[catalog.BRONZE_LOGS], process=process)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import catalog, delta, state, tables
from careplus_spark.lakehouse.delta import TableInfo
from careplus_spark.lakehouse.run import RunContext, StepResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


def watermark_name(consumer: str, source: str) -> str:
    """The ``ops.cursors`` name of ``consumer``'s watermark on ``source`` (qualified names).

    Example:
        >>> watermark_name("silver.logs", "bronze.logs")
        'silver.logs<-bronze.logs'
    """
    return f"{consumer}<-{source}"


@dataclass(frozen=True)
class Input:
    """An input table as one run sees it: fixed at ``info.version``.

    ``since`` is the last version the consumer processed (None: no usable watermark).
    """

    ref: tables.TableRef
    info: TableInfo
    since: int | None

    @property
    def version(self) -> int:
        return self.info.version

    @property
    def changed(self) -> bool:
        return self.since is None or self.since < self.info.version

    @property
    def span(self) -> str:
        """The versions this run covers, e.g. ``4..7`` (``0..7`` without a watermark)."""
        return f"{0 if self.since is None else self.since + 1}..{self.version}"

    def snapshot(self, spark: SparkSession) -> DataFrame:
        """The input at this run's version."""
        return delta.snapshot(spark, self.ref.path, self.version)

    def changes(self, spark: SparkSession) -> DataFrame | None:
        """The change data feed after the watermark up to this run's version.

        None without a watermark or when the feed is unavailable (logged): read the
        snapshot instead.
        """
        if self.since is None:
            return None
        return delta.change_feed(spark, self.ref.path, self.since, self.version)


@dataclass(frozen=True)
class Batch:
    """What one run of a consumer processes: its inputs, and whether to recompute all."""

    consumer: str
    target: tables.TableRef
    inputs: tuple[Input, ...]
    full: bool

    def input(self, qualified: str) -> Input:
        """The input ``<database>.<name>``."""
        return next(i for i in self.inputs if i.ref.qualified == qualified)


def plan(
    spark: SparkSession,
    ctx: RunContext,
    consumer: catalog.Table,
    inputs: Sequence[catalog.Table],
    *,
    full_refresh: bool = False,
    marks: Mapping[str, state.CursorState] | None = None,
) -> Batch | str:
    """The batch of this run, or a note saying why there is nothing to do.

    Input tables without a change data feed get it turned on (it serves from the next
    version on; until then the consumer reads snapshots). ``marks``: the watermarks when
    already loaded (:func:`refresh_all` loads those of a whole step at once).
    """
    target = ctx.ref(consumer)
    infos: list[tuple[tables.TableRef, TableInfo]] = []
    for source in inputs:
        ref = ctx.ref(source)
        info = tables.table_info(spark, ref, history=False)  # id and version: no job
        if info is None:
            return f"{ref.qualified} does not exist yet"
        delta.enable_change_feed(spark, ref.path, info)
        infos.append((ref, info))
    names = [watermark_name(consumer.qualified, ref.qualified) for ref, _ in infos]
    if marks is None:
        marks = state.load_many(spark, ctx.ref(catalog.CURSORS), names)
    planned = []
    for (ref, info), name in zip(infos, names, strict=True):
        mark = marks.get(name)
        since = None
        if mark is not None and mark.value:
            if mark.table_id == info.table_id:
                since = int(mark.value)
            else:
                log.warning("%s: %s was recreated (table id changed); recomputing from its snapshot",
                            consumer.qualified, ref.qualified)
        planned.append(Input(ref, info, since))
    target_exists = tables.exists(spark, target)
    if target_exists and not full_refresh and not any(i.changed for i in planned):
        return "; ".join(f"{i.ref.qualified} unchanged since version {i.since}" for i in planned)
    full = full_refresh or not target_exists or any(i.since is None for i in planned)
    return Batch(consumer.qualified, target, tuple(planned), full)


def commit(spark: SparkSession, ctx: RunContext, *batches: Batch) -> None:
    """Saves the watermarks of ``batches`` (the versions each processed) in one commit."""
    state.save(
        spark,
        ctx.ref(catalog.CURSORS),
        *[
            state.CursorState(
                name=watermark_name(batch.consumer, i.ref.qualified),
                value=str(i.version),
                table_id=i.info.table_id,
                table_version=i.version,
                run_id=ctx.run_id,
            )
            for batch in batches
            for i in batch.inputs
        ],
    )


@dataclass(frozen=True)
class Consumer:
    """One consumer of a step for :func:`refresh_all`: its table, inputs and ``process``."""

    table: catalog.Table
    inputs: Sequence[catalog.Table]
    process: Callable[[Batch], StepResult]
    #: the name its result carries (a gold model's ``gold.fct_tickets``; the step for silver)
    name: str


def refresh(
    spark: SparkSession,
    ctx: RunContext,
    *,
    step: str,
    consumer: catalog.Table,
    inputs: Sequence[catalog.Table],
    process: Callable[[Batch], StepResult],
    full_refresh: bool = False,
) -> StepResult:
    """Runs the incremental routine for ``consumer`` (see the module docstring).

    Returns:
        ``process``'s result under ``step`` with the elapsed time, or a result with
        zero counts and a note when there was nothing to do.
    """
    return refresh_all(spark, ctx, [Consumer(consumer, inputs, process, step)], full_refresh=full_refresh)[0]


def refresh_all(
    spark: SparkSession, ctx: RunContext, consumers: Sequence[Consumer], *, full_refresh: bool = False
) -> list[StepResult]:
    """Runs the routine for several consumers of one step, in order, with one watermark read and write.

    The watermarks of every consumer are loaded in one read before the first; those of the
    consumers that processed a batch are saved in one commit after the last (or, when one
    fails, after the ones before it: their writes have committed). A crash before that save
    only means the same changes are processed again.

    Returns:
        One result per consumer, under its ``name``, each with its own elapsed time.
    """
    names = [watermark_name(c.table.qualified, i.qualified) for c in consumers for i in c.inputs]
    marks = state.load_many(spark, ctx.ref(catalog.CURSORS), names)
    done: list[Batch] = []
    results = []
    try:
        for consumer in consumers:
            started = time.monotonic()
            batch = plan(spark, ctx, consumer.table, consumer.inputs, full_refresh=full_refresh, marks=marks)
            if isinstance(batch, str):
                results.append(StepResult(step=consumer.name, seconds=time.monotonic() - started, detail=batch))
                continue
            result = consumer.process(batch)
            done.append(batch)
            results.append(replace(result, step=consumer.name, seconds=time.monotonic() - started))
    except BaseException:
        if done:
            commit(spark, ctx, *done)
        raise
    if done:
        commit(spark, ctx, *done)
    return results
