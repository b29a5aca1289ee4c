"""Cleaning rules of silver.tickets: ``Column -> Column`` helpers and one transform factory.

The value mappings (priority/status/channel spellings, invalid interaction values,
zero dates, the optional day-first/month-first and extra timestamp layouts) live in YAML
(``careplus_spark/silver/mappings/tickets.yaml``, or ``silver.tickets_mappings``), not
here. Invalid values become NULL; a row is never dropped here. Rows that cannot be made
valid get a rule name in ``_rule`` (see :data:`RULES`) and go to the quarantine.

Timestamps are parsed by :mod:`careplus_spark.silver.timestamps` (year-first layouts with
any separator, ``T``, fractions and offsets, and epoch numbers by default; UTC whatever the
session time zone). It ends in ``try_to_timestamp`` (NULL on failure, Spark 3.5 and 4.x
alike); run it inside :func:`corrected_time_parser` so that Spark 3.5 does not raise its
"different result since Spark 3.0" error on text that no pattern parses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pyspark.sql import functions as F

from careplus_spark.errors import ConfigError
from careplus_spark.lakehouse.delta import session_conf
from careplus_spark.platform import package_data
from careplus_spark.platform.package_data import Traversable
from careplus_spark.silver.timestamps import TimestampLayouts, timestamp_of
from careplus_spark.sources.tickets_schema import TICKET_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

#: The packaged mappings (a file, or a file inside the --py-files zip).
DEFAULT_MAPPINGS = package_data.resource("careplus_spark.silver", "mappings", "tickets.yaml")
RULE_MISSING_KEY = "missing_ticket_id"
RULE_CREATED_AT = "unparseable_created_at"
RULE_DUPLICATE_KEY = "duplicate_ticket_id"
#: Blocking rules, checked in this order; the first one broken is recorded.
RULES = (RULE_MISSING_KEY, RULE_CREATED_AT)

#: silver.tickets business columns, in order.
SILVER_TICKET_COLUMNS = (
    "ticket_id",
    "created_at",
    "updated_at",
    "resolved_at",
    "agent",
    "priority",
    "num_interactions",
    "issue_cat",
    "channel",
    "status",
    "agent_feedback",
    "resolution_time_mins",
    "is_open",
)


@dataclass(frozen=True)
class TicketMappings:
    """The value mappings of silver.tickets, as loaded from YAML.

    Attributes:
        priority / status / channel: lower-cased spelling -> canonical value.
        open_statuses: canonical statuses that mean "open".
        interactions_min / interactions_max: the valid range of num_interactions.
        interactions_invalid: texts that mean "no value" (compared after trimming).
        timestamps: zero dates and the layouts accepted besides the default ones.
    """

    priority: Mapping[str, str]
    status: Mapping[str, str]
    channel: Mapping[str, str]
    open_statuses: tuple[str, ...]
    interactions_min: int
    interactions_max: int
    interactions_invalid: tuple[str, ...]
    timestamps: TimestampLayouts

    @property
    def zero_dates(self) -> tuple[str, ...]:
        """Texts that mean "no date" (``timestamps.zero_dates``)."""
        return self.timestamps.zero_dates


def load_mappings(path: str | Path | None = None) -> TicketMappings:
    """Reads and validates a mappings file (default: the packaged one).

    Example:
        >>> load_mappings().priority["hgh"]
        'High'

    Raises:
        ConfigError: the file is missing, is not YAML, or has unknown/missing keys.
    """
    where: Path | Traversable = Path(path) if path else DEFAULT_MAPPINGS
    try:
        tree = yaml.safe_load(where.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"silver.tickets_mappings: cannot read {where}: {exc}") from None
    expected = {"priority", "status", "channel", "open_statuses", "num_interactions", "timestamps"}
    if not isinstance(tree, dict) or set(tree) != expected:
        found = sorted(tree) if isinstance(tree, dict) else type(tree).__name__
        raise ConfigError(f"{where}: expected exactly the keys {sorted(expected)}, found {found}")
    interactions = _section(tree, "num_interactions", {"min", "max", "invalid"}, where)
    status = _aliases(tree["status"], "status", where)
    open_statuses = tuple(str(s) for s in tree["open_statuses"] or ())
    unknown = sorted(set(open_statuses) - set(status.values()))
    if unknown:
        raise ConfigError(f"{where}: open_statuses {unknown} are not canonical statuses {sorted(set(status.values()))}")
    return TicketMappings(
        priority=_aliases(tree["priority"], "priority", where),
        status=status,
        channel=_aliases(tree["channel"], "channel", where),
        open_statuses=open_statuses,
        interactions_min=int(interactions["min"]),
        interactions_max=int(interactions["max"]),
        interactions_invalid=tuple(str(v) for v in interactions["invalid"] or ()),
        timestamps=_timestamp_layouts(tree["timestamps"], where),
    )


def _section(tree: Mapping[str, Any], name: str, keys: set[str], where: Path | Traversable) -> Mapping[str, Any]:
    section = tree[name]
    if not isinstance(section, dict) or set(section) != keys:
        found = sorted(section) if isinstance(section, dict) else type(section).__name__
        raise ConfigError(f"{where}: {name} must have exactly the keys {sorted(keys)}, found {found}")
    return section


def _timestamp_layouts(section: Any, where: Path | Traversable) -> TimestampLayouts:
    """``timestamps:``: ``zero_dates``, and optionally ``day_first``, ``month_first``, ``extra_formats``."""
    if isinstance(section, dict) and "formats" in section:
        raise ConfigError(
            f"{where}: timestamps.formats is no longer read: year-first layouts, offsets and epochs are parsed "
            "without it; set timestamps.day_first or timestamps.month_first for dd/MM/yyyy or MM/dd/yyyy dates "
            "and list other Spark patterns in timestamps.extra_formats"
        )
    optional = {"day_first", "month_first", "extra_formats"}
    if not isinstance(section, dict) or "zero_dates" not in section or set(section) - {"zero_dates", *optional}:
        found = sorted(section) if isinstance(section, dict) else type(section).__name__
        raise ConfigError(
            f"{where}: timestamps must have the key zero_dates and may have {sorted(optional)}, found {found}"
        )
    flags = {}
    for key in ("day_first", "month_first"):
        flags[key] = section.get(key, False)
        if not isinstance(flags[key], bool):
            raise ConfigError(f"{where}: timestamps.{key} must be true or false, found {flags[key]!r}")
    if flags["day_first"] and flags["month_first"]:
        raise ConfigError(
            f"{where}: timestamps.day_first and timestamps.month_first are both true; 01/07/2025 would be "
            "ambiguous: choose one"
        )
    extra = section.get("extra_formats") or []
    if not isinstance(extra, list) or not all(isinstance(f, str) and f.strip() for f in extra):
        raise ConfigError(f"{where}: timestamps.extra_formats must be a list of Spark patterns, found {extra!r}")
    return TimestampLayouts(
        zero_dates=tuple(str(v) for v in section["zero_dates"] or ()),
        day_first=flags["day_first"],
        month_first=flags["month_first"],
        extra_formats=tuple(extra),
    )


def _aliases(section: Any, name: str, where: Path | Traversable) -> dict[str, str]:
    if not isinstance(section, dict) or not section:
        raise ConfigError(f"{where}: {name} must map canonical values to lists of spellings")
    out: dict[str, str] = {}
    for canonical, spellings in section.items():
        for spelling in [canonical, *(spellings or [])]:
            key = " ".join(str(spelling).split()).lower()
            if out.get(key, canonical) != canonical:
                raise ConfigError(f"{where}: {name} spelling {spelling!r} maps to both {out[key]!r} and {canonical!r}")
            out[key] = str(canonical)
    return out


# --- Column -> Column helpers ---------------------------------------------------------


def clean_text(col: Column) -> Column:
    """Trimmed text; empty (or blank) becomes NULL."""
    trimmed = F.trim(col.cast("string"))
    return F.when(trimmed == "", F.lit(None).cast("string")).otherwise(trimmed)


def match_key(col: Column) -> Column:
    """Lower case, trimmed, inner runs of whitespace collapsed: the key for value mappings."""
    return F.lower(F.regexp_replace(F.trim(col.cast("string")), r"\s+", " "))


def map_values(col: Column, aliases: Mapping[str, str]) -> Column:
    """The canonical value of a spelling (any case, spaces); unknown values become NULL.

    Example:
        >>> df.select(map_values(F.col("priority"), {"hgh": "High", "high": "High"}))  # doctest: +SKIP
    """
    key = match_key(col)
    result: Any = F
    for spelling, canonical in aliases.items():
        result = result.when(key == F.lit(spelling), F.lit(canonical))
    return result.otherwise(F.lit(None).cast("string")) if aliases else F.lit(None).cast("string")


def parse_int(col: Column, minimum: int, maximum: int, invalid: Sequence[str] = ()) -> Column:
    """A whole number within ``[minimum, maximum]``; anything else (``-999999``, ``n/a``) is NULL."""
    text = F.trim(col.cast("string"))
    number = F.when(text.rlike(r"^[+-]?[0-9]{1,18}$"), text.cast("long"))
    valid = number.between(minimum, maximum)
    if invalid:
        valid = valid & ~text.isin(*invalid)
    return F.when(valid, number.cast("int")).otherwise(F.lit(None).cast("int"))


def minutes_between(start: Column, end: Column) -> Column:
    """Whole minutes from ``start`` to ``end``; NULL when either is NULL or end < start."""
    seconds = F.unix_timestamp(end) - F.unix_timestamp(start)
    return F.when(seconds >= 0, F.floor(seconds / 60).cast("int")).otherwise(F.lit(None).cast("int"))


def open_flag(status: Column, resolved_at: Column, open_statuses: Sequence[str]) -> Column:
    """True for an open status, false for another status; by ``resolved_at`` when status is NULL."""
    return (
        F.when(status.isNull(), resolved_at.isNull())
        .when(status.isin(*open_statuses), F.lit(True))
        .otherwise(F.lit(False))
    )


def broken_rule(ticket_id: Column, created_at: Column) -> Column:
    """The first blocking rule a cleaned row breaks (see :data:`RULES`), else NULL."""
    return (
        F.when(ticket_id.isNull(), F.lit(RULE_MISSING_KEY))
        .when(created_at.isNull(), F.lit(RULE_CREATED_AT))
        .otherwise(F.lit(None).cast("string"))
    )


# --- DataFrame -> DataFrame -----------------------------------------------------------


def clean_tickets(mappings: TicketMappings) -> Callable[[DataFrame], DataFrame]:
    """Bronze ticket rows -> silver columns plus ``_rule`` (NULL when the row is valid).

    Other columns of the input (bronze lineage, say) are kept, after the silver ones.

    Example:
        >>> bronze.transform(clean_tickets(load_mappings())).select("priority", "_rule")  # doctest: +SKIP
    """

    def transform(df: DataFrame) -> DataFrame:
        types = dict(df.dtypes)

        def ts(name: str) -> Column:
            # by the source type: a timestamp is kept, a number is an epoch, text is parsed
            return timestamp_of(F.col(f"`{name}`"), types[name], mappings.timestamps)

        cleaned = df.select(
            clean_text(F.col("ticket_id")).alias("ticket_id"),
            ts("created_at").alias("created_at"),
            ts("updated_at").alias("updated_at"),
            ts("resolved_at").alias("resolved_at"),
            clean_text(F.col("agent")).alias("agent"),
            map_values(F.col("priority"), mappings.priority).alias("priority"),
            parse_int(
                F.col("num_interactions"), mappings.interactions_min, mappings.interactions_max,
                mappings.interactions_invalid,
            ).alias("num_interactions"),
            clean_text(F.col("IssUeCat")).alias("issue_cat"),
            map_values(F.col("channel"), mappings.channel).alias("channel"),
            map_values(F.col("status"), mappings.status).alias("status"),
            clean_text(F.col("agent_feedback")).alias("agent_feedback"),
            *[F.col(f"`{c}`") for c in df.columns if c not in TICKET_COLUMNS],
        )
        return cleaned.select(
            *SILVER_TICKET_COLUMNS[:-2],
            minutes_between(F.col("created_at"), F.col("resolved_at")).alias("resolution_time_mins"),
            open_flag(F.col("status"), F.col("resolved_at"), mappings.open_statuses).alias("is_open"),
            broken_rule(F.col("ticket_id"), F.col("created_at")).alias("_rule"),
            *[F.col(f"`{c}`") for c in cleaned.columns if c not in SILVER_TICKET_COLUMNS],
        )

    return transform


def corrected_time_parser(spark: SparkSession) -> contextlib.AbstractContextManager[None]:
    """Runs the enclosed Spark actions with ``spark.sql.legacy.timeParserPolicy=CORRECTED``.

    Spark 4 defaults to it; Spark 3.5 defaults to ``EXCEPTION``, which fails a job when
    text that no format parses would have parsed with the pre-3.0 parser.
    """
    return session_conf(spark, {"spark.sql.legacy.timeParserPolicy": "CORRECTED"})
