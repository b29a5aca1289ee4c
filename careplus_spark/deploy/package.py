"""``careplus package``: the wheel, the jobs, the log reader jar per Spark line and Connector/J in ``dist/``.

Everything EMR, Glue or a cluster needs, built from a source checkout, with ``dist/manifest.json``
(versions and SHA-256 of each file, see :mod:`careplus_spark.deploy.artifacts`). Reproducible:
the reader jars have fixed entry times (``project.build.outputTimestamp`` in ``jvm/pom.xml``), the
wheel is built by the pinned backend of ``pyproject.toml`` and then rewritten with sorted entries
and the commit's time, so the same commit gives byte-identical files.

Layout::

    dist/careplus_spark-<version>-py3-none-any.whl   the package with its conf/ and rule files
    dist/jobs/<job>.py                              the thin entry points (Glue ScriptLocation)
    dist/jars/careplus-logreader-<line>.jar         the JVM log reader, one per Spark line
    dist/jars/mysql-connector-j-<version>.jar       the JDBC driver, as pinned in platform/jars.py
    dist/manifest.json
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from careplus_spark.deploy import artifacts
from careplus_spark.deploy.artifacts import Artefact, Manifest
from careplus_spark.errors import DeployError
from careplus_spark.platform import jars
from careplus_spark.sources.log_reader import build_reader_jar

Progress = Callable[[str], None]

_WHEEL_TIMEOUT_S = 600
_GIT_TIMEOUT_S = 30
_EPOCH_1980 = 315532800  # the oldest time a zip entry can carry
_SOURCES = ("setup.py", "pyproject.toml", "README.md")


def source_root() -> Path:
    """The source checkout this package was installed from (editable install).

    Raises:
        DeployError: an installed wheel, not a checkout: packaging needs ``setup.py``, ``jobs/`` and ``jvm/``.
    """
    root = Path(__file__).resolve().parents[2]
    if not all((root / name).exists() for name in ("setup.py", "jobs", "jvm/pom.xml")):
        raise DeployError(f"`careplus package` needs a source checkout (setup.py, jobs/, jvm/): {root} is not one; "
                          "clone the repository and `pip install -e .` there, or pass --source")
    return root


def build(dist: Path, *, source: Path, jars_dir: Path, lines: Iterable[str] = tuple(artifacts.LINES),
          progress: Progress | None = None) -> Manifest:
    """Builds every artefact into ``dist`` and writes the manifest; removes stale artefacts of earlier builds.

    Example:
        >>> manifest = build(Path("dist"), source=source_root(), jars_dir=session.jars_dir(cfg))  # doctest: +SKIP

    Raises:
        DeployError: the wheel build failed. JarsError: Maven or a Maven Central download failed.
    """
    say = progress or (lambda _text: None)
    epoch = source_date_epoch(source)
    dist.mkdir(parents=True, exist_ok=True)
    for stale in (*dist.glob("*.whl"), dist / "jobs", dist / "jars", dist / artifacts.MANIFEST):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    found: list[Artefact] = []
    (dist / "jars").mkdir()
    for line in lines:
        say(f"building the log reader for Spark {line} (Maven)")
        jar = dist / "jars" / f"careplus-logreader-{line}.jar"
        shutil.copyfile(build_reader_jar(line), jar)
        found.append(artifacts.describe(dist, jar, "log-reader", line))
    driver = jars.fetch_artifacts(jars_dir, (jars.MYSQL_CONNECTOR,), progress=say)[0]
    shutil.copyfile(driver, dist / "jars" / driver.name)
    found.append(artifacts.describe(dist, dist / "jars" / driver.name, "jdbc-driver"))
    say("building the wheel")
    wheel = build_wheel(source, dist, epoch)
    found.append(artifacts.describe(dist, wheel, "wheel"))
    (dist / "jobs").mkdir()
    for script in sorted((source / "jobs").glob("*.py")):
        shutil.copyfile(script, dist / "jobs" / script.name)
        found.append(artifacts.describe(dist, dist / "jobs" / script.name, "job"))
    version = wheel.name.split("-")[1]
    manifest = Manifest("careplus-spark", version, git_commit(source), tuple(sorted(found, key=lambda a: a.path)))
    (dist / artifacts.MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def build_wheel(source: Path, out: Path, epoch: int) -> Path:
    """Builds the wheel from a clean copy of the sources, then normalises it (see :func:`normalize_zip`).

    Raises:
        DeployError: pip failed or took longer than 10 minutes (the message carries its output).
    """
    with tempfile.TemporaryDirectory(prefix="careplus-wheel-") as tmp:
        copy = Path(tmp) / "src"
        _copy_sources(source, copy)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(Path(tmp) / "out"), str(copy)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=_WHEEL_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise DeployError(f"building the wheel took more than {_WHEEL_TIMEOUT_S} s: {' '.join(command)}") from None
        built = sorted((Path(tmp) / "out").glob("*.whl"))
        if done.returncode != 0 or len(built) != 1:
            raise DeployError(f"building the wheel failed (exit {done.returncode}): "
                              f"{(done.stdout + done.stderr).strip()[-2000:]}")
        target = out / built[0].name
        normalize_zip(built[0], target, epoch)
    return target


def _copy_sources(source: Path, target: Path) -> None:
    """setup.py, pyproject.toml, README, conf/ and the package, without caches (no stale build/ folder)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.tmp")
    shutil.copytree(source / "careplus_spark", target / "careplus_spark", ignore=ignore)
    shutil.copytree(source / "conf", target / "conf", ignore=ignore)
    for name in _SOURCES:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)


def normalize_zip(path: Path, target: Path, epoch: int) -> None:
    """Rewrites a zip with sorted entries (``.dist-info`` last), one time stamp and fixed permissions."""
    stamp = _zip_time(epoch)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        names = sorted(src.namelist(), key=lambda n: (".dist-info/" in n, n))
        for name in names:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            out.writestr(info, src.read(name))


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    value = time.gmtime(max(epoch, _EPOCH_1980))
    return value.tm_year, value.tm_mon, value.tm_mday, value.tm_hour, value.tm_min, value.tm_sec - value.tm_sec % 2


def source_date_epoch(source: Path) -> int:
    """``$SOURCE_DATE_EPOCH``, else the time of the checkout's last commit, else 1980-01-01."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    text = _git(source, "log", "-1", "--format=%ct")
    return int(text) if text.isdigit() else _EPOCH_1980


def git_commit(source: Path) -> str:
    """The checkout's commit, ``+dirty`` when tracked files changed since; ``unknown`` outside git."""
    commit = _git(source, "rev-parse", "HEAD") or "unknown"
    dirty = _git(source, "status", "--porcelain", "--untracked-files=no")
    return f"{commit}+dirty" if dirty and commit != "unknown" else commit


def _git(source: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
