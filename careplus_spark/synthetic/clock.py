"""Time helpers: timestamp formats and the ``updated_at`` values of one day's writes.

Times inside a day are integers (seconds or microseconds since midnight) so that the hot
loops never build ``datetime`` objects.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

US_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400
US_PER_DAY = SECONDS_PER_DAY * US_PER_SECOND

#: created_at / resolved_at are written in this format unless a dirty trait applies.
CANONICAL_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Other formats of created_at / resolved_at (``mixed_timestamp_formats``); the
#: ``%d/%m/%Y`` one is day-first and has no seconds.
ALTERNATE_FORMATS: tuple[str, ...] = ("%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%SZ")
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
    """Shapes the ``updated_at`` values of one day's writes: ties and late commits.

    Writes come in streams (the day's resolutions, then its new tickets), each in
    batches in commit order. Within a stream a row may be a *late commit* (its
    ``updated_at`` minutes before the latest one already written) or *tie* with the row
    before it. :meth:`tie_last_two` makes the day's maximum shared by two rows so that
    an incremental cursor meets a boundary tie.
    """

    __slots__ = ("_rng", "_ties", "_late", "_stream_max", "day_max")

    def __init__(self, rng: random.Random, ties: float, late: float) -> None:
        """Create a clock drawing from ``rng`` with the given tie and late rates."""
        self._rng = rng
        self._ties = ties
        self._late = late
        self._stream_max = -1
        self.day_max = -1

    def start_stream(self) -> None:
        """Begin a new stream of writes (late commits are relative to their stream)."""
        self._stream_max = -1

    def adjust(self, created_us: Sequence[int], updated_us: list[int]) -> None:
        """Apply late commits and ties in place to one batch, in commit order.

        Args:
            created_us: Lower bound of each row's updated_at (its creation time, or 0).
            updated_us: The rows' updated_at in microseconds since midnight (modified).
        """
        rng = self._rng
        for j, created in enumerate(created_us):
            if rng.random() < self._late and self._stream_max - created > 60 * US_PER_SECOND:
                lag = rng.randrange(*_LATE_LAG_US)
                updated_us[j] = max(created, self._stream_max - lag)
            if j and rng.random() < self._ties:
                updated_us[j - 1] = updated_us[j] = max(updated_us[j - 1], updated_us[j])
            self._stream_max = max(self._stream_max, updated_us[j])
        self.day_max = max(self.day_max, self._stream_max)

    def tie_last_two(self, updated_us: list[int]) -> None:
        """Give the last two rows the day's maximum updated_at (if ties are enabled)."""
        if self._ties <= 0 or len(updated_us) < 2:
            return
        top = max(self.day_max, updated_us[-1], updated_us[-2])
        updated_us[-1] = updated_us[-2] = top
        self.day_max = top
