"""Jar resolution into the cache: checksums verified, nothing fetched twice."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from careplus_spark.errors import JarsError
from careplus_spark.platform import jars


def fake_repository(root: Path, line: str, corrupt: str | None = None) -> str:
    for artifact in jars.JARS[line]:
        folder = root / artifact.group.replace(".", "/") / artifact.name / artifact.version
        folder.mkdir(parents=True, exist_ok=True)
        payload = f"jar of {artifact.name}".encode()
        (folder / artifact.file_name).write_bytes(payload)
        digest = hashlib.sha1(b"other" if artifact.name == corrupt else payload).hexdigest()
        (folder / (artifact.file_name + ".sha1")).write_text(digest)
    return root.as_uri()


def test_fetch_downloads_verifies_and_caches(tmp_path: Path) -> None:
    repo = fake_repository(tmp_path / "repo", "4.1")
    cache = tmp_path / "cache"
    messages: list[str] = []
    paths = jars.fetch_jars(cache, "4.1", repository=repo, progress=messages.append)
    assert [p.name for p in paths] == [a.file_name for a in jars.JARS["4.1"]]
    assert len(messages) == len(paths)
    assert jars.cached_jars(cache, "4.1") == paths
    messages.clear()
    jars.fetch_jars(cache, "4.1", repository=repo, progress=messages.append)
    assert messages == []  # nothing downloaded twice


def test_checksum_mismatch_fails_and_leaves_nothing(tmp_path: Path) -> None:
    repo = fake_repository(tmp_path / "repo", "3.5", corrupt="hadoop-aws")
    cache = tmp_path / "cache"
    with pytest.raises(JarsError, match=r"checksum mismatch .*hadoop-aws"):
        jars.fetch_jars(cache, "3.5", repository=repo)
    assert not (cache / "hadoop-aws-3.3.4.jar").exists()
    assert not list(cache.glob("*.part"))


def test_unreachable_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JarsError, match="cannot download"):
        jars.fetch_jars(tmp_path, "4.1", repository=(tmp_path / "nowhere").as_uri())


def test_spark_line_of_versions() -> None:
    assert jars.spark_line("4.1.1") == "4.1"
    assert jars.spark_line("3.5.6") == "3.5"
    with pytest.raises(JarsError, match=r"pyspark 3\.4\.1 is not supported"):
        jars.spark_line("3.4.1")


def test_maven_layout_url() -> None:
    artifact = jars.Artifact("io.delta", "delta-spark_4.1_2.13", "4.2.0")
    assert artifact.url() == (
        "https://repo1.maven.org/maven2/io/delta/delta-spark_4.1_2.13/4.2.0/delta-spark_4.1_2.13-4.2.0.jar"
    )
