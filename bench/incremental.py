"""Benchmark: one more day's pipeline run on a lakehouse with 30 days of history vs 1 day.

Usage::

    .venv/bin/python bench/incremental.py                 # 30 days of ~100,000 log events a day
    .venv/bin/python bench/incremental.py --quick         # smoke run: 3 days of ~5,000 events
    .venv/bin/python bench/incremental.py --days 10 --events-per-day 50000 --keep

``--quick`` runs 44 pipeline steps on tiny data plus one session start: a few minutes on
an idle 2-core machine (the aim is under ~3 minutes; it is for checking that the bench
works, its ratio means little). Beware of load: on the machine it was written on, shared
with 4 other Spark JVMs (load average 17-21 on 2 cores), it took 47 minutes, every step
30-150 s. The full-size run then takes hours. Use it for ``pytest``-free smoke checks only;
no test runs this bench.

The claim measured (issue 5): the cost of a daily run follows the day's data, not the
history. The whole pipeline (``run_steps(spark, RunContext(cfg), [])``: ingest_tickets,
ingest_logs, silver_tickets, silver_logs, gold_tickets, gold_logs, gold_summary, gold_kpis)
is timed on one new day twice:

(a) on a lakehouse holding 1 day of history (day 0 built, day 1 timed);
(b) on a lakehouse holding ``--days`` days of history (days 0..D-1 built, day D timed);
    then gold is rebuilt from the whole of silver (``--full-refresh``, steps ``gold``) and
    timed too, for comparison with the incremental gold steps.

Data: ``careplus_spark.synthetic`` with its default dirty-trait rates (gzip files, CRLF,
malformed blocks, duplicates, deletes, resolutions of older tickets...), 2 log files a day,
``events_per_ticket`` 3.0 and ``ceil(events_per_day * 1.02 / 3)`` tickets a day (34,000 for
100,000 events: about 104,000 blocks). Days 0..D are generated once, in order, into
``~/.cache/careplus/bench/incremental-seed<seed>/t<tickets>-d<D>/`` (``complete.json``
marks a finished generation): the log files of every day, and snapshots of the cumulative
SQLite ticket table after days 0, 1, D-1 and D. Each lakehouse gets its own source folder
in the work dir: a copy of the snapshot of its last history day plus hard links (copies
across file systems) to its history days' log files; before the timed run, the next day's
snapshot replaces the SQLite file and that day's log files are linked in.

The history is built untimed (its time is printed) in one pipeline run over all history
days at once, which gives the same lakehouse as day-by-day runs in a fraction of the time;
the tickets cursor and files ledger then make the timed run a normal incremental next day.
Order, in one Spark session (``local[2]``): build the 1-day lakehouse, build the D-day
lakehouse, time the 1-day lakehouse's next day, time the D-day one's, time the full refresh
(both timed days run in a JVM equally warmed up by the two builds). ``spark.sql.shuffle.partitions`` is
4 (``--shuffle-partitions``): 2 cores, a day's shuffles hold ~100,000 rows (tens of MB), so
2 tasks per core keep both busy without small-file churn; the one-off history build's
3,000,000 rows fit 4 partitions within the 4 GB driver (``--driver-memory``).

Printed: the events and ticket changes of each timed day, per-step seconds and counts of
each timed run (``StepResult.seconds``, plus the step's wall time including its run-ledger
writes), the totals, and, as the last line, ``ratio <D>d/1d = X`` (timed day run on the
D-day lakehouse / on the 1-day lakehouse; target X <= 1.05, issue 15).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_CACHE = Path("~/.cache/careplus/bench").expanduser()
MARKER = "complete.json"
START_DATE = dt.date(2025, 7, 1)
EVENTS_PER_TICKET = 3.0
LOG_FILES_PER_DAY = 2
DEFAULT_DAYS, DEFAULT_EVENTS = 30, 100_000
QUICK_DAYS, QUICK_EVENTS = 3, 5_000


# --------------------------------------------------------------------------- data set


def tickets_per_day(events_per_day: int) -> int:
    """Tickets a day so that the day's blocks reach ``events_per_day`` (a 2 % margin)."""
    return max(1, math.ceil(events_per_day * 1.02 / EVENTS_PER_TICKET))


def snapshot_days(days: int) -> list[int]:
    """Days after which the ticket table is snapshotted: 0, 1, days-1, days."""
    return sorted({0, 1, days - 1, days})


def ensure_data(folder: Path, seed: int, tickets: int, days: int) -> dict:
    """Generates days 0..``days`` once (logs and ticket snapshots); returns the marker."""
    marker = folder / MARKER
    if marker.is_file():
        meta = json.loads(marker.read_text())
        print(f"data: {folder} (generated earlier in {meta['seconds']} s)")
        return meta
    from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url

    spec = GenerateSpec(
        seed=seed, start_date=START_DATE, days=1, tickets_per_day=tickets,
        events_per_ticket=EVENTS_PER_TICKET, log_files_per_day=LOG_FILES_PER_DAY,
    )
    spec.validate()
    last = spec.day_date(days)
    if last.year != START_DATE.year:
        raise SystemExit(f"--days {days}: day {days} is {last}, outside {START_DATE.year} (ticket ids would repeat)")
    partial = folder.with_name(folder.name + ".partial")
    for stale in (folder, partial):
        if stale.exists():
            shutil.rmtree(stale)
    (partial / "tickets").mkdir(parents=True)
    db = partial / "tickets" / "current.db"
    print(f"data: generating days 0..{days} ({tickets:,} tickets a day) into {folder} (once) ...", flush=True)
    started = time.monotonic()
    per_day = []
    for day in range(days + 1):
        with sink_for_url(f"jdbc:sqlite:{db}", "", "") as sink:
            stats = generate(spec, sink, partial / "logs", first_day=day, reset=(day == 0))
        d = stats.days[0]
        files = day_files(partial / "logs", d.day)
        per_day.append({
            "day": day, "date": d.day.isoformat(), "events": d.log_events, "malformed": d.malformed_blocks,
            "duplicates": d.duplicate_events, "inserted": d.tickets_inserted, "updated": d.tickets_updated,
            "deleted": d.tickets_deleted, "files": len(files), "gzip_files": sum(p.name.endswith(".gz") for p in files),
            "bytes": d.bytes_written,
        })
        if day in snapshot_days(days):
            shutil.copyfile(db, snapshot(partial, day))
        if day % 5 == 0 or day == days:
            print(f"  {d.summary()}", flush=True)
    db.unlink()
    meta = {"seed": seed, "tickets_per_day": tickets, "days": days, "per_day": per_day,
            "seconds": round(time.monotonic() - started, 1)}
    (partial / MARKER).write_text(json.dumps(meta, indent=1))
    partial.rename(folder)
    print(f"data: generated in {meta['seconds']} s")
    return meta


def snapshot(folder: Path, day: int) -> Path:
    return folder / "tickets" / f"after-day-{day:03d}.db"


def day_dir(logs: Path, day: dt.date) -> Path:
    return logs / f"{day.year:04d}" / f"{day.month:02d}" / f"{day.day:02d}"


def day_files(logs: Path, day: dt.date) -> list[Path]:
    folder = day_dir(logs, day)
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def link_day(cache_logs: Path, work_logs: Path, day: dt.date) -> None:
    """Hard-links (or copies, across file systems) one day's log files into ``work_logs``."""
    target = day_dir(work_logs, day)
    target.mkdir(parents=True, exist_ok=True)
    for path in day_files(cache_logs, day):
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def put_tickets(source: Path, target: Path) -> None:
    """Replaces the SQLite source file atomically (a copy: the cache stays untouched)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(target.name + ".new")
    shutil.copyfile(source, scratch)
    os.replace(scratch, target)


# --------------------------------------------------------------------------- running


@dataclass
class Timed:
    """One ``run_steps`` call: its wall time, results and each step's wall time."""

    label: str
    seconds: float
    results: list = field(default_factory=list)
    walls: dict[str, float] = field(default_factory=dict)


def run_pipeline(spark, ctx, names: list[str], label: str, echo: bool) -> Timed:  # type: ignore[no-untyped-def]
    """``run_steps`` with each step's wall time (ledger writes included) taken from its progress."""
    from careplus_spark.pipeline.steps import run_steps

    starts: dict[str, float] = {}
    walls: dict[str, float] = {}

    def progress(line: str) -> None:
        now = time.monotonic()
        name = line.split("] ", 1)[1].split(" ", 1)[0].rstrip(":")
        if line.endswith(" ..."):
            starts[name] = now
        elif ": profile: " not in line:
            walls[name] = now - starts.get(name, now)
        if echo:
            print(f"    {line}", flush=True)

    started = time.monotonic()
    results = run_steps(spark, ctx, names, progress=progress)
    return Timed(label, time.monotonic() - started, results, walls)


def print_steps(timed: Timed) -> None:
    print(f"  {timed.label}: {timed.seconds:.1f} s; per step:")
    print(f"    {'step':<16}{'step s':>8}{'wall s':>8}{'read':>11}{'written':>11}{'updated':>10}"
          f"{'quarant.':>9}{'skipped':>11}")
    for r in timed.results:
        print(f"    {r.step:<16}{r.seconds:>8.1f}{timed.walls.get(r.step, float('nan')):>8.1f}{r.rows_read:>11,}"
              f"{r.rows_written:>11,}{r.rows_updated:>10,}{r.rows_quarantined:>9,}{r.rows_skipped:>11,}")
    overhead = timed.seconds - sum(r.seconds for r in timed.results)
    print(f"    (step s: StepResult.seconds; wall s: the step with its ops.runs ledger writes; "
          f"ledger and run overhead in total {overhead:.1f} s)")
    for r in timed.results:
        if r.detail:
            detail = r.detail if len(r.detail) <= 300 else r.detail[:297] + "..."
            print(f"    {r.step}: {detail}")


def day_line(meta: dict, day: int) -> str:
    d = meta["per_day"][day]
    return (f"day {day} ({d['date']}): {d['events']:,} log events ({d['malformed']:,} malformed, "
            f"{d['duplicates']:,} duplicates) in {d['files']} files ({d['gzip_files']} gzip, "
            f"{d['bytes'] / 1e6:.1f} MB); tickets +{d['inserted']:,} ~{d['updated']:,} -{d['deleted']:,}")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@dataclass
class Lakehouse:
    """One lakehouse of the bench: its work folders and configuration."""

    name: str
    history: int  # days of history before the timed day
    root: Path
    cfg: object

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def tickets_db(self) -> Path:
        return self.root / "source" / "tickets.db"


def make_lakehouse(name: str, history: int, work: Path, args: argparse.Namespace) -> Lakehouse:
    from careplus_spark.platform.config import load_config

    root = work / name
    cfg = load_config(
        "test",
        overrides=[
            f"lakehouse.root={root / 'lakehouse'}",
            f"lakehouse.catalog.metastore_dir={work / 'catalog'}",  # one metastore: one session
            f"sources.tickets.url=jdbc:sqlite:{root / 'source' / 'tickets.db'}",
            f"sources.logs.path={root / 'logs'}",
            "spark.master=local[2]",
            f"spark.shuffle_partitions={args.shuffle_partitions}",
            f"spark.driver_memory={args.driver_memory}",
        ],
        conf_dir=REPO / "conf",
    )
    return Lakehouse(name, history, root, cfg)


def build_history(spark, lake: Lakehouse, cache: Path) -> Timed:  # type: ignore[no-untyped-def]
    """Source = days 0..history-1, then one pipeline run over all of it (untimed figure)."""
    from careplus_spark.lakehouse.run import RunContext

    put_tickets(snapshot(cache, lake.history - 1), lake.tickets_db)
    for day in range(lake.history):
        link_day(cache / "logs", lake.logs, START_DATE + dt.timedelta(days=day))
    print(f"{lake.name}: building {lake.history} day(s) of history in one run (not timed) ... "
          f"load average {load_average()}", flush=True)
    built = run_pipeline(spark, RunContext(lake.cfg), [], f"{lake.name} history build", echo=True)
    print(f"{lake.name}: history built in {built.seconds:.1f} s")
    return built


def time_next_day(spark, lake: Lakehouse, cache: Path, meta: dict,  # type: ignore[no-untyped-def]
                  profile: bool = False) -> Timed:
    """Adds day ``history`` to the source and times the whole pipeline on it (``profile``: each
    step's Spark jobs, time by kind and Delta commits printed, as ``careplus run --profile``)."""
    from careplus_spark.lakehouse.run import RunContext

    day = lake.history
    put_tickets(snapshot(cache, day), lake.tickets_db)
    link_day(cache / "logs", lake.logs, START_DATE + dt.timedelta(days=day))
    print(f"{lake.name}: timing the next {day_line(meta, day)} ... load average {load_average()}", flush=True)
    timed = run_pipeline(spark, RunContext(lake.cfg, profile=profile), [], f"{lake.name} day {day} run", echo=True)
    print_steps(timed)
    return timed


def time_full_refresh(spark, lake: Lakehouse) -> Timed:  # type: ignore[no-untyped-def]
    from careplus_spark.lakehouse.run import RunContext

    print(f"{lake.name}: timing a full refresh of gold ... load average {load_average()}", flush=True)
    timed = run_pipeline(spark, RunContext(lake.cfg, full_refresh=True), ["gold"],
                         f"{lake.name} gold full refresh", echo=True)
    print_steps(timed)
    return timed


def gold_seconds(timed: Timed) -> float:
    return sum(timed.walls.get(r.step, r.seconds) for r in timed.results if r.step.startswith("gold_"))


# --------------------------------------------------------------------------- driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=None,
                        help=f"days of history of the big lakehouse (default {DEFAULT_DAYS})")
    parser.add_argument("--events-per-day", type=int, default=None,
                        help=f"log events a day, at least (default {DEFAULT_EVENTS:,})")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_DAYS} days of ~{QUICK_EVENTS:,} events (unless given)")
    parser.add_argument("--keep", action="store_true", help="keep the lakehouses (printed work dir)")
    parser.add_argument("--profile", action="store_true",
                        help="profile the timed days' steps (Spark jobs by kind, commits, files; adds a little time)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--work-dir", type=Path, default=None, help="parent of the lakehouses (default: a temp dir)")
    parser.add_argument("--shuffle-partitions", type=int, default=4)
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args(argv)
    days = args.days if args.days is not None else (QUICK_DAYS if args.quick else DEFAULT_DAYS)
    events = args.events_per_day
    if events is None:
        events = QUICK_EVENTS if args.quick else DEFAULT_EVENTS
    if days < 2:
        parser.error("--days must be at least 2 (the small lakehouse has 1 day of history)")
    if events <= 0:
        parser.error("--events-per-day must be positive")

    tickets = tickets_per_day(events)
    cache = args.cache_dir.expanduser() / f"incremental-seed{args.seed}" / f"t{tickets}-d{days}"
    meta = ensure_data(cache, args.seed, tickets, days)
    history_events = sum(d["events"] for d in meta["per_day"][:days])
    per_day = [d["events"] for d in meta["per_day"]]
    print(f"events a day: {min(per_day):,} .. {max(per_day):,} "
          f"({tickets:,} tickets a day, {EVENTS_PER_TICKET} events per ticket on average); "
          f"{days}-day history: {history_events:,} events")
    for day in (1, days):
        low = meta["per_day"][day]["events"]
        if low < events:
            print(f"warning: timed day {day} has {low:,} events, fewer than --events-per-day {events:,}")

    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="careplus-bench-incremental-", dir=args.work_dir))
    print(f"lakehouses: {work}{' (kept)' if args.keep else ''}; {os.cpu_count()} cores, load average {load_average()}")
    small = make_lakehouse("h1", 1, work, args)
    big = make_lakehouse(f"h{days}", days, work, args)
    spark = None
    try:
        from careplus_spark.pipeline.entry import open_lakehouse

        started = time.monotonic()
        spark = open_lakehouse(small.cfg, app_name="careplus-bench-incremental")
        print(f"Spark session ready in {time.monotonic() - started:.1f} s (not counted; local[2], "
              f"{args.shuffle_partitions} shuffle partitions, driver memory {args.driver_memory})", flush=True)

        # both histories first: the two timed days then run in an equally warm JVM (timed
        # right after its own build, the 1-day run was the JVM's second and paid its warm-up)
        small_built = build_history(spark, small, cache)
        big_built = build_history(spark, big, cache)
        small_day = time_next_day(spark, small, cache, meta, args.profile)
        big_day = time_next_day(spark, big, cache, meta, args.profile)
        full = time_full_refresh(spark, big)
    finally:
        if spark is not None:
            spark.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nload average after: {load_average()} (1/5/15 min; {os.cpu_count()} cores)")
    print(f"history builds (one run each, not timed): 1 day {small_built.seconds:.1f} s, "
          f"{days} days {big_built.seconds:.1f} s")
    print(f"{'step':<16}{'1d s':>8}{f'{days}d s':>8}{f'{days}d/1d':>8}")
    for a, b in zip(small_day.results, big_day.results, strict=True):
        wa, wb = small_day.walls.get(a.step, a.seconds), big_day.walls.get(b.step, b.seconds)
        print(f"{a.step:<16}{wa:>8.1f}{wb:>8.1f}{wb / wa if wa else float('nan'):>8.2f}")
    print(f"1-day history:  day 1 run {small_day.seconds:.1f} s ({meta['per_day'][1]['events']:,} events)")
    print(f"{days}-day history: day {days} run {big_day.seconds:.1f} s ({meta['per_day'][days]['events']:,} events)")
    print(f"{days}-day history: gold incremental {gold_seconds(big_day):.1f} s vs gold full refresh "
          f"{full.seconds:.1f} s ({full.seconds / max(gold_seconds(big_day), 1e-9):.1f}x)")
    print(f"ratio {days}d/1d = {big_day.seconds / small_day.seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
