"""The key-only read of delete reconciliation."""

from __future__ import annotations

from careplus_spark.platform.config import TicketsSourceConfig
from careplus_spark.platform.secrets import Secret
from careplus_spark.sources import tickets_keys


def test_the_key_read_selects_the_key_column_only() -> None:
    source = TicketsSourceConfig(url="jdbc:mysql://h:3306/db", table="support_tickets", user="u",
                                 password=Secret.empty(), partition_by="cursor")
    plan = tickets_keys.plan_keys(None, source, rows=1000)  # type: ignore[arg-type]  # one range: no boundary query
    assert plan.dbtable == "(SELECT `ticket_id` FROM `support_tickets`) k"
    assert (plan.predicates, plan.mode) == (("1=1",), "none")
