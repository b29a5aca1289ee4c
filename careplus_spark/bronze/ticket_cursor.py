"""The tickets cursor in ``ops.cursors`` and the delete-reconciliation schedule it carries.

The cursor row is named ``tickets:<source table>``; its value is the ``updated_at`` upper
end of the last window, in the source's own text form. Its attributes count the ingest
runs since deletes were last reconciled and say when that was
(:class:`ReconcileSchedule`), so the cursor and the schedule move in one state write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from careplus_spark.lakehouse.state import CursorState, check_name
from careplus_spark.platform.config import TicketsSourceConfig

_RUNS = "runs_since_reconcile"
_LAST = "last_reconciled_at"


def cursor_name(source: TicketsSourceConfig) -> str:
    """The name of the tickets cursor in ``ops.cursors`` and in bronze commits.

    Raises:
        ConfigError: the configured table name cannot form a valid cursor name.
    """
    return check_name(f"tickets:{source.table}")


@dataclass(frozen=True)
class ReconcileSchedule:
    """Ingest runs since deletes were last reconciled, and when that was (None: never)."""

    runs_since: int = 0
    last_at: dt.datetime | None = None

    @classmethod
    def of(cls, state: CursorState | None) -> ReconcileSchedule:
        """The schedule stored in a cursor's attributes (a fresh one when there is none).

        Example:
            >>> ReconcileSchedule.of(CursorState("tickets:t", "x", attributes={"runs_since_reconcile": "3"}))
            ReconcileSchedule(runs_since=3, last_at=None)
        """
        attributes = state.attributes if state is not None else {}
        last = attributes.get(_LAST)
        return cls(int(attributes.get(_RUNS, 0) or 0), dt.datetime.fromisoformat(last) if last else None)

    def attributes(self) -> dict[str, str]:
        """The schedule as cursor attributes.

        Example:
            >>> ReconcileSchedule(2, dt.datetime(2025, 7, 1, 2, 0)).attributes()
            {'runs_since_reconcile': '2', 'last_reconciled_at': '2025-07-01T02:00:00'}
        """
        values = {_RUNS: str(self.runs_since)}
        if self.last_at is not None:
            values[_LAST] = self.last_at.isoformat()
        return values
