"""What every pipeline step receives and returns: the run's context and the step's counts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from careplus_spark.lakehouse.catalog import Table
from careplus_spark.lakehouse.tables import TableRef
from careplus_spark.platform.config import AppConfig


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id: ``20250701T020000Z-1a2b3c4d``."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RunContext:
    """The configuration and identity of one run."""

    cfg: AppConfig
    run_id: str = field(default_factory=new_run_id)
    #: log files (paths or prefixes) to read again even when unchanged
    reprocess: tuple[str, ...] = ()
    #: log files modified on or after this date are read again
    since: dt.date | None = None
    #: gold is rebuilt from the whole of silver instead of this run's silver changes
    full_refresh: bool = False
    #: each step's Spark jobs, Delta commits and files are measured (:mod:`careplus_spark.pipeline.profile`)
    profile: bool = False

    def table(self, database: str, name: str) -> TableRef:
        """A table of this lakehouse by database and name."""
        return TableRef(database, name, self.cfg.lakehouse.root)

    def ref(self, table: Table) -> TableRef:
        """A catalog table in this lakehouse.

        Example:
            >>> ctx.ref(catalog.CURSORS).path  # doctest: +SKIP
            './lakehouse/ops/cursors'
        """
        return table.ref(self.cfg.lakehouse.root)


@dataclass(frozen=True)
class RuleShare:
    """How many of a step's ``checked`` rows one data-quality rule nulled or quarantined.

    ``threshold`` is the rule's alarm threshold (a share; None: it never alarms); ``alarm``
    the action taken because the share is above it (``warn`` or ``fail``), None when quiet.
    See :mod:`careplus_spark.quality.alarms`.
    """

    table: str
    rule: str
    check: str
    severity: str
    checked: int
    failed: int
    threshold: float | None = None
    alarm: str | None = None

    @property
    def name(self) -> str:
        """``<database>.<table>.<rule>``, as in ``quality.alarms.rules``."""
        return f"{self.table}.{self.rule}"

    @property
    def share(self) -> float | None:
        """``failed / checked``; None when no row was checked."""
        return self.failed / self.checked if self.checked else None

    def describe(self) -> str:
        """One line, e.g. ``silver.tickets.unparseable_created_at: 2 of 50 rows (4.00%) > threshold 1.00%``.

        Example:
            >>> RuleShare("silver.tickets", "unmapped_status", "mapping", "warn", 50, 1, 0.05).describe()
            'silver.tickets.unmapped_status: 1 of 50 rows (2.00%), threshold 5.00%'
        """
        limit = "no threshold" if self.threshold is None else f"threshold {self.threshold:.2%}"
        share = f" ({self.share:.2%})" if self.share is not None else ""
        relation = " > " if self.alarm else ", "
        return f"{self.name}: {self.failed:,} of {self.checked:,} rows{share}{relation}{limit}"


@dataclass(frozen=True)
class StepResult:
    """Counts of one step; ``read == written + quarantined + skipped`` must hold.

    ``quality`` holds the data-quality rules that nulled or quarantined rows of this step
    (non-zero counts only), ``alarms`` those of them whose share is above their threshold.
    """

    step: str
    rows_read: int = 0
    rows_written: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    versions: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    detail: str = ""
    quality: tuple[RuleShare, ...] = ()

    @property
    def alarms(self) -> tuple[RuleShare, ...]:
        """The rules of :attr:`quality` that raised an alarm."""
        return tuple(r for r in self.quality if r.alarm)

    @classmethod
    def combine(cls, step: str, parts: Sequence[StepResult], seconds: float) -> StepResult:
        """One result for a step made of ``parts`` (counts summed, details labelled by part).

        Example:
            >>> StepResult.combine("gold", [StepResult("a", rows_read=2), StepResult("b", rows_read=3)], 1.0).rows_read
            5
        """
        versions: dict[str, int] = {}
        for part in parts:
            versions.update(part.versions)
        return cls(
            step=step,
            rows_read=sum(p.rows_read for p in parts),
            rows_written=sum(p.rows_written for p in parts),
            rows_updated=sum(p.rows_updated for p in parts),
            rows_quarantined=sum(p.rows_quarantined for p in parts),
            rows_skipped=sum(p.rows_skipped for p in parts),
            versions=versions,
            seconds=seconds,
            detail="; ".join(f"{p.step}: {p.detail}" for p in parts),
            quality=tuple(r for p in parts for r in p.quality),
        )
