"""Unit tests of the synthetic source generator (no Spark, no servers)."""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
import sqlite3
import subprocess
import sys
import tracemalloc
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from careplus_spark.errors import ConfigError, SourceUnavailableError
from careplus_spark.synthetic import (
    TICKET_COLUMNS,
    GenerateSpec,
    GenerateStats,
    SqliteSink,
    generate,
    generate_day,
    parse_mysql_url,
    sink_for_url,
)
from careplus_spark.synthetic.blocks import file_blocks
from careplus_spark.synthetic.clock import hms_table
from careplus_spark.synthetic.logfiles import LogFilePlan, write_log_file
from careplus_spark.synthetic.spec import stream_rng

REPO = Path(__file__).resolve().parents[2]

LINE_PATTERNS = (
    re.compile(
        r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \[(\w+)\] (careplus\.support\.\w+) - "
        r"TicketID=(TCK\d+) SessionID=sess_(TCK\d+)$"
    ),
    re.compile(
        r"^IP=(\d{1,3}(?:\.\d{1,3}){3}) \| ResponseTime=(-?\d+)ms \| CPU=(\d{1,2}\.\d{2})% \| "
        r"EventType=(\w+) \| Error=(true|false)$"
    ),
    re.compile(r'^UserAgent="([^"]+)"$'),
    re.compile(r'^Message="([^"]+)"$'),
    re.compile(r'^Debug="([^"]+)"$'),
    re.compile(r"^TraceID=(None|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"),
)
CANONICAL_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
UPDATED_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
ALTERNATE_TS = {
    "iso_t": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"),
    "day_first": re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$"),
    "iso_z": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"),
}

SMALL = GenerateSpec(days=2, tickets_per_day=30, log_files_per_day=2, gzip_file=0.5, crlf_file=0.5)
DIRTY = GenerateSpec(
    seed=7,
    days=2,
    tickets_per_day=80,
    events_per_ticket=4.0,
    log_files_per_day=6,
    empty_file_per_day=1,
    dirty_priority=0.3,
    dirty_case=0.3,
    invalid_interactions=0.3,
    zero_date=0.15,
    mixed_timestamp_formats=0.5,
    unparseable_created_at=0.1,
    trailing_spaces=0.3,
    dirty_level=0.3,
    negative_response=0.2,
    duplicate_event=0.2,
    trace_none=0.5,
    non_ascii=0.3,
    unknown_ticket_event=0.1,
    crlf_file=0.5,
    gzip_file=0.5,
    missing_last_delimiter=0.5,
    malformed_block=0.1,
    late_update_fraction=0.3,
    updated_at_ties=0.3,
)


# --- helpers: a plain reader of what was generated -----------------------------------


def log_files(root: Path) -> list[Path]:
    """Every generated log file under ``root``, sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file())


def read_text(path: Path) -> str:
    """The decoded text of a log file (gzip aware), line ends untouched."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")


def parse_blocks(text: str) -> list[list[str]]:
    """Split a file into blocks on lines equal to '---'; a trailing block counts too."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line == "---":
            blocks.append(current)
            current = []
        else:
            current.append(line)
    if current:
        blocks.append(current)
    return blocks


def is_event(block: list[str]) -> bool:
    """True when the block is exactly six lines each matching its pattern."""
    return len(block) == 6 and all(
        p.match(line) for p, line in zip(LINE_PATTERNS, block, strict=True)
    )


def groups(index: int, line: str) -> tuple[str, ...]:
    """The groups of LINE_PATTERNS[index] in ``line`` (fails the test if it does not match)."""
    match = LINE_PATTERNS[index].match(line)
    if match is None:
        raise AssertionError(f"{line!r} does not match line pattern {index}")
    return match.groups()


def all_blocks(root: Path) -> list[list[str]]:
    return [b for path in log_files(root) for b in parse_blocks(read_text(path))]


def rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM support_tickets ORDER BY ticket_id").fetchall()


def run(spec: GenerateSpec, root: Path, first_day: int = 0) -> GenerateStats:
    with SqliteSink(root / "tickets.db") as sink:
        return generate(spec, sink, root / "logs", first_day=first_day)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in log_files(root)}


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats]:
    root = tmp_path_factory.mktemp("dirty")
    return root, run(DIRTY, root)


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


def test_output_does_not_depend_on_process_hash_seed(tmp_path: Path) -> None:
    generate(SMALL, None, tmp_path / "here")
    code = (
        "import sys; from pathlib import Path; from careplus_spark.synthetic import *; "
        f"generate(GenerateSpec(**{{**GenerateSpec().__dict__, **{_small_overrides()!r}}}), "
        "None, Path(sys.argv[1]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], check=True, env=env)
    assert tree_bytes(tmp_path / "here") == tree_bytes(tmp_path / "there")


def _small_overrides() -> dict[str, Any]:
    return {k: v for k, v in SMALL.__dict__.items() if v != getattr(GenerateSpec(), k)}


def test_logs_do_not_depend_on_the_sink(tmp_path: Path) -> None:
    run(SMALL, tmp_path / "with")
    generate(SMALL, None, tmp_path / "without")
    assert tree_bytes(tmp_path / "with" / "logs") == tree_bytes(tmp_path / "without")


# --- tickets: schema, next days, updated_at ------------------------------------------


def test_sqlite_schema_and_updated_at_index(tmp_path: Path) -> None:
    run(GenerateSpec(days=1, tickets_per_day=5), tmp_path)
    with sqlite3.connect(tmp_path / "tickets.db") as conn:
        info = conn.execute("PRAGMA table_info(support_tickets)").fetchall()
        indexes = conn.execute("PRAGMA index_list(support_tickets)").fetchall()
        indexed = [conn.execute(f"PRAGMA index_info({i[1]})").fetchall() for i in indexes]
    assert tuple(c[1] for c in info) == TICKET_COLUMNS
    assert {c[1]: (c[2], c[3]) for c in info}["updated_at"] == ("TEXT", 1)
    assert {c[1]: c[5] for c in info}["ticket_id"] == 1
    assert any(cols and cols[0][2] == "updated_at" for cols in indexed)


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


def test_updated_at_inside_the_write_day_with_boundary_ties(tmp_path: Path) -> None:
    spec = GenerateSpec(days=1, tickets_per_day=300, updated_at_ties=0.2)
    run(spec, tmp_path)
    table = rows(tmp_path / "tickets.db")
    updated = [r[2] for r in table]
    assert all(UPDATED_TS.match(u) and u.startswith("2025-07-01 ") for u in updated)
    for r in table:
        if CANONICAL_TS.match(r[1]):
            assert r[2] >= r[1], r
    counts = Counter(updated)
    assert counts[max(updated)] >= 2, "the day's maximum updated_at must be shared"
    assert sum(1 for n in counts.values() if n > 1) >= 10


def test_late_commits_put_earlier_updated_at_after_later_ones(tmp_path: Path) -> None:
    def late_rows(rate: float) -> int:
        spec = GenerateSpec(
            days=1,
            tickets_per_day=300,
            initially_resolved=0.0,
            late_update_fraction=rate,
            updated_at_ties=0.0,
        )
        root = tmp_path / str(rate)
        run(spec, root)
        with sqlite3.connect(root / "tickets.db") as conn:
            ordered = [
                r[0] for r in conn.execute("SELECT updated_at FROM support_tickets ORDER BY rowid")
            ]
        newest, late = "", 0
        for value in ordered:
            stamp = datetime.fromisoformat(value).timestamp()
            late += bool(newest) and stamp < datetime.fromisoformat(newest).timestamp() - 660
            newest = max(newest, value)
        return late

    assert late_rows(0.0) == 0
    assert late_rows(0.3) >= 20


# --- dirty traits --------------------------------------------------------------------


def test_every_ticket_dirty_trait_appears(dirty: tuple[Path, GenerateStats]) -> None:
    table = rows(dirty[0] / "tickets.db")
    col = {name: [r[i] for r in table] for i, name in enumerate(TICKET_COLUMNS)}
    assert {"Hgh", "Medum", "Lw"} <= {p.strip() for p in col["priority"]}
    for name, canon in (
        ("priority", {"High", "Medium", "Low"}),
        ("channel", {"Chat", "Phone", "Web Form", "Email"}),
        ("status", {"Open", "Resolved", "Escalated", "Closed"}),
    ):
        assert any(v != v.strip() for v in col[name]), f"no surrounding spaces in {name}"
        assert any(
            v.strip() not in canon and v.strip().title() in {c.title() for c in canon}
            for v in col[name]
        ), name
    assert "-999999" in col["num_interactions"]
    assert any(not v.lstrip("-").isdigit() for v in col["num_interactions"])
    assert (
        "0000-00-00 00:00:00" in col["created_at"] and "0000-00-00 00:00:00" in col["resolved_at"]
    )
    for name, pattern in ALTERNATE_TS.items():
        assert any(pattern.match(v) for v in col["created_at"]), name
        assert any(v and pattern.match(v) for v in col["resolved_at"]), name
    assert any(v[0].isalpha() or v.startswith("#") for v in col["created_at"]), (
        "no unparseable created_at"
    )
    for name in ("agent", "IssUeCat", "agent_feedback"):
        assert any(v.endswith(" ") for v in col[name]), f"no trailing spaces in {name}"
    assert any(not v.isascii() for v in col["agent_feedback"])


def test_every_log_dirty_trait_appears(dirty: tuple[Path, GenerateStats]) -> None:
    root = dirty[0] / "logs"
    files = log_files(root)
    texts = {p: read_text(p) for p in files if p.stat().st_size}
    events = [b for b in all_blocks(root) if is_event(b)]
    heads = [groups(0, b[0]) for b in events]
    assert {"INF0", "DEBG", "EROR", "warnING"} <= {h[1] for h in heads}
    assert any(groups(1, b[1])[1].startswith("-") for b in events)
    assert {"TraceID=None"} < {b[5] for b in events}
    assert any(not b[3].isascii() for b in events) and any(not b[4].isascii() for b in events)
    known = {f"TCK070{d}{i:03d}" for d in (1, 2) for i in range(DIRTY.tickets_per_day)}
    assert any(h[3] not in known for h in heads)
    assert any(p.name.endswith(".log.gz") for p in files) and any(
        p.name.endswith(".log") for p in files
    )
    assert any("\r\n" in t for t in texts.values())
    assert any(not t.rstrip("\r\n").endswith("---") for t in texts.values())
    assert [p.name for p in files if p.stat().st_size == 0] == [
        "app-2025-07-01-6.log",
        "app-2025-07-02-6.log",
    ]


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
    kinds = Counter(_malformed_kind(b) for b in bad)
    assert set(kinds) == {"missing", "extra", "truncated", "garbage"}, kinds


def _malformed_kind(block: list[str]) -> str:
    if not block[0][:1].isdigit():
        return "garbage"
    if len(block) == 7 and LINE_PATTERNS[0].match(block[0]):
        return "extra"
    if len(block) == 5 and all(any(p.match(line) for p in LINE_PATTERNS) for line in block):
        return "missing"
    if len(block) < 6 and not any(p.match(block[-1]) for p in LINE_PATTERNS):
        return "truncated"
    return "unknown"


def test_block_counts_match_stats(dirty: tuple[Path, GenerateStats]) -> None:
    root, stats = dirty
    blocks = all_blocks(root / "logs")
    events = [tuple(b) for b in blocks if is_event(b)]
    assert len(blocks) == stats.log_events
    assert len(blocks) - len(events) == stats.malformed_blocks > 0
    assert len(events) - len(set(events)) == stats.duplicate_events > 0
    assert stats.log_files == len(log_files(root / "logs")) == 14
    assert stats.bytes_written == sum(p.stat().st_size for p in log_files(root / "logs"))


def test_gzip_and_crlf_files(dirty: tuple[Path, GenerateStats]) -> None:
    for path in log_files(dirty[0] / "logs"):
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            assert raw[:2] == b"\x1f\x8b"
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
            assert raw
        crlf, lf = raw.count(b"\r\n"), raw.count(b"\n")
        assert crlf in (0, lf), f"{path.name} mixes line ends"
    assert not list((dirty[0] / "logs").rglob(".*"))


# --- clean output --------------------------------------------------------------------


def test_zero_rates_give_perfectly_clean_output(tmp_path: Path) -> None:
    spec = GenerateSpec.clean(days=2, tickets_per_day=50, log_files_per_day=3)
    stats = run(spec, tmp_path)
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
    for r in rows(tmp_path / "tickets.db"):
        assert all(v is None or (v.isascii() and v == v.strip()) for v in r), r
        assert CANONICAL_TS.match(r[1]) and (r[3] is None or CANONICAL_TS.match(r[3]))
        assert r[5] in {"High", "Medium", "Low"} and r[6].isdigit()
        assert r[8] in {"Chat", "Phone", "Web Form", "Email"}
        assert r[9] in ({"Open", "Escalated"} if r[3] is None else {"Resolved", "Closed"})


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


def test_log_writing_is_streaming(tmp_path: Path) -> None:
    def peak_and_size(tickets: int) -> tuple[int, int]:
        spec = GenerateSpec(tickets_per_day=tickets, events_per_ticket=10.0, log_files_per_day=1)
        day, created = date(2025, 7, 1), [i * 86_400 // tickets for i in range(tickets)]
        blocks = file_blocks(spec, day, created, 0, stream_rng(1, day, "t"))
        tracemalloc.start()
        stats = write_log_file(LogFilePlan(tmp_path / f"{tickets}.log", 0), blocks)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak, stats.bytes_written

    hms_table()
    small_peak, small_size = peak_and_size(150)
    big_peak, big_size = peak_and_size(900)
    assert big_size > 5 * small_size and big_size > 3_000_000
    assert big_peak < small_peak + 300_000, f"peak {small_peak} -> {big_peak} bytes"
    assert big_peak < 3_000_000


# --- validation and connections ------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seed", "42"),
        ("start_date", datetime(2025, 7, 1)),
        ("days", 0),
        ("tickets_per_day", -1),
        ("log_files_per_day", 1.5),
        ("delete_per_day", -2),
        ("empty_file_per_day", 2),
        ("events_per_ticket", float("nan")),
        ("dirty_level", 1.5),
        ("trace_none", -0.1),
        ("gzip_file", "0.2"),
    ],
)
def test_spec_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        GenerateSpec(**{field: value}).validate()  # type: ignore[arg-type]


def test_spec_rejects_a_period_across_years_and_unknown_rates(tmp_path: Path) -> None:
    GenerateSpec(start_date=date(2025, 12, 29), days=3).validate()
    with pytest.raises(ValueError, match="year"):
        GenerateSpec(start_date=date(2025, 12, 29), days=4).validate()
    with pytest.raises(ValueError, match="year"):
        generate_day(GenerateSpec(start_date=date(2025, 12, 31), days=1), 1, None, tmp_path)
    with pytest.raises(ValueError, match="day_index"):
        generate_day(GenerateSpec(), -1, None, tmp_path)
    with pytest.raises(ValueError, match="dirty_levle"):
        GenerateSpec().with_rates({"dirty_levle": 0.1})
    assert GenerateSpec().with_rates({"dirty_level": 0.5}).dirty_level == 0.5


def test_sink_for_url_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with sink_for_url("jdbc:sqlite:./src/t.db?journal_mode=WAL", "", "") as sink:
        generate(GenerateSpec(days=1, tickets_per_day=3), sink, None)
    assert len(rows(tmp_path / "src" / "t.db")) == 3


def test_sink_for_url_rejects_unknown_urls_without_leaking_options() -> None:
    with pytest.raises(ConfigError, match="jdbc:postgresql") as info:
        sink_for_url("jdbc:postgresql://h/db?password=hunter2", "u", "hunter2")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigError, match="database"):
        parse_mysql_url("jdbc:mysql://db.example:3307/")
    assert parse_mysql_url("jdbc:mysql://db.example:3307/careplus?useSSL=false") == (
        "db.example",
        3307,
        "careplus",
    )
    assert parse_mysql_url("jdbc:mariadb://db.example/careplus") == ("db.example", 3306, "careplus")


def test_unreachable_sources_raise_source_unavailable_without_password(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailableError, match=r"127\.0\.0\.1:1/careplus") as info:
        sink_for_url("jdbc:mysql://127.0.0.1:1/careplus", "root", "S3cr3t-pw")
    assert "S3cr3t-pw" not in str(info.value) and info.value.__cause__ is None
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SourceUnavailableError, match=r"file/t\.db"):
        sink_for_url(f"jdbc:sqlite:{blocker}/t.db", "", "")


@pytest.mark.integration
def test_mysql_sink_round_trip(mysql_db: object) -> None:
    import pymysql

    url = mysql_db.jdbc_url  # type: ignore[attr-defined]
    user = mysql_db.user  # type: ignore[attr-defined]
    password = mysql_db.password  # type: ignore[attr-defined]
    table = "support_tickets_synthetic_test"
    spec = GenerateSpec(days=2, tickets_per_day=30, non_ascii=0.5, delete_per_day=2)
    with sink_for_url(url, user, password, table) as sink:
        stats = generate(spec, sink, None)
        stats = GenerateStats.of(stats.days + generate(spec, sink, None, first_day=2).days)
    host, port, database = parse_mysql_url(url)
    conn = pymysql.connect(
        host=host, port=port, user=user, password=password, database=database, charset="utf8mb4"
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*), MAX(updated_at), COUNT(resolved_at) FROM {table}")
            count, newest, resolved = cursor.fetchall()[0]
            cursor.execute(f"SELECT agent_feedback FROM {table}")
            feedback = [r[0] for r in cursor.fetchall()]
            cursor.execute(f"SHOW CREATE TABLE {table}")
            ddl = cursor.fetchall()[0][1]
            cursor.execute(f"DROP TABLE {table}")
    finally:
        conn.close()
    assert count == stats.tickets_inserted - stats.tickets_deleted == 4 * 30 - 3 * 2
    assert stats.tickets_updated > 0 and resolved > 0
    assert isinstance(newest, datetime) and newest.date() == date(2025, 7, 4)
    assert any(ord(ch) > 0xFFFF for text in feedback for ch in text), "4-byte emoji lost"
    assert "utf8mb4" in ddl and "datetime(6)" in ddl.lower() and "`IssUeCat`" in ddl
