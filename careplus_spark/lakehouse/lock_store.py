"""Where the run lock's records live: ``<lakehouse.root>/_lock/`` on a local folder or on S3.

A store offers the one atomic operation the lock needs, create-if-absent with the whole
content at once, plus listing, reading and deleting:

- :class:`LocalStore`: the record is written to a temporary file, then ``os.link``-ed to its
  name (fails if the name exists; readers never see a half-written record);
- :class:`S3Store`: a conditional PUT, ``If-None-Match: *`` (AWS S3 since 2024, the Versity
  gateway), through boto3 with the ``s3`` section's endpoint and keys (the default
  credential chain on EMR and Glue, like s3a).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from careplus_spark.errors import ConfigError, SourceUnavailableError
from careplus_spark.platform.config import AppConfig

LOCK_DIR = "_lock"
_S3_SCHEMES = ("s3", "s3a", "s3n")
_CONNECT_TIMEOUT_S, _READ_TIMEOUT_S, _MAX_ATTEMPTS, _MAX_KEYS = 5, 30, 3, 1000
#: S3 answers a conditional PUT that lost with 412, or 409 when another one is under way.
_LOST = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


class LeaseStore(Protocol):
    """The folder of the lease records."""

    #: the folder, for messages (``/data/lakehouse/_lock``, ``s3://bucket/lake/_lock``)
    where: str

    def names(self, prefix: str) -> list[str]:
        """The names of the records starting with ``prefix``."""

    def read(self, name: str) -> bytes | None:
        """The record's content; None when it does not exist (any more)."""

    def create(self, name: str, data: bytes) -> bool:
        """Writes the record if no record of that name exists; False when one does."""

    def delete(self, name: str) -> None:
        """Deletes the record (nothing when it is gone already)."""


def store_for(cfg: AppConfig) -> LeaseStore:
    """The lock folder of ``cfg``'s lakehouse.

    Raises:
        ConfigError: a root that is neither a local folder (or ``file:``) nor S3 (``s3://``, ``s3a://``).
    """
    root = cfg.lakehouse.root
    parsed = urlparse(root)
    if parsed.scheme in _S3_SCHEMES:
        if not parsed.netloc:
            raise ConfigError(f"lakehouse.root {root!r}: an S3 root needs a bucket (s3a://BUCKET/PREFIX)")
        return S3Store(cfg, parsed.netloc, "/".join(p for p in (parsed.path.strip("/"), LOCK_DIR) if p))
    if parsed.scheme in ("", "file") or len(parsed.scheme) == 1:  # a Windows drive letter is no scheme
        path = parsed.path if parsed.scheme == "file" else root
        return LocalStore(Path(path) / LOCK_DIR)
    raise ConfigError(f"lakehouse.root {root!r}: the run lock works on a local folder or S3, not on "
                      f"{parsed.scheme}://; set lakehouse.lock.enabled=false to run without it")


class LocalStore:
    """Records as files of a local folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.where = str(folder)

    def names(self, prefix: str) -> list[str]:
        try:
            return [p.name for p in self.folder.iterdir() if p.name.startswith(prefix)]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._error("list", exc) from exc

    def read(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error(f"read {name}", exc) from exc

    def create(self, name: str, data: bytes) -> bool:
        temporary = self.folder / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            try:
                os.link(temporary, self.folder / name)
            except FileExistsError:
                return False
            return True
        except OSError as exc:
            raise self._error(f"create {name}", exc) from exc
        finally:
            temporary.unlink(missing_ok=True)

    def delete(self, name: str) -> None:
        try:
            (self.folder / name).unlink(missing_ok=True)
        except OSError as exc:
            raise self._error(f"delete {name}", exc) from exc

    def _error(self, what: str, exc: OSError) -> SourceUnavailableError:
        return SourceUnavailableError(f"run lock: cannot {what} in {self.where}: {exc.strerror or exc}; "
                                      "check that the lakehouse folder exists and is writable")


class S3Store:
    """Records as objects under ``s3://BUCKET/PREFIX/_lock/``."""

    def __init__(self, cfg: AppConfig, bucket: str, prefix: str) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.where = f"s3://{bucket}/{prefix}"
        self._client = _client(cfg)
        from botocore.exceptions import BotoCoreError, ClientError  # boto3's own dependency, optional like it

        self._client_error, self._errors = ClientError, (BotoCoreError, ClientError)

    def names(self, prefix: str) -> list[str]:
        names: list[str] = []
        token: str | None = None
        for _ in range(100):  # 100,000 records at most; the lock keeps one or two
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": f"{self.prefix}/{prefix}", "MaxKeys": _MAX_KEYS}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list", self._client.list_objects_v2, **kwargs)
            names += [obj["Key"].rsplit("/", 1)[-1] for obj in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
        return names

    def read(self, name: str) -> bytes | None:
        try:
            body = self._client.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{name}")["Body"]
            return bytes(body.read())
        except self._client_error as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise self._error(f"read {name}", exc) from exc
        except self._errors as exc:
            raise self._error(f"read {name}", exc) from exc

    def create(self, name: str, data: bytes) -> bool:
        try:
            self._client.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{name}", Body=data, IfNoneMatch="*",
                                    ContentType="application/json")
            return True
        except self._client_error as exc:
            if _code(exc) in _LOST:
                return False
            raise self._error(f"create {name}", exc) from exc
        except self._errors as exc:
            raise self._error(f"create {name}", exc) from exc

    def delete(self, name: str) -> None:
        self._call(f"delete {name}", self._client.delete_object, Bucket=self.bucket, Key=f"{self.prefix}/{name}")

    def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except self._errors as exc:
            raise self._error(what, exc) from exc

    def _error(self, what: str, exc: Exception) -> SourceUnavailableError:
        return SourceUnavailableError(f"run lock: cannot {what} in {self.where}: {exc}; check s3.endpoint, "
                                      "the credentials and that the bucket exists")


def _code(exc: Any) -> str:
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {}) or {}
    return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def _client(cfg: AppConfig) -> Any:
    """A boto3 S3 client like s3a's: the ``s3`` section off EMR and Glue, their roles on them.

    Raises:
        ConfigError: boto3 is not installed.
    """
    try:
        import boto3  # the optional `aws` extra (EMR and Glue ship it)
        from botocore.config import Config
    except ImportError:
        raise ConfigError("lakehouse.lock on an S3 root needs boto3: pip install 'careplus-spark[aws]', "
                          "or set lakehouse.lock.enabled=false") from None
    s3 = cfg.s3
    on_aws = cfg.spark.platform in ("emr", "glue")
    config = Config(connect_timeout=_CONNECT_TIMEOUT_S, read_timeout=_READ_TIMEOUT_S,
                    retries={"max_attempts": _MAX_ATTEMPTS, "mode": "standard"},
                    s3={"addressing_style": "path" if s3.path_style_access and not on_aws else "auto"})
    kwargs: dict[str, Any] = {"region_name": s3.region or None, "config": config}
    if not on_aws and s3.endpoint:
        scheme = "https" if s3.ssl_enabled else "http"
        kwargs["endpoint_url"] = s3.endpoint if "://" in s3.endpoint else f"{scheme}://{s3.endpoint}"
    if not on_aws and s3.access_key.is_set():
        kwargs["aws_access_key_id"] = s3.access_key.reveal()
        kwargs["aws_secret_access_key"] = s3.secret_key.reveal()
    return boto3.client("s3", **kwargs)
