"""What every pipeline step receives and returns."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from careplus_spark.platform.config import AppConfig
from careplus_spark.tables import TableRef


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique run id: ``20250701T020000Z-1a2b3c4d``."""
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
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
        """A table of this lakehouse."""
        return TableRef(database, name, self.cfg.lakehouse.root)


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
