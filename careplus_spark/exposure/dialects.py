"""How each engine outside Spark spells identifiers, literals, column types and a few functions.

Three tables, each in one place, used by :mod:`~careplus_spark.exposure.ddl` and
:mod:`~careplus_spark.exposure.views`:

- **identifiers** (:class:`Quoting`): every name written into SQL is checked and quoted for
  its engine; a name that cannot be quoted safely (the quote character, a control character
  such as a newline, too long, or characters the engine's catalog refuses) raises
  :class:`~careplus_spark.errors.ExposureError`. Athena (Glue) names may hold only letters,
  digits and ``_``; Redshift and Spark names anything but their quote and control characters.
- **column types**: a Spark type string (``DataType.simpleString()``, or the Delta log's
  JSON names ``integer``/``long``/``short``/``byte``) parsed by :func:`parse_type` and spelled
  by :func:`hive_type` (Athena/Glue) or :func:`redshift_type` (Spectrum).
- **view functions** (:class:`SqlDialect`): the current time, differences of timestamps and
  dates, the week's Monday, adding hours, the double type and how a view is created, for
  Spark SQL, Athena (Trino) and Redshift.

Type mapping (Spark -> Athena/Hive | Redshift Spectrum):

===================== ===================== ==========================================
string, char, varchar STRING                VARCHAR(65535) (the longest; bytes, not chars)
boolean               BOOLEAN               BOOLEAN
tinyint (byte)        TINYINT               SMALLINT (Redshift has no 1-byte integer)
smallint (short)      SMALLINT              SMALLINT
int (integer)         INT                   INTEGER
bigint (long)         BIGINT                BIGINT
float                 FLOAT                 REAL
double                DOUBLE                DOUBLE PRECISION
decimal(p,s)          DECIMAL(p,s)          DECIMAL(p,s)              (p <= 38)
date                  DATE                  DATE
timestamp(_ntz)       TIMESTAMP             TIMESTAMP (both read as UTC wall-clock time)
binary                BINARY                VARBYTE(1024000)
array<T>              ARRAY<T>              ARRAY<T>   (Spectrum's nested types over
map<K,V>              MAP<K,V>              MAP<K,V>    Parquet, not SUPER; K must be a
struct<f:T,...>       STRUCT<f:T,...>       STRUCT<f:T,...>  scalar type)
===================== ===================== ==========================================

Anything else (``interval``, ``void``, ``variant``, ``calendarinterval``...) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from careplus_spark.errors import ExposureError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_GLUE_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Quoting:
    """How one engine quotes an identifier, and which names it accepts.

    Example:
        >>> ATHENA_DDL.quote("fct_logs")
        '`fct_logs`'
        >>> REDSHIFT.qualified(("careplus", "fct_logs"))
        '"careplus"."fct_logs"'
    """

    engine: str
    char: str
    max_length: int
    allowed: re.Pattern[str] | None = None

    def check(self, name: str, what: str = "identifier") -> str:
        """``name`` if the engine can take it quoted; else :class:`ExposureError` naming it."""
        problem = ""
        if not name:
            problem = "it is empty"
        elif self.char in name or _CONTROL.search(name):
            problem = f"it contains the quote character {self.char} or a control character (newline, tab...)"
        elif len(name.encode("utf-8")) > self.max_length:
            problem = f"it is longer than {self.max_length} bytes"
        elif self.allowed is not None and not self.allowed.fullmatch(name):
            problem = "only letters, digits and _ are allowed"
        if problem:
            raise ExposureError(f"{self.engine} cannot take the {what} {name!r}: {problem}")
        return name

    def quote(self, name: str, what: str = "identifier") -> str:
        """``name`` checked and quoted."""
        return f"{self.char}{self.check(name, what)}{self.char}"

    def qualified(self, parts: tuple[str, ...], what: str = "name") -> str:
        """``a.b.c`` with each part checked and quoted."""
        return ".".join(self.quote(part, what) for part in parts)


#: Athena DDL (Hive): backticks; Glue accepts only letters, digits and ``_`` (lower-cased).
ATHENA_DDL = Quoting("Athena", "`", 255, _GLUE_NAME)
#: Athena SQL (Trino): double quotes, the same Glue names.
ATHENA_SQL = Quoting("Athena", '"', 255, _GLUE_NAME)
#: Redshift: double quotes; identifiers up to 127 bytes.
REDSHIFT = Quoting("Redshift", '"', 127)
#: Spark SQL: backticks.
SPARK = Quoting("Spark", "`", 255)


def literal(value: str, what: str) -> str:
    """``value`` as a single-quoted SQL string literal, refusing anything that would need escaping.

    Locations, role ARNs and partition values never need quotes, backslashes or control
    characters; one that has them is refused rather than escaped (the escaping rules of Hive,
    Trino and Redshift literals differ).

    Example:
        >>> literal("s3://bucket/lake/gold/fct_logs/", "location")
        "'s3://bucket/lake/gold/fct_logs/'"
    """
    if not value or "'" in value or "\\" in value or _CONTROL.search(value):
        raise ExposureError(
            f"the {what} {value!r} cannot be written as a SQL literal: it is empty or contains a quote, a "
            "backslash or a control character"
        )
    return f"'{value}'"


# ---------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class SparkType:
    """A parsed Spark type: its canonical name, numeric arguments, element types, field names."""

    name: str
    args: tuple[int, ...] = ()
    children: tuple[SparkType, ...] = ()
    fields: tuple[str, ...] = ()


_ALIASES = {"integer": "int", "long": "bigint", "short": "smallint", "byte": "tinyint", "timestamp_ltz": "timestamp"}
_HIVE = {
    "string": "STRING", "char": "STRING", "varchar": "STRING", "boolean": "BOOLEAN", "tinyint": "TINYINT",
    "smallint": "SMALLINT", "int": "INT", "bigint": "BIGINT", "float": "FLOAT", "double": "DOUBLE", "date": "DATE",
    "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP", "binary": "BINARY",
}
_REDSHIFT = {
    "string": "VARCHAR(65535)", "char": "VARCHAR(65535)", "varchar": "VARCHAR(65535)", "boolean": "BOOLEAN",
    "tinyint": "SMALLINT", "smallint": "SMALLINT", "int": "INTEGER", "bigint": "BIGINT", "float": "REAL",
    "double": "DOUBLE PRECISION", "date": "DATE", "timestamp": "TIMESTAMP", "timestamp_ntz": "TIMESTAMP",
    "binary": "VARBYTE(1024000)",
}
_ARGS = {"decimal": 2, "char": 1, "varchar": 1}
_TOKEN = re.compile(r"\s*(`(?:[^`]|``)*`|[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:])")
_FIELD_NAME = re.compile(r"\s*(`(?:[^`]|``)*`|[^:<>(),`\s]+)\s*:")

#: The Spark type names :func:`hive_type` and :func:`redshift_type` spell.
SUPPORTED_TYPES = (*sorted(_HIVE), "decimal(p,s)", "array<T>", "map<K,V>", "struct<name:T,...>")


class _Parser:
    """Recursive descent over a Spark type string; raises ValueError on anything unexpected."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def token(self) -> str:
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            raise ValueError(f"cannot read a type at {self.text[self.pos:]!r}")
        self.pos = match.end()
        return match.group(1)

    def expect(self, char: str) -> None:
        if self.token() != char:
            raise ValueError(f"expected {char!r} at position {self.pos}")

    def peek(self) -> str:
        match = _TOKEN.match(self.text, self.pos)
        return match.group(1) if match else ""

    def type(self) -> SparkType:
        name = self.token().lower()
        name = _ALIASES.get(name, name)
        if name in ("array", "map", "struct"):
            return self.nested(name)
        args: tuple[int, ...] = ()
        if self.peek() == "(":
            self.token()
            values = [self.token()]
            while self.peek() == ",":
                self.token()
                values.append(self.token())
            self.expect(")")
            if not all(v.isdigit() for v in values):
                raise ValueError(f"{name}({', '.join(values)}): arguments must be numbers")
            args = tuple(int(v) for v in values)
        if name not in _HIVE and name not in _ARGS:
            raise ValueError(f"unsupported type {name!r}")
        if len(args) != _ARGS.get(name, 0):
            raise ValueError(f"type {name!r} takes {_ARGS.get(name, 0)} argument(s), found {len(args)}")
        return SparkType(name, args)

    def nested(self, name: str) -> SparkType:
        self.expect("<")
        if name == "struct":
            names, children = [], []
            while True:
                field = _FIELD_NAME.match(self.text, self.pos)
                if field is None:
                    raise ValueError(f"expected a struct field 'name:type' at {self.text[self.pos:]!r}")
                self.pos = field.end()
                names.append(field.group(1).strip("`").replace("``", "`"))
                children.append(self.type())
                if self.peek() != ",":
                    break
                self.token()
            self.expect(">")
            return SparkType("struct", children=tuple(children), fields=tuple(names))
        children = [self.type()]
        if name == "map":
            self.expect(",")
            children.append(self.type())
        self.expect(">")
        return SparkType(name, children=tuple(children))


def parse_type(text: str) -> SparkType:
    """Parses a Spark type string (``simpleString()`` or the Delta log's JSON names).

    Raises:
        ValueError: the text is not a type this module can spell (the reason is in the message).

    Example:
        >>> parse_type("map<string,decimal(20,6)>").children[1]
        SparkType(name='decimal', args=(20, 6), children=(), fields=())
    """
    parser = _Parser(text)
    parsed = parser.type()
    if parser.pos != len(text) and text[parser.pos:].strip():
        raise ValueError(f"unexpected text after the type: {text[parser.pos:]!r}")
    return parsed


def _spell(t: SparkType, scalars: dict[str, str], engine: str) -> str:
    if t.name == "decimal":
        precision, scale = t.args
        if not 1 <= precision <= 38 or scale > precision:
            raise ValueError(f"decimal({precision},{scale}): {engine} takes precision 1..38 and scale <= precision")
        return f"DECIMAL({precision},{scale})"
    if t.name == "array":
        return f"ARRAY<{_spell(t.children[0], scalars, engine)}>"
    if t.name == "map":
        key, value = t.children
        if key.name in ("array", "map", "struct"):
            raise ValueError(f"{engine} map keys must be scalar, found {key.name}")
        return f"MAP<{_spell(key, scalars, engine)},{_spell(value, scalars, engine)}>"
    if t.name == "struct":
        fields = []
        for name, child in zip(t.fields, t.children, strict=True):
            if not _GLUE_NAME.fullmatch(name):
                raise ValueError(f"struct field {name!r}: {engine} takes only letters, digits and _ in field names")
            fields.append(f"{name}:{_spell(child, scalars, engine)}")
        return f"STRUCT<{','.join(fields)}>"
    return scalars[t.name]


def hive_type(text: str) -> str:
    """The Athena/Glue (Hive DDL) type of a Spark type string.

    Raises:
        ValueError: unsupported or malformed type.

    Example:
        >>> hive_type("array<struct<at:timestamp,ms:int>>")
        'ARRAY<STRUCT<at:TIMESTAMP,ms:INT>>'
    """
    return _spell(parse_type(text), _HIVE, "Athena")


def redshift_type(text: str) -> str:
    """The Redshift Spectrum external-table type of a Spark type string.

    Raises:
        ValueError: unsupported or malformed type.

    Example:
        >>> redshift_type("string"), redshift_type("long")
        ('VARCHAR(65535)', 'BIGINT')
    """
    return _spell(parse_type(text), _REDSHIFT, "Redshift")


# ------------------------------------------------------------------------------ view functions


@dataclass(frozen=True)
class SqlDialect:
    """The few expressions in which Spark SQL, Athena (Trino) and Redshift differ, for the views.

    Attributes:
        name: ``spark``, ``athena`` or ``redshift``.
        quoting: how names are quoted.
        now: the current time as a timestamp in UTC (how the tables' timestamps read).
        today: the current date in UTC.
        seconds_between: ``(a, b)`` -> whole seconds from timestamp ``a`` to ``b``.
        days_between: ``(a, b)`` -> whole days from date ``a`` to ``b``.
        week_start: ``d`` -> the Monday of date ``d``'s ISO week, a DATE.
        add_hours: ``(d, n)`` -> timestamp ``d`` (a date: its midnight) plus ``n`` hours.
        double: the double type's name in a CAST.
        view_suffix: text after a view's query (Redshift: ``WITH NO SCHEMA BINDING``).
    """

    name: str
    quoting: Quoting
    now: str
    today: str
    seconds_between: Callable[[str, str], str]
    days_between: Callable[[str, str], str]
    week_start: Callable[[str], str]
    add_hours: Callable[[str, str], str]
    double: str
    view_suffix: str = ""

    def ratio(self, numerator: str, denominator: str) -> str:
        """``numerator / denominator`` as a double; NULL when the denominator is 0 or NULL."""
        return f"CAST({numerator} AS {self.double}) / NULLIF({denominator}, 0)"


SPARK_SQL = SqlDialect(
    name="spark",
    quoting=SPARK,
    now="current_timestamp()",  # the session time zone is UTC (platform.session)
    today="current_date()",
    seconds_between=lambda a, b: f"timestampdiff(SECOND, {a}, {b})",
    days_between=lambda a, b: f"datediff({b}, {a})",
    week_start=lambda d: f"trunc({d}, 'WEEK')",
    add_hours=lambda d, n: f"timestampadd(HOUR, {n}, CAST({d} AS TIMESTAMP))",
    double="DOUBLE",
)
ATHENA_TRINO = SqlDialect(
    name="athena",
    quoting=ATHENA_SQL,
    now="CAST(current_timestamp AT TIME ZONE 'UTC' AS timestamp(3))",
    today="CAST(current_timestamp AT TIME ZONE 'UTC' AS date)",
    seconds_between=lambda a, b: f"date_diff('second', {a}, {b})",
    days_between=lambda a, b: f"date_diff('day', {a}, {b})",
    week_start=lambda d: f"date_trunc('week', {d})",
    add_hours=lambda d, n: f"date_add('hour', {n}, CAST({d} AS timestamp(3)))",
    double="DOUBLE",
)
REDSHIFT_SQL = SqlDialect(
    name="redshift",
    quoting=REDSHIFT,
    now="GETDATE()",  # UTC; CURRENT_TIMESTAMP and NOW() are leader-node only
    today="CAST(GETDATE() AS DATE)",
    seconds_between=lambda a, b: f"DATEDIFF(second, {a}, {b})",
    days_between=lambda a, b: f"DATEDIFF(day, {a}, {b})",
    week_start=lambda d: f"CAST(DATE_TRUNC('week', {d}) AS DATE)",
    add_hours=lambda d, n: f"DATEADD(hour, {n}, {d})",
    double="DOUBLE PRECISION",
    view_suffix="\nWITH NO SCHEMA BINDING",
)

#: The view dialects by name.
DIALECTS: dict[str, SqlDialect] = {d.name: d for d in (SPARK_SQL, ATHENA_TRINO, REDSHIFT_SQL)}
