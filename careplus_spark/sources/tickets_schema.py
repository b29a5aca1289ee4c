"""The columns of the tickets source table ``support_tickets`` (SPEC 2.1), defined once.

The extraction requires them, bronze keeps them as they came, silver cleans them and
the synthetic generator writes them, all from this one list.
"""

from __future__ import annotations

#: The columns of ``support_tickets`` that the pipeline requires, in the table's order.
TICKET_COLUMNS: tuple[str, ...] = (
    "ticket_id",
    "created_at",
    "updated_at",
    "resolved_at",
    "agent",
    "priority",
    "num_interactions",
    "IssUeCat",
    "channel",
    "status",
    "agent_feedback",
)
