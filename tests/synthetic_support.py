"""Reading what the synthetic generator wrote, with plain Python: log blocks, ticket rows.

Shared by the generator tests (``tests/unit/synthetic/``, ``tests/integration/synthetic/``)
and the silver tests of generated tickets: the line patterns of a well-formed block, two specs
(a small clean-ish one and one with every dirty trait switched on), readers of the generated
files and SQLite rows, and an oracle of the created_at / resolved_at layouts: which layout a
text is in and the UTC instant it stands for, parsed with plain Python.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import sqlite3
from pathlib import Path
from typing import Any

from careplus_spark.synthetic import TIMESTAMP_RATE_FIELDS, GenerateSpec, GenerateStats, SqliteSink, generate

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
#: The shape of each generated layout but the canonical one (month_first has day_first's shape).
LAYOUT_TS = {
    "iso_t": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"),
    "iso_z": re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"),
    "slash": re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}$"),
    "dot": re.compile(r"^\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2}$"),
    "no_seconds": re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"),
    "fraction": re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}\.(\d{1,9})Z?$"),
    "offset": re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})([+-])(\d{2}):?(\d{2})?$"),
    "epoch_s": re.compile(r"^\d{10}$"),
    "epoch_ms": re.compile(r"^\d{13}$"),
    "date_only": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "day_first": re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$"),
}
_STRPTIME = {
    "canonical": "%Y-%m-%d %H:%M:%S",
    "iso_t": "%Y-%m-%dT%H:%M:%S",
    "iso_z": "%Y-%m-%dT%H:%M:%SZ",
    "slash": "%Y/%m/%d %H:%M:%S",
    "dot": "%Y.%m.%d %H:%M:%S",
    "no_seconds": "%Y-%m-%d %H:%M",
    "date_only": "%Y-%m-%d",
    "day_first": "%d/%m/%Y %H:%M",
    "month_first": "%m/%d/%Y %H:%M",
}
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

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
    **{field: 0.07 for field in TIMESTAMP_RATE_FIELDS if field != "ts_month_first"},
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


# --- a plain reader of what was generated ---------------------------------------------


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
    """The generated ticket rows of a SQLite source, by ticket id."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM support_tickets ORDER BY ticket_id").fetchall()


def run(spec: GenerateSpec, root: Path, first_day: int = 0) -> GenerateStats:
    """Generate ``spec`` into ``root``: tickets into ``tickets.db``, log files under ``logs``."""
    with SqliteSink(root / "tickets.db") as sink:
        return generate(spec, sink, root / "logs", first_day=first_day)


def tree_bytes(root: Path) -> dict[str, bytes]:
    """The bytes of every log file under ``root``, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in log_files(root)}


def malformed_kind(block: list[str]) -> str:
    """The kind of damage of a block that is no event: garbage, extra, missing, truncated."""
    if not block[0][:1].isdigit():
        return "garbage"
    if len(block) == 7 and LINE_PATTERNS[0].match(block[0]):
        return "extra"
    if len(block) == 5 and all(any(p.match(line) for p in LINE_PATTERNS) for line in block):
        return "missing"
    if len(block) < 6 and not any(p.match(block[-1]) for p in LINE_PATTERNS):
        return "truncated"
    return "unknown"


# --- the oracle of created_at / resolved_at --------------------------------------------


def layout_of(text: str | None, month_first: bool = False) -> str | None:
    """The generated layout ``text`` is in (``canonical``, ``slash``, ...), None for anything else.

    ``dd/mm/yyyy HH:MM`` is ``month_first`` when asked, else ``day_first``.
    """
    if text is None:
        return None
    if CANONICAL_TS.match(text):
        return "canonical"
    name = next((name for name, pattern in LAYOUT_TS.items() if pattern.match(text)), None)
    return "month_first" if name == "day_first" and month_first else name


def expected_utc(text: str | None, month_first: bool = False) -> dt.datetime | None:
    """The UTC instant a generated text stands for (fractions truncated to microseconds).

    None for NULL, zero dates, garbage and impossible dates (``2025-02-30 10:00:00``).
    """
    layout = layout_of(text, month_first)
    if text is None or layout is None:
        return None
    try:
        if layout in _STRPTIME:
            return dt.datetime.strptime(text, _STRPTIME[layout]).replace(tzinfo=UTC)
        if layout == "fraction":
            whole, fraction = text.rstrip("Z").replace("T", " ").split(".")
            micros = int(fraction[:6].ljust(6, "0"))
            return dt.datetime.strptime(whole, "%Y-%m-%d %H:%M:%S").replace(microsecond=micros, tzinfo=UTC)
        if layout == "offset":
            local, sign, hours, minutes = LAYOUT_TS["offset"].match(text).groups()  # type: ignore[union-attr]
            offset = dt.timedelta(hours=int(hours), minutes=int(minutes or 0)) * (1 if sign == "+" else -1)
            return dt.datetime.strptime(local, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC) - offset
    except ValueError:
        return None
    if layout == "epoch_s":
        return EPOCH + dt.timedelta(seconds=int(text))
    return EPOCH + dt.timedelta(milliseconds=int(text))


def epoch_micros(value: dt.datetime | None) -> int | None:
    """Microseconds since the epoch of an aware datetime (what Spark's ``unix_micros`` gives)."""
    return None if value is None else (value - EPOCH) // dt.timedelta(microseconds=1)
