"""Calls to AWS control-plane APIs (Glue, EMR, S3 uploads) through boto3, one way for every caller.

:func:`client` builds a boto3 client for a region and an optional endpoint (an emulator in
tests) with short timeouts and bounded retries. :class:`Api` wraps it: reads that find nothing
return ``None``, every write is recorded as an :class:`ApiCall` (and in a dry run only recorded),
and any AWS failure becomes the caller's :class:`~careplus_spark.errors.CarePlusError` subclass,
one paragraph naming the service, the call, its target and AWS's error code and message, with
credentials in URLs masked. boto3 is optional locally (the ``aws`` extra); Glue and EMR ship it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from careplus_spark.errors import CarePlusError, ConfigError
from careplus_spark.platform import secrets

log = logging.getLogger(__name__)

#: Error codes that mean "no such entity" for a read (Glue, EMR, EMR Serverless, S3).
NOT_FOUND = frozenset({"EntityNotFoundException", "ResourceNotFoundException", "NoSuchKey", "404", "NotFound"})

_CONNECT_TIMEOUT_S, _READ_TIMEOUT_S, _MAX_ATTEMPTS = 5, 60, 4


def client(
    service: str, *, region: str, endpoint: str = "", needed_by: str, timeout_s: float | None = None,
    attempts: int | None = None,
) -> Any:
    """A boto3 client of ``service`` (``glue``, ``emr``, ``emr-serverless``, ``s3``).

    Args:
        service: the boto3 service name.
        region: the AWS region; empty means boto3's default chain.
        endpoint: an endpoint URL (an emulator); empty means AWS itself.
        needed_by: the setting or command that needs it, for the error when boto3 is missing.
        timeout_s: connect and read timeout (default: 5 s and 60 s).
        attempts: attempts per call (default: 4).

    Raises:
        ConfigError: boto3 is not installed.
    """
    try:
        import boto3  # the optional `aws` extra: only the AWS commands need it (Glue and EMR have it)
        from botocore.config import Config
    except ImportError:
        raise ConfigError(f"{needed_by} needs boto3: pip install 'careplus-spark[aws]'") from None
    config = Config(connect_timeout=timeout_s or _CONNECT_TIMEOUT_S, read_timeout=timeout_s or _READ_TIMEOUT_S,
                    retries={"max_attempts": attempts or _MAX_ATTEMPTS, "mode": "standard"})
    return boto3.client(service, region_name=region or None, endpoint_url=endpoint or None, config=config)


@dataclass(frozen=True)
class ApiCall:
    """One write call: made, or in a dry run, the one that would be made."""

    service: str
    operation: str
    target: str
    params: Mapping[str, Any]

    def describe(self) -> str:
        """``glue update_job careplus-run-pipeline``."""
        return f"{self.service} {self.operation} {self.target}"

    def printable(self) -> dict[str, Any]:
        """The call as JSON-ready data; bytes bodies shown by their size."""
        params = {k: (f"<{len(v)} bytes>" if isinstance(v, bytes | bytearray) else v) for k, v in self.params.items()}
        return {"call": f"{self.service}.{self.operation}", "target": self.target, "params": params}


class Api:
    """The calls of one service, errors translated; writes recorded, and skipped in a dry run.

    Example:
        >>> glue = Api(client("glue", region="eu-west-1", needed_by="deploy"), "glue", DeployError)  # doctest: +SKIP
        >>> glue.read("get_job", "careplus-run-pipeline", JobName="careplus-run-pipeline")  # doctest: +SKIP
    """

    def __init__(self, client: Any, service: str, error: type[CarePlusError], *, dry_run: bool = False) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # boto3's own dependency: optional like boto3

        self.client, self.service, self.error, self.dry_run = client, service, error, dry_run
        self.calls: list[ApiCall] = []
        self._errors = (BotoCoreError, ClientError)

    def read(self, operation: str, target: str, **params: Any) -> dict[str, Any] | None:
        """The response, or ``None`` when AWS says the entity does not exist."""
        try:
            return dict(getattr(self.client, operation)(**params))
        except self._errors as exc:
            if error_code(exc) in NOT_FOUND:
                return None
            raise self.failure(operation, target, exc) from None

    def must_read(self, operation: str, target: str, missing: str, **params: Any) -> dict[str, Any]:
        """The response; ``missing`` is the error's text when the entity does not exist."""
        found = self.read(operation, target, **params)
        if found is None:
            raise self.error(missing)
        return found

    def write(self, operation: str, target: str, **params: Any) -> dict[str, Any]:
        """Makes (or in a dry run records only) a write call; returns the response (``{}`` in a dry run)."""
        call = ApiCall(self.service, operation, target, params)
        self.calls.append(call)
        if self.dry_run:
            log.debug("dry run, would %s", call.describe())
            return {}
        log.info("%s", call.describe())
        try:
            return dict(getattr(self.client, operation)(**params))
        except self._errors as exc:
            raise self.failure(operation, target, exc) from None

    def pages(self, operation: str, key: str, target: str, **params: Any) -> list[Any]:
        """Every item under ``key`` of every page of a paginated read."""
        items: list[Any] = []
        try:
            for page in self.client.get_paginator(operation).paginate(**params):
                items.extend(page.get(key, []))
        except self._errors as exc:
            raise self.failure(operation, target, exc) from None
        return items

    def failure(self, operation: str, target: str, exc: Exception) -> CarePlusError:
        """The error for a failed call: service, call, target, AWS's code and message."""
        return self.error(f"{self.service} {operation} for {target} failed: {describe_error(exc)}")


def error_code(exc: BaseException) -> str:
    """AWS's error code of a botocore ``ClientError`` (empty for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def describe_error(exc: BaseException) -> str:
    """``Code: message`` of an AWS error (or the exception's type and text), redacted and short."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) and error_code(exc) else None
    text = f"{error.get('Code')}: {error.get('Message', '')}" if error else f"{type(exc).__name__}: {exc}"
    return redact(text)


def redact(text: str) -> str:
    """:func:`careplus_spark.platform.secrets.redact`, and keeps the message short."""
    return secrets.redact(text)[:300]


def holds(want: Any, have: Any) -> bool:
    """``have`` (a definition read back from AWS) holds everything of ``want``.

    AWS adds fields of its own (creation times, defaults), so extra keys in ``have`` are ignored
    and a key absent from ``have`` equals an empty value in ``want``.
    """
    if isinstance(want, dict):
        return isinstance(have, dict) and all(holds(v, have[k]) if k in have else not v for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(map(holds, want, have))
    return bool(want == have)
