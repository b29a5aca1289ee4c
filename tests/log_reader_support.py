"""Reading log files through the JVM block reader, and dirty log text to read.

Shared by the log reader tests (``tests/unit/sources/`` reads the hand-written samples of
``tests/data/logs``, ``tests/integration/sources/`` generated and damaged files): the
reader's rows in a stable order, the reference parser's rows in the same form, a row
comparison that names the first differing block and column, and a seeded generator of
dirty log files.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from careplus_spark.sources.log_reader import COLUMNS, qualified_path, read_log_blocks
from tests.reference_log_parser import parse_file

LOGS = Path(__file__).resolve().parent / "data" / "logs"

Row = tuple[Any, ...]


def first_clean_block() -> bytes:
    """The first block of ``clean.log``, without its ``---`` line."""
    return (LOGS / "clean.log").read_bytes().split(b"---\n")[0]


def reader_rows(spark: Any, paths: Sequence[Path | str], **kwargs: Any) -> list[Row]:
    """The reader's rows, ordered by file and offset."""
    df = read_log_blocks(spark, [str(p) for p in paths], **kwargs)
    return sorted((tuple(r) for r in df.collect()), key=lambda r: (r[0], r[1]))


def reference_rows(spark: Any, paths: Sequence[Path], max_block_bytes: int = 65536) -> list[Row]:
    """The reference parser's rows, with the reader's ``source_file`` naming."""
    rows: list[Row] = []
    for path in paths:
        name = qualified_path(spark, str(path))
        rows.extend(block.row(name) for block in parse_file(path, max_block_bytes))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def assert_same_rows(actual: list[Row], expected: list[Row]) -> None:
    """Equal rows; on failure, names the first differing block and column."""
    for got, want in zip(actual, expected, strict=False):  # lengths compared below
        if got != want:
            diffs = {c: (g, w) for c, g, w in zip(COLUMNS, got, want, strict=True) if g != w}
            raise AssertionError(f"block at {want[0]}:{want[1]} differs (reader, reference): {diffs}")
    assert len(actual) == len(expected), f"{len(actual)} rows read, the reference has {len(expected)}"


def block_text(rng: random.Random, index: int) -> str:
    """One well-formed block (without its ``---`` line), with the SPEC's dirty values."""
    ticket = f"TCK07{rng.randint(1, 31):02d}{rng.randint(0, 999):03d}"
    level = rng.choice(["INFO", "INFO", "INFO", "INF0", "DEBUG", "DEBG", "ERROR", "EROR", "WARN", "warnING"])
    millis = rng.randint(20, 3000) * (-1 if rng.random() < 0.02 else 1)
    message = rng.choice([" event for " + ticket, "Payment declined", "Überweisung fehlgeschlagen 😡", "登录成功 ✅"])
    debug = rng.choice(["Logged for monitoring", "ℹ️ Logged for monitoring", "retry=3", ""])
    trace = "None" if rng.random() < 0.7 else f"{rng.getrandbits(64):016x}"
    return (
        f"2025-07-{index % 28 + 1:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} "
        f"[{level}] careplus.{rng.choice(['support', 'billing', 'auth'])}.Service{rng.randint(1, 9)} - "
        f"TicketID={ticket} SessionID=sess_{ticket}\n"
        f"IP=10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} | ResponseTime={millis}ms | "
        f"CPU={rng.uniform(0, 100):.2f}% | EventType={rng.choice(['generic_event', 'login', 'payment'])} | "
        f"Error={rng.choice(['false', 'true'])}\n"
        f'UserAgent="{rng.choice(["PostmanRuntime/7.32.2", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)"])}"\n'
        f'Message="{message}"\n'
        f'Debug="{debug}"\n'
        f"TraceID={trace}\n"
    )


def malformed_text(rng: random.Random, index: int) -> bytes:
    """One malformed block of a random kind (bytes: some carry invalid UTF-8)."""
    good = block_text(rng, index)
    lines = good.splitlines(keepends=True)
    kind = rng.randrange(9)
    if kind == 0:  # a line missing
        del lines[rng.randrange(6)]
    elif kind == 1:  # a line repeated
        lines.insert(rng.randrange(6), rng.choice(lines))
    elif kind == 2:  # dashes that are not a delimiter
        lines.insert(rng.randrange(1, 6), rng.choice(["--\n", "----\n", "- --\n", "---x\n", "x---\n"]))
    elif kind == 3:  # garbage
        return bytes(rng.choice(b"abcxyz%$#@!?-=| \t0123456789") for _ in range(rng.randint(1, 400))) + b"\n"
    elif kind == 4:  # cut anywhere (possibly inside a multi-byte character)
        data = good.encode()
        return data[: rng.randrange(1, len(data) - 1)] + b"\n"
    elif kind == 5:  # a broken key
        k = rng.randrange(6)
        lines[k] = lines[k].replace("=", ":", 1) if k else lines[k].replace("[", "(", 1)
    elif kind == 6:  # invalid UTF-8 inside a good block
        return good.replace('Message="', 'Message="\xff', 1).encode("utf-8", "surrogateescape").replace(
            "\xff".encode(), b"\xff\xfe\xe2\x82"
        )
    elif kind == 7:  # blank line inside
        lines.insert(rng.randrange(1, 6), rng.choice(["\n", "  \n", "\r\n"]))
    else:  # trailing spaces and tabs on every line (still a good block)
        lines = [line[:-1] + rng.choice([" ", "\t", "  \t"]) + "\n" for line in lines]
    return "".join(lines).encode()


def generate_log(blocks: int, seed: int, final_delimiter: bool = True, oversized: int = 0) -> bytes:
    """A dirty log file: delimiter variants, blank lines, duplicates, malformed blocks."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    previous = b""
    for index in range(blocks):
        roll = rng.random()
        if roll < 0.04:
            block = malformed_text(rng, index)
        elif roll < 0.06 and previous:
            block = previous  # exact duplicate event
        else:
            block = block_text(rng, index).encode()
        previous = block
        if rng.random() < 0.05:
            block = rng.choice([b"\n", b"  \n", b"\n\n"]) + block + rng.choice([b"\n", b"\t\n"])
        delimiter = rng.choice([b"---\n"] * 12 + [b"---  \n", b" ---\n", b"\t---\t\n", b"---\r\n", b"---\n---\n"])
        parts.append(block + delimiter)
    for _ in range(oversized):
        at = rng.randrange(len(parts))
        parts.insert(at, block_text(rng, at).replace('Message="', 'Message="' + "x" * 70_000, 1).encode() + b"---\n")
    if not final_delimiter:
        parts[-1] = parts[-1].rsplit(b"---", 1)[0].rstrip(b"\n")
    return b"".join(parts)
