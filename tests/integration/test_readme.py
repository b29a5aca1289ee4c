"""The README's first two commands are true: the demo runs to the end on a machine with no servers."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DEMO_TIMEOUT_S = 1800


def readme_commands() -> list[str]:
    """The commands of the README's first code block, comments stripped."""
    block = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block, "README.md has no bash code block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_demo_and_test_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.index("```bash") < 200, "the two commands must be the README's first lines"
    assert readme_commands() == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.smoke
def test_readme_demo_command_runs_to_the_end() -> None:
    command = readme_commands()[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CAREPLUS_TEST_"))}
    result = subprocess.run(
        command.split(), cwd=REPO, env=env, capture_output=True, text=True, timeout=DEMO_TIMEOUT_S
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "demo finished" in output
    for table in ("bronze.tickets", "silver.tickets", "bronze.logs", "bronze.logs_quarantine", "gold.fct_tickets"):
        assert re.search(rf"^{re.escape(table)}\s+[\d,]+\s+\d+", result.stdout, re.M), f"{table} missing:\n{result.stdout[-3000:]}"
    summary = re.search(r"^ingest_logs\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)", result.stdout, re.M)
    assert summary, result.stdout[-3000:]
    read, written, _updated, quarantined = (int(g.replace(",", "")) for g in summary.groups())
    assert read == written + quarantined and quarantined > 0
