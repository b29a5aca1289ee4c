"""JVM dependencies for the local and standalone modes, resolved once into a local cache.

``careplus setup`` downloads the jars listed here from Maven Central (checksums
verified) into ``platform.jars_dir``; the session builder and ``spark-submit.sh``
then only read that folder, so no job ever downloads anything while it runs. On EMR
and Glue the platform's own Delta and S3 connector are used and this module is not
involved.

``lakehouse.log_store: s3-dynamodb`` adds Delta's ``delta-storage-s3-dynamodb`` (of the line's
Delta version) and the AWS SDK for Java v1 it calls. Where the repository does not serve that
jar, :func:`fetch_jars` compiles it from Delta's own sources kept in ``jvm/delta-storage-s3-dynamodb``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from careplus_spark.errors import JarsError

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"

#: The ``lakehouse.log_store`` that selects Delta's S3DynamoDBLogStore.
S3_DYNAMODB = "s3-dynamodb"
#: Delta's sources of ``delta-storage-s3-dynamodb`` (tag v4.2.0; identical at v3.3.2), in a source checkout.
LOG_STORE_SOURCES = Path(__file__).resolve().parents[2] / "jvm" / "delta-storage-s3-dynamodb"
_JAVAC_TIMEOUT_S = 300


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
#: The AWS SDK for Java v1, whole: hadoop-aws 3.3.4 needs it (3.5 line), and so does Delta's
#: S3DynamoDBLogStore on both lines (Delta 3.3.2 and 4.2.0 alike call ``com.amazonaws.services.dynamodbv2``).
AWS_SDK_V1 = Artifact("com.amazonaws", "aws-java-sdk-bundle", "1.12.262")

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
        AWS_SDK_V1,
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


def artifacts(line: str, log_store: str = "default") -> tuple[Artifact, ...]:
    """The jars of a Spark line; with ``log_store="s3-dynamodb"`` also :func:`log_store_artifacts`."""
    base = JARS[line]
    if log_store != S3_DYNAMODB:
        return base
    return base + tuple(a for a in log_store_artifacts(line) if a not in base)


def delta_version(line: str) -> str:
    """The Delta version of a Spark line (that of its ``delta-storage`` jar)."""
    return next(a.version for a in JARS[line] if a.name == "delta-storage")


def log_store_artifacts(line: str) -> tuple[Artifact, ...]:
    """What Delta's ``S3DynamoDBLogStore`` needs on the classpath: the AWS SDK v1 and its own jar (last)."""
    return (AWS_SDK_V1, Artifact("io.delta", "delta-storage-s3-dynamodb", delta_version(line)))


def cached_jars(jars_dir: Path, line: str | None = None, log_store: str = "default") -> list[Path]:
    """Paths of the cached jars for a Spark line (and log store), in a stable order.

    Raises:
        JarsError: a jar is missing; the message names it and the setup command.
    """
    wanted = artifacts(line or spark_line(), log_store)
    missing = [a.file_name for a in wanted if not (jars_dir / a.file_name).is_file()]
    if missing:
        configured = " with lakehouse.log_store: s3-dynamodb configured" if log_store == S3_DYNAMODB else ""
        raise JarsError(
            f"jar cache {jars_dir} lacks {', '.join(missing)}; "
            f"run `careplus setup` once{configured} (it downloads them from Maven Central)"
        )
    return [jars_dir / a.file_name for a in wanted]


def fetch_jars(
    jars_dir: Path,
    line: str | None = None,
    repository: str = MAVEN_CENTRAL,
    progress: Callable[[str], None] | None = None,
    log_store: str = "default",
) -> list[Path]:
    """Downloads the jars of a Spark line that are not cached yet; verifies SHA-1.

    With ``log_store="s3-dynamodb"`` it also fetches Delta's ``delta-storage-s3-dynamodb`` and the
    AWS SDK v1; a repository that does not serve that jar (refused, unreachable) is not fatal when
    Delta's sources of it are in this checkout (``jvm/delta-storage-s3-dynamodb``): the jar is
    then compiled from them (:func:`build_log_store_jar`).

    Example:
        >>> fetch_jars(Path("~/.cache/careplus/jars").expanduser())  # doctest: +SKIP

    Raises:
        JarsError: a download failed or its checksum did not match, or the log store jar could be
            neither downloaded nor built.
    """
    line = line or spark_line()
    wanted = artifacts(line, log_store)
    if log_store != S3_DYNAMODB:
        return fetch_artifacts(jars_dir, wanted, repository, progress)
    store_jar = wanted[-1]
    paths = fetch_artifacts(jars_dir, wanted[:-1], repository, progress)
    try:
        return [*paths, *fetch_artifacts(jars_dir, (store_jar,), repository, progress)]
    except JarsError as exc:
        if not (LOG_STORE_SOURCES / "src").is_dir():
            raise
        if progress:
            progress(f"{store_jar.file_name}: {exc}; building it from Delta's sources in {LOG_STORE_SOURCES}")
        return [*paths, build_log_store_jar(jars_dir, line)]


def build_log_store_jar(jars_dir: Path, line: str, sources: Path = LOG_STORE_SOURCES) -> Path:
    """Compiles Delta's S3DynamoDBLogStore from ``sources`` into the cache, named as Maven Central's jar.

    The classes are compiled for Java 8, as Delta's build does, against the line's cached
    ``delta-storage`` jar, the AWS SDK v1 and the Hadoop client of the pyspark wheel; Delta's
    LICENSE and NOTICE go into ``META-INF``.

    Raises:
        JarsError: no ``javac``, a jar it compiles against is not cached, or the compiler failed.
    """
    import pyspark  # the wheel's own jars (Hadoop client, SLF4J) are what the log store runs against

    javac = shutil.which("javac")
    if javac is None:
        raise JarsError("cannot build the DynamoDB log store jar: `javac` (a JDK, 17 here) is not on PATH")
    wanted = ("delta-storage", AWS_SDK_V1.name)
    deps = [jars_dir / a.file_name for a in artifacts(line, S3_DYNAMODB) if a.name in wanted]
    missing = [p.name for p in deps if not p.is_file()]
    if missing:
        raise JarsError(f"cannot build the DynamoDB log store jar: {', '.join(missing)} not in {jars_dir}")
    classpath = os.pathsep.join([*map(str, deps), str(Path(pyspark.__file__).parent / "jars" / "*")])
    target = jars_dir / log_store_artifacts(line)[-1].file_name
    with tempfile.TemporaryDirectory(dir=jars_dir, prefix="build-") as tmp:
        classes = Path(tmp) / "classes"
        command = [javac, "--release", "8", "-nowarn", "-encoding", "UTF-8", "-d", str(classes), "-cp", classpath,
                   *sorted(str(p) for p in (sources / "src" / "main" / "java").rglob("*.java"))]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_JAVAC_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise JarsError(f"compiling {sources} took longer than {_JAVAC_TIMEOUT_S} s") from exc
        if done.returncode != 0 or not classes.is_dir():
            output = (done.stdout + done.stderr).strip()[-3000:]
            raise JarsError(f"compiling {sources} failed (javac exit {done.returncode}):\n{output}")
        part = Path(tmp) / target.name
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: careplus setup (javac, "
                         f"Delta {delta_version(line)} sources)\r\n\r\n")
            for notice in ("LICENSE.txt", "NOTICE.txt"):
                if (sources / notice).is_file():
                    jar.write(sources / notice, f"META-INF/{notice}")
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        os.chmod(part, 0o644)
        shutil.move(part, target)
    return target


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
