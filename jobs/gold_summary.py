"""spark-submit entry point: `gold_summary` (see careplus_spark.pipeline.steps); `--full-refresh` rebuilds gold."""

import sys

from careplus_spark.pipeline.entry import run_job

if __name__ == "__main__":
    sys.exit(run_job(["gold_summary"]))
