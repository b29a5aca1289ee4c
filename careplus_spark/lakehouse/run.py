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
class StepResult:
    """Counts of one step; ``read == written + quarantined + skipped`` must hold."""

    step: str
    rows_read: int = 0
    rows_written: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    versions: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    detail: str = ""

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
        )
