"""Layouts of the generated created_at / resolved_at text, each written at its own rate.

Real exports mix layouts; every layout here stands for the same instant (a UTC wall-clock
time of the generator), except that a layout without seconds or without a time drops them.
One random draw picks the layout of a value (:class:`LayoutPicker`); the spec's ``ts_<name>``
rates are the probabilities, and the canonical ``2025-07-01 07:11:00`` takes the rest.

Silver parses all of them with the packaged mappings (which read day-first dates), except
``month_first``: it needs ``timestamps.month_first`` (and ``day_first`` off), so its rate is
0 by default.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

Formatter = Callable[[random.Random, datetime], str]

#: Every layout, with the text it gives for 2025-07-01 07:11:00 UTC.
LAYOUTS: Mapping[str, str] = {
    "iso_t": "2025-07-01T07:11:00",
    "iso_z": "2025-07-01T07:11:00Z",
    "slash": "2025/07/01 07:11:00",
    "dot": "2025.07.01 07:11:00",
    "no_seconds": "2025-07-01 07:11",
    "fraction": "2025-07-01 07:11:00.5, 2025-07-01T07:11:00.123456789Z (1-9 digits, ' ' or T, Z or not)",
    "offset": "2025-07-01T09:11:00+02:00, 2025-07-01T12:41:00+0530, 2025-07-01T02:11:00-05",
    "epoch_s": "1751353860",
    "epoch_ms": "1751353860123 (random milliseconds)",
    "date_only": "2025-07-01",
    "day_first": "01/07/2025 07:11",
    "month_first": "07/01/2025 07:11",
}
#: Offsets of the ``offset`` layout, in minutes east of UTC.
OFFSET_MINUTES: tuple[int, ...] = (120, 60, -300, 330, 540, -240)
_EPOCH = datetime(1970, 1, 1)


def canonical(value: datetime) -> str:
    """``2025-07-01 07:11:00``: the layout of every value no other layout is drawn for."""
    return value.isoformat(" ")  # == strftime("%Y-%m-%d %H:%M:%S") for whole seconds, and faster


def _fraction(rng: random.Random, value: datetime) -> str:
    digits = 1 + int(rng.random() * 9)
    fraction = f"{int(rng.random() * 10**digits):0{digits}d}"
    sep = "T" if rng.random() < 0.5 else " "
    zone = "Z" if rng.random() < 0.5 else ""
    return f"{value.strftime(f'%Y-%m-%d{sep}%H:%M:%S')}.{fraction}{zone}"


def _offset(rng: random.Random, value: datetime) -> str:
    """The same instant as local time at an offset: ``+hh:mm``, ``+hhmm``, or ``-hh`` (whole hours)."""
    minutes = OFFSET_MINUTES[int(rng.random() * len(OFFSET_MINUTES))]
    style = int(rng.random() * 3)
    hours, rest = divmod(abs(minutes), 60)
    sign = "+" if minutes >= 0 else "-"
    if style == 2 and rest == 0:
        zone = f"{sign}{hours:02d}"
    elif style == 1:
        zone = f"{sign}{hours:02d}{rest:02d}"
    else:
        zone = f"{sign}{hours:02d}:{rest:02d}"
    return (value + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S") + zone


def _epoch_seconds(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(seconds=1)


_FORMATTERS: Mapping[str, Formatter] = {
    "iso_t": lambda rng, v: v.strftime("%Y-%m-%dT%H:%M:%S"),
    "iso_z": lambda rng, v: v.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "slash": lambda rng, v: v.strftime("%Y/%m/%d %H:%M:%S"),
    "dot": lambda rng, v: v.strftime("%Y.%m.%d %H:%M:%S"),
    "no_seconds": lambda rng, v: v.strftime("%Y-%m-%d %H:%M"),
    "fraction": _fraction,
    "offset": _offset,
    "epoch_s": lambda rng, v: str(_epoch_seconds(v)),
    "epoch_ms": lambda rng, v: str(_epoch_seconds(v) * 1_000 + int(rng.random() * 1_000)),
    "date_only": lambda rng, v: v.strftime("%Y-%m-%d"),
    "day_first": lambda rng, v: v.strftime("%d/%m/%Y %H:%M"),
    "month_first": lambda rng, v: v.strftime("%m/%d/%Y %H:%M"),
}


@dataclass(frozen=True)
class LayoutPicker:
    """Writes a value in a layout drawn with the given rates (one ``rng.random()`` per value).

    Example:
        >>> picker = LayoutPicker.of({"slash": 0.1})
        >>> picker.format(random.Random(1), datetime(2025, 7, 1, 7, 11))
        '2025-07-01 07:11:00'
    """

    bounds: tuple[tuple[float, Formatter], ...]
    total: float

    @classmethod
    def of(cls, rates: Mapping[str, float]) -> LayoutPicker:
        """A picker for rates by layout name (missing names: 0).

        Raises:
            ValueError: an unknown layout, or rates adding up to more than 1.
        """
        unknown = sorted(set(rates) - set(LAYOUTS))
        if unknown:
            raise ValueError(f"unknown timestamp layout(s) {unknown}; known: {sorted(LAYOUTS)}")
        bounds, total = [], 0.0
        for name in LAYOUTS:
            if rates.get(name, 0.0) > 0:
                total += rates[name]
                bounds.append((total, _FORMATTERS[name]))
        if total > 1.0 + 1e-9:
            raise ValueError(f"the timestamp layout rates add up to {total:g}, more than 1")
        return cls(tuple(bounds), total)

    def format(self, rng: random.Random, value: datetime) -> str:
        """``value`` in the drawn layout (canonical when none is drawn)."""
        u = rng.random()
        if u >= self.total:
            return canonical(value)
        for bound, formatter in self.bounds:
            if u < bound:
                return formatter(rng, value)
        return canonical(value)  # rounding at the last bound
