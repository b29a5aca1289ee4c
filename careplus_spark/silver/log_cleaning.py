"""Cleaning rules of silver.logs: ``Column -> Column`` helpers and one transform factory.

Value mappings (level spellings, "no trace" markers, booleans, the timestamp format)
live in ``careplus_spark/silver/mappings/logs.yaml``. Invalid values become NULL; rows
are never dropped here. A row whose timestamp cannot be parsed breaks the blocking rule
:data:`RULE_TIMESTAMP` and goes to the quarantine. A field that held a value which
cleaning turned into NULL is flagged per :data:`NULLING_RULES` (``_nulled_<rule>``; a
blank field is legitimately NULL and is not flagged), for the data-quality alarms.

**What makes two events the same** (:func:`event_id`): the SHA-256 of the normalised
event — timestamp, level (after normalisation, so ``INF0`` and ``INFO`` agree), service,
ticket id, session id, IP, response time and CPU *as written*, event type, error flag,
user agent, message, debug text and trace id. Where a block was logged and how often
(file, offset) is lineage, not identity: the same event written twice, in one file or
two, is one event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pyspark.sql import functions as F

from careplus_spark.errors import ConfigError
from careplus_spark.platform import package_data
from careplus_spark.platform.package_data import Traversable

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: The packaged mappings (a file, or a file inside the --py-files zip).
DEFAULT_MAPPINGS = package_data.resource("careplus_spark.silver", "mappings", "logs.yaml")
RULE_TIMESTAMP = "unparseable_timestamp"
#: Nulling rules: rule -> (bronze field, silver column); :func:`clean_logs` adds the flag
#: :func:`nulled_flag` of each, true when the field held a value and the column is NULL.
NULLING_RULES: Mapping[str, tuple[str, str]] = {
    "unmapped_log_level": ("level", "log_level"),
    "invalid_response_time": ("response_time", "response_time_ms"),
    "invalid_cpu_percent": ("cpu", "cpu_percent"),
    "invalid_error_flag": ("error", "error"),
}

#: silver.logs business columns, in order (SPEC 3.1 fct_logs minus the gold buckets).
SILVER_LOG_COLUMNS = (
    "event_id",
    "timestamp",
    "log_level",
    "service",
    "ticket_id",
    "session_id",
    "ip",
    "response_time_ms",
    "cpu_percent",
    "event_type",
    "error",
    "user_agent",
    "message",
    "debug",
    "trace_id",
    "log_date",
)


@dataclass(frozen=True)
class LogMappings:
    """The value mappings of silver.logs (upper-cased spelling -> canonical level, ...)."""

    levels: Mapping[str, str]
    null_trace_ids: tuple[str, ...]
    true_values: tuple[str, ...]
    false_values: tuple[str, ...]
    timestamp_format: str


def load_log_mappings(path: str | Path | None = None) -> LogMappings:
    """Reads the log value mappings.

    Raises:
        ConfigError: the file is missing or a section is malformed (file and key named).
    """
    where: Path | Traversable = Path(path) if path else DEFAULT_MAPPINGS
    try:
        tree = yaml.safe_load(where.read_text(encoding="utf-8")) or {}
        levels = {
            str(alias).strip().upper(): str(canonical)
            for canonical, aliases in tree["levels"].items()
            for alias in aliases
        }
        return LogMappings(
            levels=levels,
            null_trace_ids=tuple(str(v) for v in tree["null_trace_ids"]),
            true_values=tuple(str(v).lower() for v in tree["true_values"]),
            false_values=tuple(str(v).lower() for v in tree["false_values"]),
            timestamp_format=str(tree["timestamp_format"]),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"log mappings {where}: {type(exc).__name__}: {exc}") from None


def normalise_level(col: Column, levels: Mapping[str, str]) -> Column:
    """``INF0`` / ``debg`` / `` warnING `` -> INFO / DEBUG / WARNING; unknown -> NULL."""
    key = F.upper(F.trim(col))
    result = F.lit(None).cast("string")
    for alias, canonical in sorted(levels.items()):
        result = F.when(key == alias, F.lit(canonical)).otherwise(result)
    return result


def response_ms(col: Column) -> Column:
    """``1269ms`` -> 1269; negative, malformed or absurd (> 1 day) -> NULL."""
    digits = F.regexp_extract(F.trim(col), r"^(-?\d{1,9})\s*(ms)?$", 1)
    value = F.when(digits != "", digits.cast("long"))
    return F.when((value >= 0) & (value <= 86_400_000), value.cast("int"))


def cpu_percent(col: Column) -> Column:
    """``27.64%`` -> 27.64; outside 0..100 or malformed -> NULL."""
    number = F.regexp_extract(F.trim(col), r"^(\d{1,3}(\.\d+)?)\s*%?$", 1)
    value = F.when(number != "", number.cast("double"))
    return F.when((value >= 0) & (value <= 100), value)


def boolean(col: Column, true_values: Sequence[str], false_values: Sequence[str]) -> Column:
    """``true`` / ``False`` -> boolean; anything else -> NULL."""
    key = F.lower(F.trim(col))
    return F.when(key.isin(list(true_values)), F.lit(True)).when(key.isin(list(false_values)), F.lit(False))


def nullable_text(col: Column, null_values: Sequence[str] = ()) -> Column:
    """Trimmed text; empty or a "no value" marker -> NULL."""
    text = F.trim(col)
    return F.when((text == "") | text.isin(list(null_values)), F.lit(None).cast("string")).otherwise(text)


def nulled_flag(rule: str) -> str:
    """The boolean column :func:`clean_logs` adds for a :data:`NULLING_RULES` rule."""
    return f"_nulled_{rule}"


def event_id(columns: Sequence[Column]) -> Column:
    """SHA-256 of the normalised event fields (see the module docstring)."""
    return F.sha2(F.concat_ws("\u0001", *[F.coalesce(c.cast("string"), F.lit("\u0000")) for c in columns]), 256)


def clean_logs(mappings: LogMappings) -> Callable[[DataFrame], DataFrame]:
    """bronze.logs rows (well-formed blocks) -> silver.logs rows plus ``_rule``.

    Keeps ``_source_file`` and ``_offset`` for lineage; adds the ``_nulled_<rule>`` flags.
    """

    raw_fields = sorted({"response_time", "cpu", *(field for field, _ in NULLING_RULES.values())})

    def transform(df: DataFrame) -> DataFrame:
        ts = F.expr(f"try_to_timestamp(trim(ts), '{mappings.timestamp_format}')")
        level = normalise_level(F.col("level"), mappings.levels)
        cleaned = df.select(
            ts.alias("timestamp"),
            level.alias("log_level"),
            nullable_text(F.col("service")).alias("service"),
            nullable_text(F.col("ticket_id")).alias("ticket_id"),
            nullable_text(F.col("session_id")).alias("session_id"),
            nullable_text(F.col("ip")).alias("ip"),
            response_ms(F.col("response_time")).alias("response_time_ms"),
            cpu_percent(F.col("cpu")).alias("cpu_percent"),
            nullable_text(F.col("event_type")).alias("event_type"),
            boolean(F.col("error"), mappings.true_values, mappings.false_values).alias("error"),
            nullable_text(F.col("user_agent")).alias("user_agent"),
            nullable_text(F.col("message")).alias("message"),
            nullable_text(F.col("debug")).alias("debug"),
            nullable_text(F.col("trace_id"), mappings.null_trace_ids).alias("trace_id"),
            *[F.trim(F.col(field)).alias(f"_raw_{field}") for field in raw_fields],
            "_source_file",
            "_offset",
            F.col("log_date").alias("_bronze_log_date"),
        )
        identity = [
            F.date_format("timestamp", "yyyy-MM-dd HH:mm:ss"), F.col("log_level"), F.col("service"),
            F.col("ticket_id"), F.col("session_id"), F.col("ip"), F.col("_raw_response_time"), F.col("_raw_cpu"),
            F.col("event_type"), F.col("error"), F.col("user_agent"), F.col("message"), F.col("debug"),
            F.col("trace_id"),
        ]
        return (
            cleaned.withColumn("event_id", event_id(identity))
            .withColumn("log_date", F.to_date("timestamp"))
            .withColumn("_rule", F.when(F.col("timestamp").isNull(), F.lit(RULE_TIMESTAMP)))
            .withColumns({
                nulled_flag(rule): F.coalesce((F.col(f"_raw_{field}") != F.lit("")) & F.col(column).isNull(),
                                              F.lit(False))
                for rule, (field, column) in NULLING_RULES.items()
            })
            .drop(*[f"_raw_{field}" for field in raw_fields])
        )

    return transform
