#!/usr/bin/env bash
# Submit a CarePlus job with the right jars and confs: locally, to a standalone cluster
# or on an EMR master node.
#
#   ./spark-submit.sh [--env ENV] [--master URL] [--set key=value ...] [--dry-run] JOB [JOB_ARGS...]
#   ./spark-submit.sh --build-zip PATH
#
#   JOB         a file in jobs/ (jobs/ingest_tickets.py) or its name (ingest_tickets)
#   --env       configuration environment (conf/ENV.yaml), default: local
#   --master    local[N], spark://host:7077 (standalone) or yarn (EMR); default: the config's
#   --dry-run   print the spark-submit command instead of running it
#   --build-zip only build the --py-files zip, at PATH
#
# It builds dist/careplus_spark.zip (the package and its conf, shipped with --py-files),
# takes the jars from the local cache (local/standalone; `careplus setup` fills it, the
# package's own log reader jar included) or from the cluster (EMR: /usr/share/aws/delta/lib),
# and passes the static Spark confs (Delta extension and catalog, metastore, time zone) on
# the command line; an invalid configuration stops it (exit 2) before any JVM starts.
# Secrets are never put on the command line: the job reads them from the environment
# itself (e.g. --set sources.tickets.password='${CAREPLUS_MYSQL_PASSWORD}', and s3a's keys
# from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
env_name="local"
master=""
dry_run=0
sets=()
zip_only=""

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) env_name="$2"; shift 2 ;;
    --master) master="$2"; shift 2 ;;
    --set) sets+=("--set" "$2"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --build-zip) zip_only="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --*) echo "spark-submit.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
python="${CAREPLUS_PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x "$here/.venv/bin/python" ]]; then python="$here/.venv/bin/python"; else python="python3"; fi
fi

# The package with its configuration, for --py-files. Imported from the zip, the package
# reads its data files (rules, mappings, conf, log4j) through importlib.resources.
build_zip() {
  mkdir -p "$(dirname "$1")"
  "$python" - "$here" "$1" <<'PY'
import sys, zipfile, pathlib
root, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).absolute()
tmp = target.with_name(target.name + ".tmp")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
    for path in sorted((root / "careplus_spark").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".jar":
            zf.write(path, path.relative_to(root).as_posix())
    for path in sorted((root / "conf").glob("*.yaml")):
        zf.write(path, f"careplus_spark/conf/{path.name}")
tmp.replace(target)
PY
}

if [[ -n "$zip_only" ]]; then
  build_zip "$zip_only"
  exit 0
fi

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
job="$1"; shift
[[ "$job" == *.py ]] || job="$here/jobs/$job.py"
[[ -f "$job" ]] || { echo "spark-submit.sh: no such job: $job (see $here/jobs/)" >&2; exit 2; }
submit="${SPARK_HOME:+$SPARK_HOME/bin/}spark-submit"
if [[ -z "${SPARK_HOME:-}" && -x "$(dirname "$python")/spark-submit" ]]; then submit="$(dirname "$python")/spark-submit"; fi

if [[ -n "$master" ]]; then
  case "$master" in
    local*) sets+=("--set" "spark.platform=local") ;;
    spark://*) sets+=("--set" "spark.platform=standalone") ;;
  esac
  sets+=("--set" "spark.master=$master")
fi

# 1. Static confs and jars from the same session builder the job uses, computed by the installed
#    package (the jar paths, the log reader's included, exist only there, not inside the zip).
#    A configuration error stops here, with its exit code, before any JVM starts.
spark_conf="$(cd "$here" && "$python" -m careplus_spark config --env "$env_name" "${sets[@]}" --spark-conf)"

# 2. The package with its configuration, for --py-files.
build_zip "$here/dist/careplus_spark.zip"

conf_args=()
jars=""
while IFS= read -r line; do
  key="${line%%=*}"; value="${line#*=}"
  case "$key" in
    spark.jars) jars="$value" ;;
    spark.master) [[ -n "$master" ]] || master="$value" ;;
    spark.app.name|spark.hadoop.fs.s3a.access.key|spark.hadoop.fs.s3a.secret.key) ;;
    *) conf_args+=("--conf" "$key=$value") ;;
  esac
done <<< "$spark_conf"

if [[ -z "$jars" && -d /usr/share/aws/delta/lib ]]; then
  # EMR: the cluster's own Delta jars.
  jars="$(ls /usr/share/aws/delta/lib/delta-spark*.jar /usr/share/aws/delta/lib/delta-storage*.jar 2>/dev/null | paste -sd, -)"
fi

cmd=("$submit")
[[ -n "$master" ]] && cmd+=("--master" "$master")
[[ -n "$jars" ]] && cmd+=("--jars" "$jars")
cmd+=("--py-files" "$here/dist/careplus_spark.zip" "${conf_args[@]}" "$job" "--env" "$env_name" "${sets[@]}" "$@")

if [[ $dry_run -eq 1 ]]; then
  printf '%q ' "${cmd[@]}"; echo
  exit 0
fi
cd "$here"
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$python}"
exec "${cmd[@]}"
