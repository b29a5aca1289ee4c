"""spark-submit / Glue entry point: `maintain`, OPTIMIZE what recent runs changed, VACUUM, manifests
(settings: maintenance.*; schedule it as its own job, e.g. weekly)."""

import sys

from careplus_spark.pipeline.entry import run_job

if __name__ == "__main__":
    sys.exit(run_job(["maintain"]))
