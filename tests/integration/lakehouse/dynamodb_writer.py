"""One writer of ``test_dynamodb_log_store.py``: its own JVM, appending to a Delta table shared with another.

Run as ``python -m tests.integration.lakehouse.dynamodb_writer --writer N ...`` from the repository
root. The session comes from the package's builder with the ``--set`` overrides (the test passes
``lakehouse.log_store=s3-dynamodb`` and the servers' endpoints). Each writer first writes a table
of its own (warm-up); writer 0 creates the shared table once writer 1 is warm too, then both
append ``--rounds`` batches at the same time. Every wait is bounded; the exit code is 0 only if
every append committed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from careplus_spark.platform.config import load_config
from careplus_spark.platform.session import build_session

CONF_DIR = Path(__file__).resolve().parents[3] / "conf"
WAIT_S = 300.0
SCHEMA = "writer INT, round INT, seq INT"


def wait_for(path: Path, timeout_s: float = WAIT_S) -> None:
    """Waits (bounded) until ``path`` exists."""
    for _ in range(int(timeout_s / 0.2) + 1):
        if path.exists():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{path} did not appear within {timeout_s:.0f} s")


def append(spark: Any, rows: list[tuple[int, int, int]], table: str) -> None:
    """One Delta commit appending ``rows`` (one file) to ``table``; the first one creates it."""
    spark.createDataFrame(rows, SCHEMA).coalesce(1).write.format("delta").mode("append").save(table)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writer", type=int, required=True)
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--sync", type=Path, required=True, help="folder of the two writers' ready/go files")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    started = time.monotonic()
    cfg = load_config("test", overrides=args.overrides, conf_dir=CONF_DIR)
    spark = build_session(cfg, app_name=f"dynamodb-writer-{args.writer}")
    print(f"writer {args.writer}: session up after {time.monotonic() - started:.1f} s", flush=True)
    try:
        # a table of its own first: Delta, S3A and the log store's DynamoDB client are loaded and warm
        # before the shared table is touched, so that the two writers' appends really overlap
        append(spark, [], f"{args.table}-warmup-{args.writer}")
        (args.sync / f"ready-{args.writer}").touch()
        if args.writer == 0:
            wait_for(args.sync / "ready-1")
            append(spark, [], args.table)
            (args.sync / "go").touch()
        else:
            wait_for(args.sync / "go")
        for round_ in range(args.rounds):
            rows = [(args.writer, round_, seq) for seq in range(args.rows)]
            append(spark, rows, args.table)
            print(f"writer {args.writer}: round {round_} committed at {time.monotonic() - started:.1f} s", flush=True)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
