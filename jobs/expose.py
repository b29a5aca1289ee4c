"""spark-submit entry point: `expose` (manifests, analyst views, Glue Data Catalog; see careplus_spark.exposure)."""

import sys

from careplus_spark.pipeline.entry import run_job

if __name__ == "__main__":
    sys.exit(run_job(["expose"]))
