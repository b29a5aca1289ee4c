"""Deterministic, streaming generator of the two CarePlus sources (SPEC 2.1-2.3).

Tickets go to a :class:`TicketSink` (SQLite or MySQL ``support_tickets``); log files go
under a folder as ``YYYY/MM/DD/app-YYYY-MM-DD-<n>.log[.gz]``. The same spec and seed
always produce the same bytes and rows. No Spark is used here.

Example:
    >>> from careplus_spark.synthetic import GenerateSpec, generate, sink_for_url
    >>> with sink_for_url("jdbc:sqlite:./data/source/tickets.db", "", "") as sink:
    ...     stats = generate(GenerateSpec(), sink, Path("./data/logs"))  # doctest: +SKIP
"""

from __future__ import annotations

from careplus_spark.sources.tickets_schema import TICKET_COLUMNS
from careplus_spark.synthetic.clock import CANONICAL_FORMAT, UPDATED_AT_FORMAT
from careplus_spark.synthetic.connect import parse_mysql_url, sink_for_url
from careplus_spark.synthetic.generator import (
    Counts,
    DayStats,
    GenerateStats,
    Progress,
    generate,
    generate_day,
)
from careplus_spark.synthetic.layouts import LAYOUTS, LayoutPicker
from careplus_spark.synthetic.mysql_sink import MySqlSink
from careplus_spark.synthetic.sinks import (
    DEFAULT_TABLE,
    SqliteSink,
    SqlTicketSink,
    TicketSink,
)
from careplus_spark.synthetic.spec import DIRTY_RATE_FIELDS, RATE_FIELDS, TIMESTAMP_RATE_FIELDS, GenerateSpec
from careplus_spark.synthetic.tickets import TicketRow, TicketUpdate

__all__ = [
    "CANONICAL_FORMAT",
    "DEFAULT_TABLE",
    "DIRTY_RATE_FIELDS",
    "LAYOUTS",
    "RATE_FIELDS",
    "TICKET_COLUMNS",
    "TIMESTAMP_RATE_FIELDS",
    "UPDATED_AT_FORMAT",
    "Counts",
    "DayStats",
    "GenerateSpec",
    "GenerateStats",
    "LayoutPicker",
    "MySqlSink",
    "Progress",
    "SqlTicketSink",
    "SqliteSink",
    "TicketRow",
    "TicketSink",
    "TicketUpdate",
    "generate",
    "generate_day",
    "parse_mysql_url",
    "sink_for_url",
]
