"""Benchmark: multi-line log files to Parquet/Delta, ours (``ingest_logs``) vs a one-process Python baseline.

Usage::

    .venv/bin/python bench/logs_ingest.py                     # 10,000,000 events (~3.6 GB)
    .venv/bin/python bench/logs_ingest.py --events 500000     # a quick check
    .venv/bin/python bench/logs_ingest.py --no-duckdb         # without DuckDB (else: pip install duckdb)

The log files are generated once by ``careplus_spark.synthetic`` into
``~/.cache/careplus/bench/logs-<events>-seed<seed>[-gz<rate>]/logs`` (``complete.json`` next to
``logs/`` marks a finished generation; a half-written folder is generated again). By default
no file is gzip-compressed (``--gzip-rate 0``): a ``.gz`` file cannot be split, so a few of
them would leave one core idle at the end of our run while the baseline does not care; every
other dirty trait keeps the generator's default rate (CRLF files, trailing spaces, 0.5 %
malformed blocks, missing last delimiters, ...). Both sides read the same files.

In one run, each side in its own child process (so that its memory is measured alone):

(a) baseline, the seeds' approach: one Python process reads each file whole, splits it on
    ``---``, matches one regular expression per block (a block that does not match keeps its
    text and ``parse_error``) and writes Snappy Parquet with pyarrow in batches of 100,000 rows;
(b) ours: a Python process that builds the Spark session (``local[2]``, the local
    configuration with its Derby metastore, attached in the background as ``careplus run``
    does) and runs ``careplus_spark.bronze.logs.ingest`` into an empty lakehouse: listing,
    ledger, the JVM reader, the ``bronze.logs`` Delta commit, per-file counts, quarantine,
    file ledger, the wait for the catalog, then stops the session;
(c) unless ``--no-duckdb``, DuckDB SQL on 2 threads: ``read_text`` of the files (batches
    of ~1 GB), ``string_split`` into blocks and lines, a ``LIKE``/``starts_with`` shape check
    and ``split_part`` per field, Snappy Parquet out (same rules as the baseline).

Block counts: the generator records how many blocks it wrote (``events`` in
``complete.json``, malformed ones included); the run prints it next to each side's count.
The baseline and DuckDB split the text on every ``---``, also on one inside a line, so they
cut such a block in two: on the 10M seed-7 data one garbage block of
``app-2025-07-07-2.log`` holds ``...ag---Xx...`` in a line, and both find 10,200,981
blocks where the generator wrote 10,200,980 (ours: 10,200,980; only a line that is ``---``
ends a block, see ``tests/integration/sources/test_log_reader.py``). A few such differences are
expected; more means one side is broken.

Wall time is the child's whole life (interpreter start, imports, JVM start, stop): for
ours, the Spark session start is counted (and printed apart). Peak
memory is the largest sum of resident memory over the child's process tree (the Python
driver plus its JVM), sampled every 0.1 s from ``/proc``; the largest single process
(``ru_maxrss`` from ``wait4``) is printed too. MB/s is input bytes on disk / wall time.
Ours runs with the configuration's 2 GB driver (``--driver-memory``). The last two lines are
``ratio ours/duckdb = Y`` and ``ratio ours/baseline = X`` (wall times of the same run; below
1: ours is faster).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_EVENTS = 10_000_000
DEFAULT_CACHE = Path("~/.cache/careplus/bench").expanduser()
MARKER = "complete.json"
FIELDS = (
    "ts", "level", "service", "ticket_id", "session_id", "ip", "response_time", "cpu",
    "event_type", "error", "user_agent", "message", "debug", "trace_id",
)
BATCH_ROWS = 100_000
DUCKDB_BATCH_BYTES = 1 << 30
CHILD_TIMEOUT_S = 3 * 3600
SAMPLE_EVERY_S = 0.1


# --------------------------------------------------------------------------- data set


def human_count(n: int) -> str:
    """``10000000`` -> ``10m``, ``500000`` -> ``500k``, ``1234`` -> ``1234``."""
    for unit, size in (("m", 1_000_000), ("k", 1_000)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def dataset_dir(cache: Path, events: int, seed: int, gzip_rate: float, days: int = 10, files_per_day: int = 4) -> Path:
    name = f"logs-{human_count(events)}-seed{seed}"
    if gzip_rate:
        name += f"-gz{gzip_rate:g}"
    if (days, files_per_day) != (10, 4):
        name += f"-{days}d{files_per_day}f"
    return cache / name


def ensure_data(folder: Path, events: int, seed: int, gzip_rate: float, days: int, files_per_day: int) -> dict:
    """Generates the log files once; returns the marker's content (counts and bytes)."""
    marker = folder / MARKER
    if marker.is_file():
        meta = json.loads(marker.read_text())
        print(f"data: {folder} (generated earlier: {meta['events']:,} events, {meta['bytes'] / 1e9:.2f} GB)")
        return meta
    from careplus_spark.synthetic import GenerateSpec, generate

    # events_per_ticket is a mean (0..~2x per ticket): the count is close to, not exactly, N
    per_day = max(1, -(-events // (days * 3)))
    spec = GenerateSpec(
        seed=seed, start_date=dt.date(2025, 7, 1), days=days, tickets_per_day=per_day,
        events_per_ticket=3.0, log_files_per_day=files_per_day, empty_file_per_day=0,
        delete_per_day=0, gzip_file=gzip_rate,
    )
    if folder.exists():
        shutil.rmtree(folder)
    partial = folder.with_name(folder.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    print(f"data: generating ~{events:,} events into {folder} (once) ...", flush=True)
    started = time.monotonic()
    stats = generate(spec, None, partial / "logs", progress=lambda line: print("  " + line, flush=True))
    files = sorted(p for p in (partial / "logs").rglob("*.log*") if not p.name.startswith("."))
    meta = {
        "events": stats.log_events, "malformed": stats.malformed_blocks, "files": len(files),
        "gzip_files": sum(p.name.endswith(".gz") for p in files),
        "bytes": sum(p.stat().st_size for p in files), "seed": seed, "gzip_rate": gzip_rate,
        "days": days, "files_per_day": files_per_day, "seconds": round(time.monotonic() - started, 1),
    }
    (partial / MARKER).write_text(json.dumps(meta, indent=1))
    partial.rename(folder)
    print(f"data: {meta['events']:,} events, {meta['files']} files, {meta['bytes'] / 1e9:.2f} GB "
          f"in {meta['seconds']} s")
    return meta


def log_files(logs: Path) -> list[Path]:
    return sorted(p for p in logs.rglob("*.log*") if p.is_file() and not p.name.startswith("."))


# --------------------------------------------------------------------------- measuring


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def tree_usage(root: int, cpu_ticks: dict[int, int]) -> int:
    """Resident bytes of ``root`` and all its descendants; records each one's CPU ticks."""
    page = os.sysconf("SC_PAGE_SIZE")
    children = _children_map()
    total, todo, seen = 0, [root], set()
    while todo and len(seen) < 10_000:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            fields = stat[stat.rfind(b")") + 2 :].split()
            cpu_ticks[pid] = max(cpu_ticks.get(pid, 0), int(fields[11]) + int(fields[12]))
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(children.get(pid, ()))
    return total


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_tree_bytes: int
    maxrss_bytes: int
    output: str
    returncode: int


def run_measured(command: list[str], log: Path, timeout_s: float = CHILD_TIMEOUT_S) -> Measured:
    """Runs a child to its end: wall time, sampled peak RSS of its tree, its ``ru_maxrss``."""
    peak = [0]
    ticks: dict[int, int] = {}
    with open(log, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_usage(proc.pid, ticks))
                done.wait(SAMPLE_EVERY_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            done.set()
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.join(timeout=5)
    # CPU of the processes seen while sampling (the JVM is not reaped by its Python parent,
    # so wait4's figures miss it); the reaped child's own total from wait4 is exact
    ticks.pop(proc.pid, None)
    cpu = sum(ticks.values()) / os.sysconf("SC_CLK_TCK") + usage.ru_utime + usage.ru_stime
    return Measured(wall, cpu, peak[0], usage.ru_maxrss * 1024, log.read_text(errors="replace"), proc.returncode)


def last_json(output: str) -> dict:
    for line in reversed(output.splitlines()):
        if line.startswith("{") and line.endswith("}"):
            return json.loads(line)
    raise RuntimeError("the child printed no result line:\n" + output[-4000:])


# --------------------------------------------------------------------------- (a) baseline


def baseline_main(logs: Path, out: Path) -> None:
    """The seeds' approach: whole file, split on ``---``, one ``re`` per block, Parquet."""
    import gzip
    import re

    import pyarrow as pa
    import pyarrow.parquet as pq

    block_re = re.compile(
        r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \[([^\]\n]*)\] (\S+) - TicketID=(\S*) SessionID=(\S*)[ \t\r]*\n"
        r"IP=(.*?) \| ResponseTime=(.*?) \| CPU=(.*?) \| EventType=(.*?) \| Error=(.*?)[ \t\r]*\n"
        r'UserAgent="(.*)"[ \t\r]*\n'
        r'Message="(.*)"[ \t\r]*\n'
        r'Debug="(.*)"[ \t\r]*\n'
        r"TraceID=(\S*)[ \t\r]*\Z"
    )
    names = ("source_file", *FIELDS, "raw", "parse_error")
    schema = pa.schema([(n, pa.string()) for n in names])
    blocks = bad = 0
    with pq.ParquetWriter(out / "logs.parquet", schema, compression="snappy") as writer:
        columns: list[list] = [[] for _ in names]

        def flush() -> None:
            writer.write_table(pa.Table.from_arrays([pa.array(c, pa.string()) for c in columns], schema=schema))
            for c in columns:
                c.clear()

        nulls = (None,) * len(FIELDS)
        for path in log_files(logs):
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
                text = f.read()
            name = str(path)
            for block in text.split("---"):
                block = block.strip()
                if not block:
                    continue
                blocks += 1
                m = block_re.match(block)
                if m:
                    values = (name, *m.groups(), None, None)
                else:
                    bad += 1
                    values = (name, *nulls, block, "no_match")
                for column, value in zip(columns, values, strict=True):
                    column.append(value)
                if len(columns[0]) >= BATCH_ROWS:
                    flush()
            del text
        if columns[0]:
            flush()
    print(json.dumps({"blocks": blocks, "malformed": bad}))


# --------------------------------------------------------------------------- (b) ours


def ours_main(logs: Path, lakehouse: Path, driver_memory: str, extra: list[str]) -> None:
    """``open_lakehouse`` + ``bronze.logs.ingest`` into an empty lakehouse, phases timed."""
    started = time.monotonic()
    from careplus_spark.bronze import logs as bronze_logs
    from careplus_spark.lakehouse import registry
    from careplus_spark.lakehouse.run import RunContext
    from careplus_spark.pipeline.entry import open_lakehouse
    from careplus_spark.platform.config import load_config
    from careplus_spark.sources import file_ledger

    phases: list[tuple[str, float]] = []

    def timed(owner: object, name: str, label: str) -> None:
        inner = getattr(owner, name, None)
        if inner is None:
            return

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.monotonic()
            try:
                return inner(*args, **kwargs)
            finally:
                phases.append((label, round(time.monotonic() - t, 2)))

        setattr(owner, name, wrapper)

    for name in ("list_files", "replace_files", "reader_counts", "per_file_counts", "quarantine"):
        timed(bronze_logs, name, name)
    timed(file_ledger, "record", "ledger_merge")
    timed(file_ledger, "load", "ledger_load")

    overrides = [
        f"lakehouse.root={lakehouse}", f"sources.logs.path={logs}", "spark.shuffle_partitions=2",
        f"spark.driver_memory={driver_memory}", *extra,
    ]
    cfg = load_config("local", overrides=overrides)
    spark = open_lakehouse(cfg, catalog_in_background=True)  # as `careplus run` opens it
    session_s = time.monotonic() - started
    t = time.monotonic()
    result = bronze_logs.ingest(spark, RunContext(cfg))
    registry.wait_attached()  # the end of a run waits for the catalog too
    ingest_s = time.monotonic() - t
    t = time.monotonic()
    spark.stop()
    stop_s = time.monotonic() - t
    print(json.dumps({
        "blocks": result.rows_read, "malformed": result.rows_quarantined, "session_s": round(session_s, 2),
        "ingest_s": round(ingest_s, 2), "stop_s": round(stop_s, 2), "phases": phases, "versions": dict(result.versions),
    }))


# --------------------------------------------------------------------------- (c) DuckDB


def duckdb_main(logs: Path, out: Path, threads: int) -> None:
    """DuckDB: read_text, string_split into blocks and lines, split_part per field, Parquet.

    The same rules as the baseline: split on ``---``, a block of six lines whose first line
    looks like a header is parsed, any other block keeps its text with ``no_match``.
    """
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    files = [str(p) for p in log_files(logs) if not p.name.endswith(".gz")]  # read_text does not gunzip
    gz = [str(p) for p in log_files(logs) if p.name.endswith(".gz")]
    if gz:
        raise SystemExit(f"duckdb side: {len(gz)} .gz files; run with --gzip-rate 0")
    # Files in batches of about 1 GB, so that memory stays bounded; one Parquet file each.
    batches: list[list[str]] = [[]]
    size = 0
    for name in files:
        if batches[-1] and size + os.path.getsize(name) > DUCKDB_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(name)
        size += os.path.getsize(name)
    for index, batch in enumerate(batches):
        _duckdb_batch(con, batch, out / f"logs-{index:03d}.parquet")
    blocks, bad = con.execute(
        f"SELECT count(*), count(parse_error) FROM read_parquet('{out}/*.parquet')"
    ).fetchone()
    print(json.dumps({"blocks": blocks, "malformed": bad}))


def _duckdb_batch(con, files: list[str], target: Path) -> None:  # type: ignore[no-untyped-def]
    # Blocks first, into temporary tables: the parsing below then runs on all threads (40
    # file rows are one vector, which one thread would do alone). A lateral unnest, as
    # unnest() in the select list is quadratic on long lists; lines split on LF with the
    # empty ones dropped, as trim() with a character list is slower than all the rest.
    con.execute(f"""
      CREATE TEMP TABLE files AS
      SELECT filename AS source_file, string_split(replace(content, chr(13), ''), '---') AS parts
      FROM read_text({files!r})
    """)
    con.execute("CREATE TEMP TABLE blocks AS SELECT source_file, b.part AS block FROM files, unnest(parts) AS b(part)")
    con.execute("DROP TABLE files")
    sql = f"""
    COPY (
      WITH lines AS (
        SELECT source_file, block, list_filter(string_split(block, chr(10)), lambda x: x <> '') AS l FROM blocks
      ), parsed AS (
        SELECT source_file, block, l, len(l) = 6
          AND l[1] LIKE '____-__-__ __:__:__ [%] % - TicketID=% SessionID=%'
          AND starts_with(l[2], 'IP=') AND starts_with(l[3], 'UserAgent="') AND starts_with(l[4], 'Message="')
          AND starts_with(l[5], 'Debug="') AND starts_with(l[6], 'TraceID=') AS ok
        FROM lines WHERE len(l) > 0
      )
      SELECT source_file,
        CASE WHEN ok THEN l[1][1:19] END AS ts,
        CASE WHEN ok THEN split_part(split_part(l[1], '[', 2), ']', 1) END AS level,
        CASE WHEN ok THEN split_part(split_part(l[1], '] ', 2), ' - TicketID=', 1) END AS service,
        CASE WHEN ok THEN split_part(split_part(l[1], 'TicketID=', 2), ' SessionID=', 1) END AS ticket_id,
        CASE WHEN ok THEN rtrim(split_part(l[1], 'SessionID=', 2)) END AS session_id,
        CASE WHEN ok THEN split_part(split_part(l[2], 'IP=', 2), ' | ', 1) END AS ip,
        CASE WHEN ok THEN split_part(split_part(l[2], 'ResponseTime=', 2), ' | ', 1) END AS response_time,
        CASE WHEN ok THEN split_part(split_part(l[2], 'CPU=', 2), ' | ', 1) END AS cpu,
        CASE WHEN ok THEN split_part(split_part(l[2], 'EventType=', 2), ' | ', 1) END AS event_type,
        CASE WHEN ok THEN rtrim(split_part(l[2], 'Error=', 2)) END AS error,
        CASE WHEN ok THEN rtrim(rtrim(l[3])[12:-2]) END AS user_agent,
        CASE WHEN ok THEN rtrim(rtrim(l[4])[10:-2]) END AS message,
        CASE WHEN ok THEN rtrim(rtrim(l[5])[8:-2]) END AS debug,
        CASE WHEN ok THEN rtrim(l[6][9:]) END AS trace_id,
        CASE WHEN NOT ok THEN array_to_string(l, chr(10)) END AS raw,
        CASE WHEN NOT ok THEN 'no_match' END AS parse_error
      FROM parsed
    ) TO '{target}' (FORMAT parquet, COMPRESSION snappy)
    """
    con.execute(sql)
    con.execute("DROP TABLE blocks")


# --------------------------------------------------------------------------- driver


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events to generate (default 10,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip-rate", type=float, default=0.0, help="share of .log.gz files (default 0: all plain)")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--files-per-day", type=int, default=4)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--work-dir", type=Path, default=None, help="outputs go here (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the outputs (Parquet, lakehouse)")
    parser.add_argument("--driver-memory", default="2g", help="ours' driver memory (default 2g, the configuration's)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="config override for ours, a.b=c")
    parser.add_argument("--skip-baseline", action="store_true", help="(for profiling) only run ours")
    parser.add_argument("--duckdb", action=argparse.BooleanOptionalAction, default=True,
                        help="also time DuckDB on the same files (default; pip install duckdb)")
    parser.add_argument("--duckdb-threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.events <= 0:
        parser.error("--events must be positive")

    folder = dataset_dir(args.cache_dir.expanduser(), args.events, args.seed, args.gzip_rate, args.days,
                         args.files_per_day)
    meta = ensure_data(folder, args.events, args.seed, args.gzip_rate, args.days, args.files_per_day)
    logs = folder / "logs"
    size_mb = meta["bytes"] / 1e6
    work = Path(tempfile.mkdtemp(prefix="careplus-bench-logs-", dir=args.work_dir))
    me = [sys.executable, str(Path(__file__).resolve())]
    print(f"input: {meta['files']} files ({meta['gzip_files']} gzip), {size_mb:,.0f} MB, {meta['events']:,} events")
    print(f"outputs: {work}{' (kept)' if args.keep else ''}")
    rows: list[tuple[str, Measured, dict]] = []
    try:
        if not args.skip_baseline:
            (work / "baseline").mkdir()
            print(f"(a) baseline ... load average {load_average()}", flush=True)
            m = run_measured([*me, "_baseline", str(logs), str(work / "baseline")], work / "baseline.log")
            rows.append(("baseline (python re)", m, _checked(m, "baseline")))
        print(f"(b) ours ... load average {load_average()}", flush=True)
        ours_cmd = [*me, "_ours", str(logs), str(work / "lakehouse"), args.driver_memory, *args.overrides]
        m = run_measured(ours_cmd, work / "ours.log")
        rows.append(("ours (spark local[2])", m, _checked(m, "ours")))
        if args.duckdb:
            (work / "duckdb").mkdir()
            print(f"(c) duckdb ... load average {load_average()}", flush=True)
            command = [*me, "_duckdb", str(logs), str(work / "duckdb"), str(args.duckdb_threads)]
            m = run_measured(command, work / "duckdb.log")
            rows.append((f"duckdb ({args.duckdb_threads} threads)", m, _checked(m, "duckdb")))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nload average after: {load_average()} (1/5/15 min; {os.cpu_count()} cores)")
    print(f"{'side':<24}{'wall s':>9}{'MB/s':>9}{'cpu s':>9}{'peak memory':>13}{'blocks':>13}{'malformed':>11}")
    for label, m, result in rows:
        print(
            f"{label:<24}{m.wall_s:>9.1f}{size_mb / m.wall_s:>9.1f}{m.cpu_s:>9.1f}{gib(m.peak_tree_bytes):>13}"
            f"{result['blocks']:>13,}{result['malformed']:>11,}"
        )
    print("peak memory: largest sampled sum of RSS over the child's process tree (Python + JVM)")
    ours = next(r for r in rows if r[0].startswith("ours"))
    detail = ours[2]
    written = meta["events"]
    print(f"blocks written by the generator: {written:,} ({meta['malformed']:,} malformed)")
    for label, _, result in rows:
        # the naive split on "---" (baseline, DuckDB) cuts a block holding "---" inside a
        # line (see the module doc): a handful of differences are expected, more means one
        # side is broken
        if abs(result["blocks"] - detail["blocks"]) > max(10, detail["blocks"] // 10_000):
            raise SystemExit(f"block counts differ: {label} {result['blocks']:,}, ours {detail['blocks']:,}")
        if result["blocks"] != written:
            naive = "; a naive split on '---' also cuts where '---' is inside a line"
            naive = "" if label.startswith("ours") else naive
            print(f"note: {label} finds {result['blocks']:,} blocks ({result['blocks'] - written:+,} vs the generator)"
                  + naive)
    print(
        f"ours: session start {detail['session_s']} s (counted in its wall time), ingest {detail['ingest_s']} s, "
        f"stop {detail['stop_s']} s; phases: " + ", ".join(f"{n} {s}s" for n, s in detail["phases"])
    )
    duck = next((r for r in rows if r[0].startswith("duckdb")), None)
    if duck is not None:
        print(f"ratio ours/duckdb = {ours[1].wall_s / duck[1].wall_s:.2f} "
              f"(ours {ours[1].wall_s:.1f} s, duckdb {duck[1].wall_s:.1f} s)")
    base = next((r for r in rows if r[0].startswith("baseline")), None)
    if base is None:
        return 0
    print(f"ratio ours/baseline = {ours[1].wall_s / base[1].wall_s:.2f}")
    return 0


def _checked(m: Measured, side: str) -> dict:
    if m.returncode != 0:
        raise SystemExit(f"{side} failed (exit {m.returncode}):\n{m.output[-6000:]}")
    return last_json(m.output)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_baseline":
        baseline_main(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_ours":
        ours_main(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_duckdb":
        duckdb_main(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(main())
