"""spark-submit entry point: `ingest_logs` (see careplus_spark.pipeline.steps)."""

import sys

from careplus_spark.pipeline.entry import run_job

if __name__ == "__main__":
    sys.exit(run_job(["ingest_logs"]))
