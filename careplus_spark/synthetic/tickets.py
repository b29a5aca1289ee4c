"""Rows of the ``support_tickets`` source table: new tickets and next-day resolutions."""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from careplus_spark.synthetic import vocab
from careplus_spark.synthetic.clock import SECONDS_PER_DAY, UpdatedAtClock, format_updated, write_time_us
from careplus_spark.synthetic.layouts import LayoutPicker
from careplus_spark.synthetic.spec import GenerateSpec, stream_rng

#: One row in TICKET_COLUMNS order.
TicketRow = tuple[str, str, str, str | None, str, str, str, str, str, str, str]
#: One resolution: (ticket_id, resolved_at, status, updated_at).
TicketUpdate = tuple[str, str, str, str]

T = TypeVar("T")
BATCH_SIZE = 5_000
_RESOLUTION_BUCKETS: tuple[tuple[int, int], ...] = (
    (60, 3_599),  # under 1 hour
    (3_600, 86_399),  # under 1 day
    (86_400, 259_199),  # under 3 days
    (259_200, 1_209_600),  # over 3 days (up to 14 days)
)


def ticket_prefix(day: date) -> str:
    """Return ``TCK`` + ``MMDD``, the prefix of every ticket id created on ``day``."""
    return f"TCK{day.month:02d}{day.day:02d}"


def ticket_id(day: date, seq: int) -> str:
    """Return the id of the ``seq``-th ticket of ``day`` (3 digits, more past 999)."""
    return f"{ticket_prefix(day)}{seq:03d}"


def created_seconds(spec: GenerateSpec, day: date) -> array[int]:
    """Return the creation second (since midnight) of each ticket of ``day``, ascending.

    Ids increase with creation time, as they would at a real source.
    """
    rng = stream_rng(spec.seed, day, "created")
    rand = rng.random
    return array("l", sorted(int(rand() * SECONDS_PER_DAY) for _ in range(spec.tickets_per_day)))


@dataclass(frozen=True)
class _Draft:
    """A new ticket before its updated_at is final."""

    fields: tuple[str, str, str | None, str, str, str, str, str, str, str]
    updated_us: int

    def row(self, updated_at: str) -> TicketRow:
        f = self.fields
        return (f[0], f[1], updated_at, f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9])


def new_ticket_batches(
    spec: GenerateSpec,
    day: date,
    created: Sequence[int],
    clock: UpdatedAtClock,
    batch_size: int = BATCH_SIZE,
) -> Iterator[list[TicketRow]]:
    """Yield the new tickets of ``day`` in commit order, ``batch_size`` rows at a time.

    Args:
        spec: The generation spec.
        day: Date the tickets are created on.
        created: Creation seconds from :func:`created_seconds`.
        clock: The day's updated_at clock (already fed with the day's resolutions).
        batch_size: Rows per yielded batch (the last batch has at least two rows).

    Yields:
        Batches of rows in commit order (see :class:`UpdatedAtClock`).
    """
    rng = stream_rng(spec.seed, day, "tickets")
    layouts = LayoutPicker.of(spec.timestamp_layout_rates())
    for lo, hi in _chunk_bounds(len(created), batch_size):
        drafts = [_draft_ticket(rng, spec, layouts, day, seq, created[seq]) for seq in range(lo, hi)]
        updated = [d.updated_us for d in drafts]
        order = clock.adjust(updated, last=hi == len(created))
        yield [drafts[j].row(format_updated(day, updated[j])) for j in order]


def _chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    if size < 2:
        raise ValueError(f"batch_size must be >= 2, got {size}")
    bounds = [(lo, min(lo + size, n)) for lo in range(0, n, size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def _draft_ticket(
    rng: random.Random, spec: GenerateSpec, layouts: LayoutPicker, day: date, seq: int, created_s: int
) -> _Draft:
    created_dt = datetime(day.year, day.month, day.day) + timedelta(seconds=created_s)
    resolved_at: str | None = None
    base_s = created_s
    if rng.random() < spec.initially_resolved:
        low, high = _pick(rng, _RESOLUTION_BUCKETS)
        duration = low + int(rng.random() * (high - low + 1))
        resolved_at = _timestamp_text(rng, spec, layouts, created_dt + timedelta(seconds=duration))
        if created_s + duration < SECONDS_PER_DAY:
            base_s = created_s + duration
    statuses = vocab.OPEN_STATUSES if resolved_at is None else vocab.CLOSED_STATUSES
    fields = (
        ticket_id(day, seq),
        _created_text(rng, spec, layouts, created_dt),
        resolved_at,
        _trailing(rng, spec, _pick(rng, vocab.AGENTS)),
        _priority(rng, spec),
        _interactions(rng, spec),
        _trailing(rng, spec, _pick(rng, vocab.ISSUE_CATEGORIES)),
        _odd_case(rng, spec.dirty_case, _pick(rng, vocab.CHANNELS)),
        _odd_case(rng, spec.dirty_case, _pick(rng, statuses)),
        _feedback(rng, spec),
    )
    return _Draft(fields, write_time_us(rng, base_s))


def resolution_updates(
    rng: random.Random,
    spec: GenerateSpec,
    day: date,
    open_ids: Sequence[str],
    clock: UpdatedAtClock,
) -> list[TicketUpdate]:
    """Resolve a ``resolve_fraction`` of ``open_ids`` (tickets of earlier days) on ``day``.

    resolved_at is a time of ``day`` and updated_at a few minutes later (within ``day``).
    """
    chosen = [tid for tid in open_ids if rng.random() < spec.resolve_fraction]
    layouts = LayoutPicker.of(spec.timestamp_layout_rates())
    start = datetime(day.year, day.month, day.day)
    texts: list[tuple[str, str]] = []
    updated: list[int] = []
    for _ in chosen:
        second = int(rng.random() * SECONDS_PER_DAY)
        resolved_at = _timestamp_text(rng, spec, layouts, start + timedelta(seconds=second))
        status = _odd_case(rng, spec.dirty_case, _pick(rng, vocab.CLOSED_STATUSES))
        texts.append((resolved_at, status))
        updated.append(write_time_us(rng, second))
    order = clock.adjust(updated)
    return [(chosen[j], *texts[j], format_updated(day, updated[j])) for j in order]


def _pick(rng: random.Random, values: Sequence[T]) -> T:
    """Return a random element (cheaper than ``rng.choice``)."""
    return values[int(rng.random() * len(values))]


def _created_text(rng: random.Random, spec: GenerateSpec, layouts: LayoutPicker, value: datetime) -> str:
    if rng.random() < spec.unparseable_created_at:
        return _pick(rng, vocab.UNPARSEABLE_DATES)
    return _timestamp_text(rng, spec, layouts, value)


def _timestamp_text(rng: random.Random, spec: GenerateSpec, layouts: LayoutPicker, value: datetime) -> str:
    if rng.random() < spec.zero_date:
        return vocab.ZERO_DATE
    return layouts.format(rng, value)


def _odd_case(rng: random.Random, rate: float, value: str) -> str:
    if rng.random() >= rate:
        return value
    variants = (value.lower(), value.upper(), f" {value}", f"{value} ", f"  {value.lower()}  ")
    return _pick(rng, variants)


def _priority(rng: random.Random, spec: GenerateSpec) -> str:
    value = _pick(rng, vocab.PRIORITIES)
    if rng.random() < spec.dirty_priority:
        value = vocab.MISSPELT_PRIORITY[value]
    return _odd_case(rng, spec.dirty_case, value)


def _interactions(rng: random.Random, spec: GenerateSpec) -> str:
    if rng.random() < spec.invalid_interactions:
        return _pick(rng, vocab.INVALID_INTERACTIONS)
    return str(1 + int(rng.random() * 15))


def _trailing(rng: random.Random, spec: GenerateSpec, value: str) -> str:
    if rng.random() < spec.trailing_spaces:
        return value + " " * rng.randint(1, 3)
    return value


def _feedback(rng: random.Random, spec: GenerateSpec) -> str:
    if rng.random() < spec.non_ascii:
        value = _pick(rng, vocab.FEEDBACK_NON_ASCII)
    else:
        value = _pick(rng, vocab.FEEDBACK_ASCII)
    return _trailing(rng, spec, value)
