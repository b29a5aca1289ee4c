"""What the lakehouse holds: its tables by database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from careplus_spark.platform.config import AppConfig
from careplus_spark.platform.session import DATABASES
from careplus_spark.tables import TableRef

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def lakehouse_tables(spark: SparkSession, cfg: AppConfig) -> list[TableRef]:
    """Every table registered in the lakehouse databases, in layer order."""
    refs = []
    for database in DATABASES:
        names = sorted(row.tableName for row in spark.sql(f"SHOW TABLES IN {database}").collect() if not row.isTemporary)
        refs.extend(TableRef(database, name, cfg.lakehouse.root) for name in names)
    return refs
