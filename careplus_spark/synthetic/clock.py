"""Time helpers: timestamp formats and the ``updated_at`` values of one day's writes.

Times inside a day are integers (seconds or microseconds since midnight) so that the hot
loops never build ``datetime`` objects.
"""

from __future__ import annotations

import random
from datetime import date
from functools import lru_cache

US_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400
US_PER_DAY = SECONDS_PER_DAY * US_PER_SECOND

#: created_at / resolved_at are written in this format unless a dirty trait applies (the
#: other layouts: :mod:`careplus_spark.synthetic.layouts`).
CANONICAL_FORMAT = "%Y-%m-%d %H:%M:%S"
#: updated_at text in SQLite (sorts lexicographically); MySQL stores DATETIME(6).
UPDATED_AT_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

_LATE_LAG_US = (60 * US_PER_SECOND, 1_800 * US_PER_SECOND)


@lru_cache(maxsize=1)
def hms_table() -> tuple[str, ...]:
    """Return the 86,400 ``HH:MM:SS`` strings of a day, indexed by second."""
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
    )


def format_updated(day: date, micros: int) -> str:
    """Format a time of ``day`` given in microseconds since midnight as UPDATED_AT_FORMAT."""
    if not 0 <= micros < US_PER_DAY:
        raise ValueError(f"updated_at must fall inside {day}, got {micros} us after midnight")
    seconds, fraction = divmod(micros, US_PER_SECOND)
    return f"{day.isoformat()} {hms_table()[seconds]}.{fraction:06d}"


def write_time_us(rng: random.Random, base_second: int, max_lag_s: int = 600) -> int:
    """Return a write time within ``max_lag_s`` after ``base_second``, inside the day."""
    base_us = base_second * US_PER_SECOND
    room = US_PER_DAY - base_us
    return base_us + rng.randrange(min(max_lag_s * US_PER_SECOND, room))


class UpdatedAtClock:
    """Shapes the ``updated_at`` values and the commit order of one day's writes.

    Writes come in batches (the day's resolutions, then its new tickets). Within a batch
    rows are committed in ``updated_at`` order, except *late commits*: rows committed
    1-30 minutes of ``updated_at`` later than their own value, i.e. after rows carrying a
    newer ``updated_at``. Some rows *tie* with their neighbour, and the day's last batch
    gives the day's maximum to two rows so that an incremental cursor meets a boundary tie.
    """

    __slots__ = ("_late", "_rng", "_ties", "day_max")

    def __init__(self, rng: random.Random, ties: float, late: float) -> None:
        """Create a clock drawing from ``rng`` with the given tie and late rates."""
        self._rng = rng
        self._ties = ties
        self._late = late
        self.day_max = -1

    def adjust(self, updated_us: list[int], last: bool = False) -> list[int]:
        """Apply ties in place to one batch and return its commit order.

        Args:
            updated_us: The rows' updated_at in microseconds since midnight (modified).
            last: This is the day's last batch: its last two rows get the day's maximum.

        Returns:
            Row indices in the order they are to be committed.
        """
        rng = self._rng
        for j in range(1, len(updated_us)):
            if rng.random() < self._ties:
                updated_us[j - 1] = updated_us[j] = max(updated_us[j - 1], updated_us[j])
        if updated_us:
            self.day_max = max(self.day_max, *updated_us)
        if last and self._ties > 0 and len(updated_us) >= 2:
            updated_us[-1] = updated_us[-2] = self.day_max
        keys = [
            u + rng.randrange(*_LATE_LAG_US) if rng.random() < self._late else u for u in updated_us
        ]
        return sorted(range(len(updated_us)), key=keys.__getitem__)
