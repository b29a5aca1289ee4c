"""Ticket rows of the synthetic source: every dirty trait of the spec appears."""

from __future__ import annotations

from pathlib import Path

from careplus_spark.synthetic import TICKET_COLUMNS, GenerateStats
from tests.synthetic_support import LAYOUT_TS, rows


def columns(dirty: tuple[Path, GenerateStats]) -> dict[str, list[str]]:
    table = rows(dirty[0] / "tickets.db")
    return {name: [r[i] for r in table] for i, name in enumerate(TICKET_COLUMNS)}


def test_misspelled_priorities_appear(dirty: tuple[Path, GenerateStats]) -> None:
    assert {"Hgh", "Medum", "Lw"} <= {p.strip() for p in columns(dirty)["priority"]}


def test_categories_come_with_surrounding_spaces_and_odd_case(dirty: tuple[Path, GenerateStats]) -> None:
    col = columns(dirty)
    for name, canon in (
        ("priority", {"High", "Medium", "Low"}),
        ("channel", {"Chat", "Phone", "Web Form", "Email"}),
        ("status", {"Open", "Resolved", "Escalated", "Closed"}),
    ):
        assert any(v != v.strip() for v in col[name]), f"no surrounding spaces in {name}"
        assert any(
            v.strip() not in canon and v.strip().title() in {c.title() for c in canon}
            for v in col[name]
        ), name


def test_invalid_interaction_counts_appear(dirty: tuple[Path, GenerateStats]) -> None:
    interactions = columns(dirty)["num_interactions"]
    assert "-999999" in interactions
    assert any(not v.lstrip("-").isdigit() for v in interactions)


def test_zero_alternate_and_unparseable_timestamps_appear(dirty: tuple[Path, GenerateStats]) -> None:
    col = columns(dirty)
    assert (
        "0000-00-00 00:00:00" in col["created_at"] and "0000-00-00 00:00:00" in col["resolved_at"]
    )
    for name, pattern in LAYOUT_TS.items():
        assert any(pattern.match(v) for v in col["created_at"]), name
        assert any(v and pattern.match(v) for v in col["resolved_at"]), name
    assert any(v[0].isalpha() or v.startswith("#") for v in col["created_at"]), (
        "no unparseable created_at"
    )


def test_text_comes_with_trailing_spaces_and_non_ascii(dirty: tuple[Path, GenerateStats]) -> None:
    col = columns(dirty)
    for name in ("agent", "IssUeCat", "agent_feedback"):
        assert any(v.endswith(" ") for v in col[name]), f"no trailing spaces in {name}"
    assert any(not v.isascii() for v in col["agent_feedback"])
