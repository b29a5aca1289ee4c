"""The README opens with its two commands, and both exist in the Makefile and the CI script."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
README = REPO / "README.md"


def readme_commands() -> list[str]:
    """The commands of the README's first code block, comments stripped."""
    block = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block, "README.md has no bash code block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_its_bash_block() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.index("```bash") < 200, "the two commands must be the README's first lines"


def test_readme_commands_are_demo_and_test() -> None:
    assert readme_commands() == ["make demo", "make test"]


def test_makefile_has_demo_and_test_targets() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_ci_runs_make_test() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
