"""spark-submit / AWS Glue entry point: the whole pipeline, in order."""

import sys

from careplus_spark.pipeline.entry import run_job

if __name__ == "__main__":
    sys.exit(run_job([]))
