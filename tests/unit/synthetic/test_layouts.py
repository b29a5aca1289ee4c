"""created_at / resolved_at layouts of the generator: each at its rate, each the same instant."""

from __future__ import annotations

import dataclasses
import math
import random
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from careplus_spark.synthetic import LAYOUTS, TIMESTAMP_RATE_FIELDS, GenerateSpec, LayoutPicker
from tests.synthetic_support import UTC, expected_utc, layout_of, rows, run

VALUE = datetime(2025, 7, 1, 7, 11, 0)
#: Every layout's rate in the rate test; month_first instead of day_first (they share a shape).
RATES = {
    "iso_t": 0.05, "iso_z": 0.04, "slash": 0.1, "dot": 0.03, "no_seconds": 0.05, "fraction": 0.06,
    "offset": 0.08, "epoch_s": 0.05, "epoch_ms": 0.04, "date_only": 0.02, "day_first": 0.0, "month_first": 0.07,
}


def stamps(root: Path, spec: GenerateSpec) -> list[str]:
    """Every created_at and resolved_at text of the tickets generated from ``spec``."""
    run(spec, root)
    return [v for r in rows(root / "tickets.db") for v in (r[1], r[3]) if v is not None]


def test_every_layout_has_a_rate_field_on_the_spec() -> None:
    spec_fields = {f.name for f in dataclasses.fields(GenerateSpec)}
    assert {f for f in spec_fields if f.startswith("ts_")} == {f"ts_{name}" for name in LAYOUTS}
    assert set(TIMESTAMP_RATE_FIELDS) <= set(GenerateSpec.clean().__dict__)
    assert all(getattr(GenerateSpec.clean(), f) == 0 for f in TIMESTAMP_RATE_FIELDS)
    assert GenerateSpec().ts_month_first == 0.0 and all(GenerateSpec().timestamp_layout_rates()[n] > 0
                                                         for n in LAYOUTS if n != "month_first")


def test_each_layout_is_written_at_its_rate(tmp_path: Path) -> None:
    spec = GenerateSpec(seed=3, days=2, tickets_per_day=1500, log_files_per_day=0, zero_date=0.0,
                        unparseable_created_at=0.0).with_rates({f"ts_{n}": r for n, r in RATES.items()})
    texts = stamps(tmp_path, spec)
    counts = Counter(layout_of(t, month_first=True) for t in texts)
    n = len(texts)
    assert None not in counts, [t for t in texts if layout_of(t) is None][:5]
    for name, rate in [*RATES.items(), ("canonical", 1 - sum(RATES.values()))]:
        expected, spread = n * rate, 4 * math.sqrt(n * rate * (1 - rate)) + 1
        assert abs(counts[name] - expected) <= spread, (name, counts[name], expected)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_a_layout_stands_for_the_generated_instant(name: str) -> None:
    picker, rng = LayoutPicker.of({name: 1.0}), random.Random(5)
    for _ in range(200):
        text = picker.format(rng, VALUE)
        assert layout_of(text, month_first=name == "month_first") == name, text
        got = expected_utc(text, month_first=name == "month_first")
        assert got is not None, text
        shift = (got - VALUE.replace(tzinfo=UTC)).total_seconds()
        if name == "date_only":
            assert got == datetime(2025, 7, 1, tzinfo=UTC)
        elif name in ("no_seconds", "day_first", "month_first"):
            assert shift == 0  # VALUE has no seconds to lose
        else:
            assert 0 <= shift < 1, (text, shift)  # fractions and milliseconds only add to the second


def test_offsets_come_in_three_styles_and_fractions_in_one_to_nine_digits() -> None:
    rng = random.Random(9)
    offsets = [LayoutPicker.of({"offset": 1.0}).format(rng, VALUE) for _ in range(300)]
    fractions = [LayoutPicker.of({"fraction": 1.0}).format(rng, VALUE) for _ in range(300)]
    assert {re.sub(r"\d", "9", t[19:]) for t in offsets} == {"+99:99", "-99:99", "+9999", "-9999", "+99", "-99"}
    assert {len(t.split(".")[1].rstrip("Z")) for t in fractions} == set(range(1, 10))
    assert {t[10] for t in fractions} == {"T", " "} and {t.endswith("Z") for t in fractions} == {True, False}


def test_zero_layout_rates_write_the_canonical_layout_only() -> None:
    picker, rng = LayoutPicker.of({}), random.Random(1)
    assert {picker.format(rng, VALUE) for _ in range(50)} == {"2025-07-01 07:11:00"}


def test_layout_rates_above_one_are_refused() -> None:
    with pytest.raises(ValueError, match=r"ts_\* layout rates add up to 1\.2"):
        GenerateSpec.clean(ts_slash=0.6, ts_dot=0.6).validate()
    with pytest.raises(ValueError, match="more than 1"):
        LayoutPicker.of({"slash": 0.7, "dot": 0.7})


def test_unknown_layouts_and_the_old_rate_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown timestamp layout"):
        LayoutPicker.of({"julian": 0.1})
    with pytest.raises(ValueError, match="mixed_timestamp_formats"):
        GenerateSpec().with_rates({"mixed_timestamp_formats": 0.1})
