"""generate / generate_day: determinism, next days, stats, clean output (no Spark, no servers)."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from careplus_spark.synthetic import GenerateSpec, GenerateStats, SqliteSink, generate, generate_day
from tests.synthetic_support import (
    CANONICAL_TS,
    SMALL,
    all_blocks,
    groups,
    is_event,
    log_files,
    parse_blocks,
    read_text,
    rows,
    run,
    tree_bytes,
)

# --- determinism ---------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_rows(tmp_path: Path) -> None:
    first, second = run(SMALL, tmp_path / "a"), run(SMALL, tmp_path / "b")
    assert first == second
    a, b = tree_bytes(tmp_path / "a" / "logs"), tree_bytes(tmp_path / "b" / "logs")
    assert len(a) == SMALL.days * SMALL.log_files_per_day
    assert a == b
    assert rows(tmp_path / "a" / "tickets.db") == rows(tmp_path / "b" / "tickets.db")


def test_different_seed_gives_different_data(tmp_path: Path) -> None:
    run(SMALL, tmp_path / "a")
    run(dataclasses.replace(SMALL, seed=43), tmp_path / "b")
    a, b = tree_bytes(tmp_path / "a" / "logs"), tree_bytes(tmp_path / "b" / "logs")
    assert [read_text(tmp_path / "a" / "logs" / k) for k in sorted(a)] != [
        read_text(tmp_path / "b" / "logs" / k) for k in sorted(b)
    ]
    assert rows(tmp_path / "a" / "tickets.db") != rows(tmp_path / "b" / "tickets.db")


def test_logs_do_not_depend_on_the_sink(tmp_path: Path) -> None:
    run(SMALL, tmp_path / "with")
    generate(SMALL, None, tmp_path / "without")
    assert tree_bytes(tmp_path / "with" / "logs") == tree_bytes(tmp_path / "without")


# --- next days -----------------------------------------------------------------------


def test_next_day_resolves_deletes_and_moves_updated_at(tmp_path: Path) -> None:
    spec = GenerateSpec(days=3, tickets_per_day=40, delete_per_day=3)
    run(spec, tmp_path)
    before = {r[0]: r for r in rows(tmp_path / "tickets.db")}
    stats = run(GenerateSpec(days=1, tickets_per_day=40, delete_per_day=3), tmp_path, first_day=3)
    after = {r[0]: r for r in rows(tmp_path / "tickets.db")}
    deleted = set(before) - set(after)
    changed = [t for t in set(before) & set(after) if before[t] != after[t]]
    new = set(after) - set(before)
    assert len(deleted) == stats.tickets_deleted == 3
    assert new == {f"TCK0704{i:03d}" for i in range(40)} and stats.tickets_inserted == 40
    assert len(changed) == stats.tickets_updated > 0
    for tid in changed:
        old, cur = before[tid], after[tid]
        assert old[3] is None and cur[3] is not None, "only open tickets get resolved"
        assert cur[9].strip().lower() in {"resolved", "closed"}
        assert cur[2] > old[2] and cur[2].startswith("2025-07-04 ")
        assert cur[:2] == old[:2] and cur[4:9] == old[4:9] and cur[10] == old[10]


def test_a_next_day_run_equals_a_longer_run(tmp_path: Path) -> None:
    run(GenerateSpec(days=4, tickets_per_day=25), tmp_path / "long")
    run(GenerateSpec(days=3, tickets_per_day=25), tmp_path / "split")
    messages: list[str] = []
    with SqliteSink(tmp_path / "split" / "tickets.db") as sink:
        spec = GenerateSpec(days=1, tickets_per_day=25)
        generate(spec, sink, tmp_path / "split" / "logs", first_day=3, progress=messages.append)
    assert len(messages) == 1 and messages[0].startswith("2025-07-04: tickets +25 ")
    assert rows(tmp_path / "long" / "tickets.db") == rows(tmp_path / "split" / "tickets.db")
    assert tree_bytes(tmp_path / "long" / "logs") == tree_bytes(tmp_path / "split" / "logs")


def test_generate_day_refuses_a_day_in_the_next_year(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="year"):
        generate_day(GenerateSpec(start_date=date(2025, 12, 31), days=1), 1, None, tmp_path)


def test_generate_day_refuses_a_negative_day_index(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="day_index"):
        generate_day(GenerateSpec(), -1, None, tmp_path)


# --- stats ---------------------------------------------------------------------------


def test_block_counts_match_stats(dirty: tuple[Path, GenerateStats]) -> None:
    root, stats = dirty
    blocks = all_blocks(root / "logs")
    events = [tuple(b) for b in blocks if is_event(b)]
    assert len(blocks) == stats.log_events
    assert len(blocks) - len(events) == stats.malformed_blocks > 0
    assert len(events) - len(set(events)) == stats.duplicate_events > 0
    assert stats.log_files == len(log_files(root / "logs")) == 14
    assert stats.bytes_written == sum(p.stat().st_size for p in log_files(root / "logs"))


# --- clean output --------------------------------------------------------------------

CLEAN = GenerateSpec.clean(days=2, tickets_per_day=50, log_files_per_day=3)


def test_zero_rates_give_perfectly_clean_log_files(tmp_path: Path) -> None:
    stats = run(CLEAN, tmp_path)
    known = {f"TCK070{d}{i:03d}" for d in (1, 2) for i in range(50)}
    assert stats.malformed_blocks == stats.duplicate_events == 0
    for path in log_files(tmp_path / "logs"):
        raw = path.read_bytes()
        assert path.suffix == ".log" and b"\r" not in raw and raw.isascii()
        assert raw.endswith(b"\n---\n")
        blocks = parse_blocks(raw.decode())
        assert all(is_event(b) for b in blocks)
        assert len({tuple(b) for b in blocks}) == len(blocks)
        for b in blocks:
            head, metrics = groups(0, b[0]), groups(1, b[1])
            assert head[1] in {"INFO", "DEBUG", "WARNING", "ERROR"}
            assert head[3] in known and int(metrics[1]) >= 0 and b[5] != "TraceID=None"


def test_zero_rates_give_perfectly_clean_ticket_rows(tmp_path: Path) -> None:
    run(CLEAN, tmp_path)
    table = rows(tmp_path / "tickets.db")
    assert table
    for r in table:
        assert all(v is None or (v.isascii() and v == v.strip()) for v in r), r
        assert CANONICAL_TS.match(r[1]) and (r[3] is None or CANONICAL_TS.match(r[3]))
        assert r[5] in {"High", "Medium", "Low"} and r[6].isdigit()
        assert r[8] in {"Chat", "Phone", "Web Form", "Email"}
        assert r[9] in ({"Open", "Escalated"} if r[3] is None else {"Resolved", "Closed"})
