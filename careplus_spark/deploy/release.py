"""A package's place on S3: ``<deploy.artifacts_uri>/<version>-<digest[:12]>/<path under dist/>``.

Each package gets a folder of its own, named after its manifest's digest, so uploading a new
package never touches the files a deployed job or a running step reads; the job definitions
move to the new folder only after every file is there. Uploads are skipped for objects that
already hold the same SHA-256 (stored as object metadata), so deploying twice uploads nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from careplus_spark.deploy.artifacts import MANIFEST, Artefact, Manifest, file_sha256
from careplus_spark.errors import ConfigError
from careplus_spark.platform.aws import Api

SETTING = "deploy.artifacts_uri"
PLACEHOLDER_BUCKET = "SET-deploy.artifacts_uri"  # shown by a dry run when the setting is empty
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SHA_KEY = "sha256"


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix (no leading or trailing ``/``)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str, setting: str = SETTING) -> S3Location:
        """``s3://bucket/prefix`` -> location.

        Raises:
            ConfigError: not an ``s3://`` URI with a valid bucket name (names the setting).
        """
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not uri.startswith("s3://") or not _BUCKET.fullmatch(bucket):
            raise ConfigError(f"{setting}: expected s3://bucket/prefix (Glue and EMR read s3:// URIs), found {uri!r}")
        return cls(bucket, prefix.strip("/"))

    def key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


@dataclass(frozen=True)
class Release:
    """Where one package's files live on S3."""

    manifest: Manifest
    location: S3Location

    @classmethod
    def of(cls, manifest: Manifest, artifacts_uri: str) -> Release:
        """The release of ``manifest`` under ``artifacts_uri``; empty means a placeholder (dry runs)."""
        location = S3Location.parse(artifacts_uri) if artifacts_uri else S3Location(PLACEHOLDER_BUCKET, "careplus")
        return cls(manifest, location)

    def key(self, path: str) -> str:
        return self.location.key(self.manifest.release, path)

    def uri(self, artefact: Artefact) -> str:
        """The ``s3://`` URI of an artefact of this release."""
        return self.location.uri(self.key(artefact.path))

    def files(self, dist: Path) -> list[tuple[Path, str, str]]:
        """(local file, key, sha256) of every artefact and the manifest, the manifest last."""
        found = [(dist / a.path, self.key(a.path), a.sha256) for a in self.manifest.artefacts]
        manifest = dist / MANIFEST
        return [*found, (manifest, self.key(MANIFEST), "")]


@dataclass(frozen=True)
class UploadReport:
    """Keys uploaded and keys already there with the same content."""

    location: str
    uploaded: tuple[str, ...]
    unchanged: tuple[str, ...]

    def summary(self) -> str:
        return f"artefacts in {self.location}: {len(self.uploaded)} uploaded, {len(self.unchanged)} unchanged"


def check_bucket(s3: Api, release: Release) -> None:
    """Fails before anything is written when the artefact bucket does not exist or cannot be reached.

    Raises:
        DeployError: no such bucket (names ``deploy.artifacts_uri``), or the call failed.
    """
    bucket = release.location.bucket
    s3.must_read("head_bucket", bucket, f"{SETTING}: bucket {bucket!r} does not exist (S3 HeadBucket: not found); "
                 "create it or point the setting at an existing one", Bucket=bucket)


def upload(s3: Api, dist: Path, release: Release) -> UploadReport:
    """Uploads every file of the release that S3 does not already hold with the same SHA-256.

    Call :func:`check_bucket` first. In a dry run (``s3.dry_run``) nothing is read or written: every
    file is reported as to be uploaded.

    Raises:
        DeployError: an S3 call failed (names the call and the key).
    """
    bucket = release.location.bucket
    uploaded, unchanged = [], []
    for path, key, sha in release.files(dist):
        digest = sha or file_sha256(path)
        if not s3.dry_run:
            head = s3.read("head_object", key, Bucket=bucket, Key=key)
            if head is not None and (head.get("Metadata") or {}).get(_SHA_KEY) == digest:
                unchanged.append(key)
                continue
        s3.write("put_object", key, Bucket=bucket, Key=key, Body=path.read_bytes(), Metadata={_SHA_KEY: digest})
        uploaded.append(key)
    return UploadReport(release.location.uri(release.key("")), tuple(uploaded), tuple(unchanged))

