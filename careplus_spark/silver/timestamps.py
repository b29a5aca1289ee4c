"""Timestamps from the text (or numbers) that real exports carry: ``Column -> Column`` helpers.

A value is not tried against a list of formats. One regular expression recognises its
layout and rewrites its parts into one canonical text, ``yyyy-MM-dd HH:mm:ss.fffffffff+hh:mm``,
which is parsed once (``try_to_timestamp``: NULL when the calendar rejects it).

Layouts parsed by default (the text is trimmed; ``T``, ``Z`` and ``UTC`` in any case):

- a year-first date ``2025-07-01``, ``2025/07/01`` or ``2025.07.01`` (the same separator
  twice; month and day may have one digit; years 1000-9999). A date alone is midnight;
- then ``T`` or spaces and a time ``07:11``, ``07:11:00`` or ``07:11:00.123456789``: 1 to 9
  digits of fraction after ``.`` or ``,``, truncated to microseconds as Spark does;
- then, optionally, an offset ``Z``, ``UTC``, ``+02:00``, ``+0200`` or ``-05``: the value is
  converted to UTC. Without one, the value already is a UTC wall-clock time;
- a number (digits with an optional fraction as text, or a numeric column) is an epoch,
  told apart by magnitude: **seconds** when ``10^8 <= n < 10^10`` (9 or 10 digits),
  **milliseconds** when ``10^11 <= n < 10^13`` (12 or 13 digits). Both ranges span
  1973-03-03 to 2286-11-20; any other number (``0``, ``20250701``, 11 or 14 digits) is NULL.

Day-first (``01/07/2025 07:11``) and month-first (``07/01/2025 07:11``) dates are
ambiguous: parsed only when :class:`TimestampLayouts` asks for one of them (never both),
with the same times and offsets. ``extra_formats`` are Spark datetime patterns tried when
no layout above matches, before a number is read as an epoch.

Zero dates (``0000-00-00 ...`` and the configured ``zero_dates``), impossible dates
(``2025-02-30``, ``24:00``) and anything else are NULL.

The result does not depend on ``spark.sql.session.timeZone``: the canonical text always
carries its offset, epochs are instants, and an extra format without a zone field is
parsed with ``+00:00`` appended. Run the parsing inside
:func:`~careplus_spark.silver.ticket_cleaning.corrected_time_parser` on Spark 3.5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

if TYPE_CHECKING:
    from pyspark.sql import Column

#: The one pattern the canonical text is parsed with.
CANONICAL_PATTERN = "yyyy-MM-dd HH:mm:ss.SSSSSSSSSXXX"
#: Epoch numbers: seconds within ``[EPOCH_S[0], EPOCH_S[1])``, milliseconds within ``EPOCH_MS``.
EPOCH_S = (10**8, 10**10)
EPOCH_MS = (10**11, 10**13)
#: Spark type names read as epoch numbers.
NUMERIC_TYPES = frozenset({"tinyint", "smallint", "int", "bigint", "float", "double"})

# Groups after the date: 5 hour, 6 minute, 7 second, 8 fraction, 9 Z/UTC, 10 sign, 11 offset hours,
# 12 offset minutes. The whole time (and an offset) is optional.
_TIME = (
    r"(?:(?:T|\s+)([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"\s*(?:(Z|UTC)|([+-])([0-9]{2})(?::?([0-9]{2}))?)?)?"
)
_YEAR, _PART = r"([1-9][0-9]{3})", r"([0-9]{1,2})"
#: Groups 1-4: year, separator, month, day (year first) ...
YEAR_FIRST = rf"(?i)^\s*{_YEAR}([-/.]){_PART}\2{_PART}{_TIME}\s*$"
#: ... day or month, separator, month or day, year (day first, month first).
YEAR_LAST = rf"(?i)^\s*{_PART}([-/.]){_PART}\2{_YEAR}{_TIME}\s*$"
EPOCH = r"^\s*[0-9]{1,15}(?:\.[0-9]{1,9})?\s*$"
_TIME_PARTS = "$5|$6|$7|$8|$10|$11|$12"
#: The parts ``year|month|day|hour|minute|second|fraction|sign|offset hours|offset minutes``
#: of a value, in the group numbers of its layout's pattern (an unmatched group gives "").
_PARTS = {
    "year_first": (YEAR_FIRST, f"$1|$3|$4|{_TIME_PARTS}"),
    "day_first": (YEAR_LAST, f"$4|$3|$1|{_TIME_PARTS}"),
    "month_first": (YEAR_LAST, f"$4|$1|$3|{_TIME_PARTS}"),
}
_ZONE_LETTERS = re.compile(r"[XxZOVz]")


@dataclass(frozen=True)
class TimestampLayouts:
    """Which layouts :func:`parse_timestamp` accepts besides the year-first default ones.

    Attributes:
        zero_dates: texts that mean "no date" (compared after trimming); ``0000-00-00 ...`` is
            NULL anyway (years before 1000 are refused).
        day_first: also read ``dd/MM/yyyy`` (any of ``-/.``), e.g. ``01/07/2025 07:11``.
        month_first: also read ``MM/dd/yyyy``; never together with ``day_first``.
        extra_formats: Spark datetime patterns tried, in order, when no layout matches.

    Raises:
        ValueError: both ``day_first`` and ``month_first``.
    """

    zero_dates: tuple[str, ...] = ()
    day_first: bool = False
    month_first: bool = False
    extra_formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.day_first and self.month_first:
            raise ValueError("day_first and month_first exclude each other: 01/07/2025 would be ambiguous")


#: Year-first layouts and epochs only.
DEFAULT_LAYOUTS = TimestampLayouts()


def parse_timestamp(col: Column, layouts: TimestampLayouts = DEFAULT_LAYOUTS) -> Column:
    """A UTC timestamp from text in any supported layout; zero dates and garbage become NULL.

    Example:
        >>> df.select(parse_timestamp(F.col("created_at"), TimestampLayouts(day_first=True)))  # doctest: +SKIP
    """
    text = F.trim(col.cast("string"))
    if layouts.zero_dates:
        text = F.when(~text.isin(*layouts.zero_dates), text)
    # The parts are computed once per value: a coalesce's first argument is always evaluated,
    # so Spark shares its repeated sub-expressions (inside a CASE branch it would not).
    parts: Any = F
    for order in ("year_first", "day_first", "month_first"):
        if order == "year_first" or getattr(layouts, order):
            pattern, replacement = _PARTS[order]
            parts = parts.when(text.rlike(pattern), F.regexp_replace(text, pattern, replacement))
    extra = [_parse_format(text, f) for f in layouts.extra_formats]
    epoch = F.when(text.rlike(EPOCH), text).cast("decimal(24,9)")
    return F.coalesce(_parse_parts(parts), *extra, parse_epoch(epoch))


def parse_epoch(number: Column) -> Column:
    """A timestamp from epoch seconds or milliseconds, told apart by magnitude (see the module).

    Example:
        >>> df.select(parse_epoch(F.col("created_epoch")))  # doctest: +SKIP
    """
    n = F.when((number >= EPOCH_S[0]) & (number < EPOCH_MS[1]), number).cast("decimal(24,9)")
    micros = F.when(n < EPOCH_S[1], n * 1_000_000).when(n >= EPOCH_MS[0], n * 1_000)
    return F.timestamp_micros(micros.cast("long"))


def timestamp_of(col: Column, spark_type: str, layouts: TimestampLayouts = DEFAULT_LAYOUTS) -> Column:
    """A UTC timestamp from a source column of any type: kept, epoch number, or parsed text.

    A ``timestamp`` column is kept (it already is an instant); numbers are epochs
    (:func:`parse_epoch`); anything else (text, ``date``, ``timestamp_ntz``) goes through its
    text, which for ``date`` / ``timestamp_ntz`` does not depend on the session time zone.

    Args:
        col: the source column.
        spark_type: its Spark type name as in ``df.dtypes`` (``"string"``, ``"bigint"``, ...).
        layouts: the accepted layouts of text.
    """
    if spark_type == "timestamp":
        return col
    if spark_type in NUMERIC_TYPES or spark_type.startswith("decimal"):
        return parse_epoch(col)
    return parse_timestamp(col, layouts)


def has_zone_field(pattern: str) -> bool:
    """Whether a Spark datetime pattern reads a zone or offset (letters outside quotes)."""
    return bool(_ZONE_LETTERS.search(re.sub(r"'[^']*'", "", pattern)))


def _parse_parts(parts: Column) -> Column:
    """Parses ``year|month|day|hour|minute|second|fraction|sign|hh|mm`` (see :data:`_PARTS`); NULL stays NULL."""
    p = F.split(parts, r"\|")

    def item(i: int) -> Column:
        return F.try_element_at(p, F.lit(i + 1))

    def two(i: int) -> Column:
        return F.lpad(item(i), 2, "0")  # "" -> "00"

    offset = F.when(item(7) == "", F.lit("+00:00")).otherwise(F.concat(item(7), item(8), F.lit(":"), two(9)))
    canonical = F.concat(
        item(0), F.lit("-"), two(1), F.lit("-"), two(2), F.lit(" "), two(3), F.lit(":"), two(4), F.lit(":"),
        two(5), F.lit("."), F.rpad(item(6), 9, "0"), offset,
    )
    return F.try_to_timestamp(canonical, F.lit(CANONICAL_PATTERN))


def _parse_format(text: Column, pattern: str) -> Column:
    """``text`` in a Spark pattern; without a zone field it is read as UTC, whatever the session's zone."""
    if has_zone_field(pattern):
        return F.try_to_timestamp(text, F.lit(pattern))
    return F.try_to_timestamp(F.concat(text, F.lit("|+00:00")), F.lit(f"{pattern}'|'XXX"))
