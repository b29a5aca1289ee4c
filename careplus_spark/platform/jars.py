"""JVM dependencies for the local and standalone modes, resolved once into a local cache.

``careplus setup`` downloads the jars listed here from Maven Central (checksums
verified) into ``platform.jars_dir``; the session builder and ``spark-submit.sh``
then only read that folder, so no job ever downloads anything while it runs. On EMR
and Glue the platform's own Delta and S3 connector are used and this module is not
involved.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from careplus_spark.errors import JarsError

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class Artifact:
    """One Maven artifact, fetched without its transitive dependencies."""

    group: str
    name: str
    version: str

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}.jar"

    def url(self, repository: str = MAVEN_CENTRAL) -> str:
        group_path = self.group.replace(".", "/")
        return f"{repository}/{group_path}/{self.name}/{self.version}/{self.file_name}"


#: MySQL Connector/J, pinned: shipped with the package for EMR and Glue (``careplus package``).
MYSQL_CONNECTOR = Artifact("com.mysql", "mysql-connector-j", "9.5.0")
_SQLITE = Artifact("org.xerial", "sqlite-jdbc", "3.50.3.0")

#: Jars per Spark line. Everything else (Hadoop client, Hive metastore, Derby)
#: ships inside the pyspark wheel. The hadoop-aws version must equal the Hadoop
#: version bundled with pyspark (3.4.2 in pyspark 4.1.1, 3.3.4 in pyspark 3.5.x).
JARS: dict[str, tuple[Artifact, ...]] = {
    "4.1": (
        Artifact("io.delta", "delta-spark_4.1_2.13", "4.2.0"),
        Artifact("io.delta", "delta-storage", "4.2.0"),
        Artifact("org.apache.hadoop", "hadoop-aws", "3.4.2"),
        Artifact("software.amazon.awssdk", "bundle", "2.29.52"),
        Artifact("software.amazon.s3.analyticsaccelerator", "analyticsaccelerator-s3", "1.2.1"),
        MYSQL_CONNECTOR,
        _SQLITE,
    ),
    "3.5": (
        Artifact("io.delta", "delta-spark_2.12", "3.3.2"),
        Artifact("io.delta", "delta-storage", "3.3.2"),
        Artifact("org.apache.hadoop", "hadoop-aws", "3.3.4"),
        Artifact("com.amazonaws", "aws-java-sdk-bundle", "1.12.262"),
        MYSQL_CONNECTOR,
        _SQLITE,
    ),
}


def spark_line(version: str | None = None) -> str:
    """Returns the supported Spark line (``"4.1"`` or ``"3.5"``) of a pyspark version.

    Raises:
        JarsError: the installed pyspark belongs to no supported line.
    """
    if version is None:
        import pyspark

        version = pyspark.__version__
    line = ".".join(version.split(".")[:2])
    if line not in JARS:
        raise JarsError(
            f"pyspark {version} is not supported: expected one of the lines "
            f"{sorted(JARS)} (install with `pip install -e .` or `-c constraints-spark35.txt`)"
        )
    return line


def reader_jar(line: str) -> Path:
    """Where the package's own JVM log reader jar lives once built (``careplus setup``)."""
    return Path(__file__).resolve().parent.parent / "jvm" / f"careplus-logreader-{line}.jar"


def default_jars_dir() -> Path:
    """The cache folder: ``$CAREPLUS_JARS_DIR`` or ``~/.cache/careplus/jars``."""
    env = os.environ.get("CAREPLUS_JARS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "careplus" / "jars"


def cached_jars(jars_dir: Path, line: str | None = None) -> list[Path]:
    """Paths of the cached jars for a Spark line, in a stable order.

    Raises:
        JarsError: a jar is missing; the message names it and the setup command.
    """
    artifacts = JARS[line or spark_line()]
    missing = [a.file_name for a in artifacts if not (jars_dir / a.file_name).is_file()]
    if missing:
        raise JarsError(
            f"jar cache {jars_dir} lacks {', '.join(missing)}; "
            "run `careplus setup` once (it downloads them from Maven Central)"
        )
    return [jars_dir / a.file_name for a in artifacts]


def fetch_jars(
    jars_dir: Path,
    line: str | None = None,
    repository: str = MAVEN_CENTRAL,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Downloads the jars of a Spark line that are not cached yet; verifies SHA-1.

    Example:
        >>> fetch_jars(Path("~/.cache/careplus/jars").expanduser())  # doctest: +SKIP

    Raises:
        JarsError: a download failed or its checksum did not match.
    """
    return fetch_artifacts(jars_dir, JARS[line or spark_line()], repository, progress)


def fetch_artifacts(
    jars_dir: Path,
    artifacts: tuple[Artifact, ...],
    repository: str = MAVEN_CENTRAL,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """The cached paths of ``artifacts``, downloading (SHA-1 verified) those not cached yet.

    Raises:
        JarsError: a download failed or its checksum did not match.
    """
    jars_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for artifact in artifacts:
        target = jars_dir / artifact.file_name
        if not target.is_file():
            if progress:
                progress(f"downloading {artifact.file_name}")
            _download_verified(artifact.url(repository), target)
        paths.append(target)
    return paths


def _download_verified(url: str, target: Path) -> None:
    try:
        with urllib.request.urlopen(url + ".sha1", timeout=60) as response:
            expected = response.read().decode("ascii").split()[0].strip().lower()
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
        digest = hashlib.sha1()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        raise JarsError(f"cannot download {url}: {exc}") from exc
    if digest.hexdigest() != expected:
        os.unlink(tmp_name)
        raise JarsError(f"checksum mismatch for {url}: expected {expected}, got {digest.hexdigest()}")
    os.chmod(tmp_name, 0o644)
    shutil.move(tmp_name, target)
