"""Log blocks of the synthetic source: dirty values, duplicates, malformed kinds, value ranges."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from careplus_spark.synthetic import GenerateSpec, GenerateStats, generate
from tests.synthetic_support import (
    DIRTY,
    all_blocks,
    groups,
    is_event,
    log_files,
    malformed_kind,
    parse_blocks,
    read_text,
)


def test_every_dirty_value_of_an_event_appears(dirty: tuple[Path, GenerateStats]) -> None:
    events = [b for b in all_blocks(dirty[0] / "logs") if is_event(b)]
    heads = [groups(0, b[0]) for b in events]
    assert {"INF0", "DEBG", "EROR", "warnING"} <= {h[1] for h in heads}
    assert any(groups(1, b[1])[1].startswith("-") for b in events)
    assert {"TraceID=None"} < {b[5] for b in events}
    assert any(not b[3].isascii() for b in events) and any(not b[4].isascii() for b in events)
    known = {f"TCK070{d}{i:03d}" for d in (1, 2) for i in range(DIRTY.tickets_per_day)}
    assert any(h[3] not in known for h in heads)


def test_duplicates_are_adjacent_or_later(dirty: tuple[Path, GenerateStats]) -> None:
    adjacent = later = 0
    for path in log_files(dirty[0] / "logs"):
        seen: dict[tuple[str, ...], int] = {}
        for i, block in enumerate(parse_blocks(read_text(path))):
            key = tuple(block)
            if is_event(block) and key in seen:
                adjacent += seen[key] == i - 1
                later += seen[key] < i - 1
            seen[key] = i
    assert adjacent > 0 and later > 0


def test_every_malformed_kind_appears(dirty: tuple[Path, GenerateStats]) -> None:
    bad = [b for b in all_blocks(dirty[0] / "logs") if not is_event(b)]
    kinds = Counter(malformed_kind(b) for b in bad)
    assert set(kinds) == {"missing", "extra", "truncated", "garbage"}, kinds


def test_log_values_span_every_bucket(tmp_path: Path) -> None:
    generate(GenerateSpec.clean(days=1, tickets_per_day=200), None, tmp_path)
    metrics = [groups(1, b[1]) for b in all_blocks(tmp_path)]
    response = [int(m[1]) for m in metrics]
    cpu = [float(m[2]) for m in metrics]
    assert min(response) >= 20 and max(response) <= 5000
    assert all(
        any(lo <= v < hi for v in response) for lo, hi in ((0, 500), (500, 1000), (1000, 9999))
    )
    assert min(cpu) >= 1.0 and max(cpu) <= 99.99
    assert all(any(lo <= v < hi for v in cpu) for lo, hi in ((0, 50), (50, 80), (80, 100)))
