"""What ``careplus package`` leaves in ``dist/`` and ``careplus deploy`` ships: the manifest.

``dist/manifest.json`` lists every artefact (path under ``dist/``, kind, SHA-256, size and, for
a jar of one Spark line, the line) and the Spark lines the package supports with the platform
versions they map to. :func:`load` reads it back and verifies every file against it, so a deploy
never ships something other than what was packaged. :attr:`Manifest.digest` names a release:
uploads land under ``<version>-<digest[:12]>/``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from careplus_spark.errors import DeployError

MANIFEST = "manifest.json"

Kind = Literal["wheel", "job", "log-reader", "jdbc-driver"]


@dataclass(frozen=True)
class SparkLine:
    """One supported Spark line and where it runs (PLATFORM.md)."""

    line: str
    spark: str
    scala: str
    delta: str
    glue_version: str
    emr_releases: str


#: The lines the package is built for; Glue and EMR pick their jars by line.
LINES: Mapping[str, SparkLine] = {
    "4.1": SparkLine("4.1", "4.1.1", "2.13", "4.2.0", "6.0", "emr-8.x"),
    "3.5": SparkLine("3.5", "3.5.6", "2.12", "3.3.2", "5.1", "emr-7.x"),
}


def line_of_emr_release(label: str) -> str:
    """The Spark line of an EMR release label: ``emr-7.13.0`` -> ``3.5``, ``emr-8.0.0`` -> ``4.1``.

    Raises:
        DeployError: not an EMR 7 or 8 release (older ones run Spark 3.4 or earlier).
    """
    major = label.removeprefix("emr-").split(".")[0]
    lines = {"7": "3.5", "8": "4.1"}
    if not label.startswith("emr-") or major not in lines:
        raise DeployError(f"EMR release {label!r} is not supported: use emr-7.x (Spark 3.5) or emr-8.x (Spark 4)")
    return lines[major]


@dataclass(frozen=True)
class Artefact:
    """One file of the package, by its path under ``dist/``."""

    path: str
    kind: Kind
    sha256: str
    size: int
    spark_line: str = ""

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Manifest:
    """``dist/manifest.json``: the package version, the commit, the lines and every artefact."""

    package: str
    version: str
    commit: str
    artefacts: tuple[Artefact, ...]

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, fixed indentation): the same package gives the same text."""
        data = {**asdict(self), "spark_lines": {k: asdict(v) for k, v in LINES.items()}}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @property
    def digest(self) -> str:
        """SHA-256 of :meth:`to_json`: changes whenever any artefact does."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @property
    def release(self) -> str:
        """The upload folder of this package: ``0.1.0-<digest[:12]>``."""
        return f"{self.version}-{self.digest[:12]}"

    def one(self, kind: Kind, spark_line: str = "") -> Artefact:
        """The single artefact of a kind (and line, for the log reader).

        Raises:
            DeployError: the package has none (built for other lines?).
        """
        found = [a for a in self.artefacts if a.kind == kind and (not spark_line or a.spark_line in ("", spark_line))]
        if len(found) != 1:
            raise DeployError(f"the package in dist/ has {len(found)} {kind} artefact(s) for Spark line "
                              f"{spark_line or 'any'}; rebuild it with `careplus package`")
        return found[0]

    def jobs(self) -> dict[str, Artefact]:
        """The job scripts by name (``run_pipeline``)."""
        return {a.name.removesuffix(".py"): a for a in self.artefacts if a.kind == "job"}


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def describe(dist: Path, path: Path, kind: Kind, spark_line: str = "") -> Artefact:
    """The :class:`Artefact` of a file under ``dist``."""
    return Artefact(path.relative_to(dist).as_posix(), kind, file_sha256(path), path.stat().st_size, spark_line)


def load(dist: Path) -> Manifest:
    """Reads ``dist/manifest.json`` and checks every artefact's size and SHA-256 against it.

    Raises:
        DeployError: no manifest (run ``careplus package``), or a file is missing or changed.
    """
    path = dist / MANIFEST
    if not path.is_file():
        raise DeployError(f"{path} not found: run `careplus package` first (it builds the wheel, jobs and jars)")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        artefacts = tuple(Artefact(**a) for a in data["artefacts"])
        manifest = Manifest(data["package"], data["version"], data["commit"], artefacts)
    except (ValueError, KeyError, TypeError) as exc:
        raise DeployError(f"{path} is not a careplus package manifest ({exc}); run `careplus package`") from None
    for artefact in manifest.artefacts:
        file = dist / artefact.path
        if not file.is_file() or file.stat().st_size != artefact.size or file_sha256(file) != artefact.sha256:
            raise DeployError(f"{file} is missing or differs from {path}; rebuild with `careplus package`")
    return manifest
