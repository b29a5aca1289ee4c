"""Secrets: taken only from the environment or AWS Secrets Manager, never printed.

A configuration value for a secret key must be one of
- ``""`` (no secret, e.g. the embedded database),
- ``${VAR}`` or ``${VAR:-}`` (read from the environment when the config is loaded),
- ``aws-secretsmanager:<secret-id>`` or ``aws-secretsmanager:<secret-id>#<json-key>``
  (read on first use through boto3, with the platform's credentials).
A literal value in a file or on the command line is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from careplus_spark.errors import ConfigError, SecretError
from careplus_spark.platform.yaml_tree import env_reference

_AWS_PREFIX = "aws-secretsmanager:"


class Secret:
    """A secret value whose ``repr``/``str`` show where it comes from, never what it is."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str | None, source: str) -> None:
        self._value = value
        self._source = source

    @classmethod
    def empty(cls) -> Secret:
        return cls("", "none")

    @classmethod
    def from_config(cls, raw: object, key: str, origin: str, environ: Mapping[str, str]) -> Secret:
        """Builds a secret from a raw configuration value.

        Raises:
            ConfigError: the value is a literal secret, or names an unset variable.
        """
        if raw is None or raw == "":
            return cls.empty()
        if not isinstance(raw, str):
            raise ConfigError(
                f"{key} (set in {origin}): a secret must be a string reference, found {type(raw).__name__}"
            )
        if raw.startswith(_AWS_PREFIX):
            return cls(None, raw)
        reference = env_reference(raw)
        if reference is None:
            raise ConfigError(
                f"{key} (set in {origin}) holds a literal secret; secrets never live in files or "
                f"command lines: use ${{ENV_VAR}} or {_AWS_PREFIX}<secret-id>[#json-key]"
            )
        name, default = reference
        value = environ.get(name, default)
        if value is None:
            raise ConfigError(f"{key} (set in {origin}) needs environment variable {name}, which is not set")
        if value.startswith(_AWS_PREFIX):
            return cls(None, value)
        return cls(value, f"env:{name}")

    @property
    def source(self) -> str:
        return self._source

    def is_set(self) -> bool:
        return self._value is None or self._value != ""

    def reveal(self) -> str:
        """Returns the secret value, fetching it from AWS Secrets Manager if needed."""
        if self._value is None:
            self._value = _fetch_aws_secret(self._source[len(_AWS_PREFIX) :])
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self._source})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._source == self._source and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._source)


def _fetch_aws_secret(spec: str) -> str:
    secret_id, _, json_key = spec.partition("#")
    try:
        import boto3  # available on Glue and EMR; optional locally

        response = boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)
    except Exception as exc:  # noqa: BLE001 - any failure is reported the same way
        raise SecretError(f"cannot read AWS secret {secret_id!r}: {type(exc).__name__}") from None
    value = response.get("SecretString", "")
    if not json_key:
        return str(value)
    try:
        return str(json.loads(value)[json_key])
    except (ValueError, KeyError, TypeError):
        raise SecretError(f"AWS secret {secret_id!r} is not JSON with key {json_key!r}") from None


#: Parts of a setting's name that make it a secret wherever it appears (``spark.conf``,
#: JDBC ``options``): its value is masked when shown.
SECRET_NAME_PARTS = ("secret", "password", "passwd", "token", "credential", "private.key", "privatekey")


def looks_secret(name: str) -> bool:
    """True for a setting name such as ``spark.hadoop.fs.s3a.secret.key`` or ``session.token``.

    Example:
        >>> looks_secret("spark.hadoop.fs.s3a.session.token"), looks_secret("spark.sql.shuffle.partitions")
        (True, False)
    """
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def mask_settings(settings: Mapping[str, str]) -> dict[str, str]:
    """``settings`` with the values of secret-looking names replaced by ``***``."""
    return {k: ("***" if looks_secret(k) and v else v) for k, v in settings.items()}
