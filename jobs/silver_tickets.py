"""spark-submit entry point: `silver_tickets` (see careplus_spark.pipeline.steps)."""

import sys

from careplus_spark.pipeline.entry import run_job

if __name__ == "__main__":
    sys.exit(run_job(["silver_tickets"]))
