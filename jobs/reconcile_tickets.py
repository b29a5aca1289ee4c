"""spark-submit entry point: `reconcile_tickets`, deletes at the source (on demand)."""

import sys

from careplus_spark.pipeline.entry import run_job

if __name__ == "__main__":
    sys.exit(run_job(["reconcile_tickets"]))
