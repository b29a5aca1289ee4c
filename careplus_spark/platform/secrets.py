"""Secrets: taken only from the environment or AWS Secrets Manager, never printed or stored.

A configuration value for a secret key must be one of
- ``""`` (no secret, e.g. the embedded database),
- ``${VAR}`` or ``${VAR:-}`` (read from the environment when the config is loaded),
- ``aws-secretsmanager:<secret-id>`` or ``aws-secretsmanager:<secret-id>#<json-key>``
  (read on first use through boto3, with the platform's credentials); also as the default
  of a variable: ``${VAR:-aws-secretsmanager:<secret-id>}``.
A literal value in a file or on the command line is refused, and so is a literal default
(``${VAR:-hunter2}``). The same rules hold for every string setting whose name looks like a
secret (:func:`looks_secret`: ``spark.conf``'s ``*.secret.key``, a JDBC option ``password``).

Credentials never live in URLs (:func:`refuse_url_credentials`), and every text that shows or
stores a URL, a path, a conf or a driver's message goes through :func:`redact`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from careplus_spark.errors import ConfigError, SecretError
from careplus_spark.platform.yaml_tree import env_reference

_AWS_PREFIX = "aws-secretsmanager:"
MASK = "***"

#: Secret values shorter than this are not masked by value (they would mask ordinary words);
#: the patterns of :func:`redact` still mask them where they appear as ``password=...``.
MIN_KNOWN_LENGTH = 6
_known: set[str] = set()


def remember(value: str) -> None:
    """Registers a secret value (and its URL-encoded forms) so that :func:`redact` masks it anywhere.

    The first secret a process reads also puts :class:`RedactingFilter` on the root logger's
    handlers (:func:`install_log_redaction`): no log line of a process that holds a secret shows
    it, whatever library wrote the line (botocore at DEBUG logs its requests' signed headers).
    """
    if len(value) >= MIN_KNOWN_LENGTH:
        _known.update({value, quote(value, safe=""), quote_plus(value)})
        install_log_redaction()


class Secret:
    """A secret value whose ``repr``/``str`` show where it comes from, never what it is."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str | None, source: str) -> None:
        self._value = value
        self._source = source
        if value:
            remember(value)

    @classmethod
    def empty(cls) -> Secret:
        return cls("", "none")

    @classmethod
    def from_config(cls, raw: object, key: str, origin: str, environ: Mapping[str, str]) -> Secret:
        """Builds a secret from a raw configuration value.

        Raises:
            ConfigError: the value is a literal secret, has a literal default, or names an unset variable.
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
        if default and not default.startswith(_AWS_PREFIX):
            raise ConfigError(
                f"{key} (set in {origin}): ${{{name}:-...}} has a literal default, a literal secret by the "
                f"back door; use ${{{name}}} (required), ${{{name}:-}} (empty when unset) or "
                f"${{{name}:-{_AWS_PREFIX}<secret-id>[#json-key]}}"
            )
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
            remember(self._value)
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


# ----------------------------------------------------------------------------- secret settings

#: What makes a setting's name a secret wherever it appears (``spark.conf``, JDBC ``options``).
_SECRET_WORDS = r"pass(?:word|wd)|pwd|secret|token|credential|(?:private|access|api|encryption)[._-]?key"
_SECRET_NAME = re.compile(_SECRET_WORDS, re.IGNORECASE)
#: ... unless its last part says it is about a secret, not one: a class, a path, a switch.
_ABOUT_A_SECRET = ("provider", "providers", "path", "enabled", "binding", "class", "type", "file", "encoding")


def looks_secret(name: str) -> bool:
    """True for a setting name such as ``spark.hadoop.fs.s3a.secret.key`` or ``session.token``.

    Names of settings about credentials (``fs.s3a.aws.credentials.provider``,
    ``hadoop.security.credential.provider.path``, ``spark.security.credentials.hive.enabled``)
    are not secrets.

    Example:
        >>> looks_secret("spark.hadoop.fs.s3a.session.token"), looks_secret("spark.sql.shuffle.partitions")
        (True, False)
        >>> looks_secret("spark.hadoop.fs.s3a.aws.credentials.provider")
        False
    """
    if not _SECRET_NAME.search(name):
        return False
    last = re.split(r"[.]", name)[-1].lower()
    return not last.endswith(_ABOUT_A_SECRET)


def setting_from_config(raw: object, key: str, origin: str, environ: Mapping[str, str]) -> str:
    """The value of a secret-looking string setting, under the rules of :meth:`Secret.from_config`.

    An environment reference is resolved now; an ``aws-secretsmanager:`` reference stays as it
    is until :func:`reveal_setting` (at use).

    Raises:
        ConfigError: a literal value or default, a non-string, or an unset variable.
    """
    secret = Secret.from_config(raw, key, origin, environ)
    return secret.source if secret.source.startswith(_AWS_PREFIX) else secret.reveal()


def reveal_setting(value: str) -> str:
    """A setting's value for use: an ``aws-secretsmanager:`` reference is fetched, anything else kept.

    Raises:
        SecretError: the AWS secret cannot be read.
    """
    return Secret(None, value).reveal() if value.startswith(_AWS_PREFIX) else value


def reveal_settings(settings: Mapping[str, str]) -> dict[str, str]:
    """``settings`` with the secret-looking values that are AWS references fetched (for Spark or a driver).

    Raises:
        SecretError: an AWS secret cannot be read.
    """
    return {k: reveal_setting(v) if looks_secret(k) else v for k, v in settings.items()}


def mask_settings(settings: Mapping[str, str]) -> dict[str, str]:
    """``settings`` with the values of secret-looking names replaced by ``***`` (the rest redacted)."""
    return {k: (MASK if looks_secret(k) and v else redact(v)) for k, v in settings.items()}


# ----------------------------------------------------------------------------- URLs

_URL_USER_INFO = re.compile(r"\b(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<info>[^\s/?#@]+)@")
_SECRET_PARAMETER = re.compile(rf"(?P<key>\b[\w.-]*(?:{_SECRET_WORDS})[\w.-]*)\s*=", re.IGNORECASE)

#: Where the credentials of a URL belong instead, by configuration key.
_CREDENTIALS_HINTS = {
    "sources.tickets.url": "sources.tickets.user and sources.tickets.password",
    "lakehouse.root": "s3.access_key and s3.secret_key (or the platform's role)",
    "sources.logs.path": "s3.access_key and s3.secret_key (or the platform's role)",
    "s3.endpoint": "s3.access_key and s3.secret_key",
}


def is_url(value: str) -> bool:
    """True for text that looks like a URL (``scheme://...``) or a JDBC URL."""
    return "://" in value or value.startswith("jdbc:")


def refuse_url_credentials(value: str, key: str, origin: str) -> None:
    """Refuses a URL with user info (``user:pw@``) or a secret parameter (``?password=``, ``;secret=``).

    Example:
        >>> refuse_url_credentials("jdbc:mysql://db:3306/x?useSSL=true", "sources.tickets.url", "--set")  # fine
        >>> refuse_url_credentials("jdbc:mysql://app:pw@db/x", "sources.tickets.url", "--set")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        careplus_spark.errors.ConfigError: sources.tickets.url (set in --set) holds credentials in a URL: ...

    Raises:
        ConfigError: naming the key, its file and the URL with the secret masked.
    """
    if not is_url(value):
        return
    found = "user info" if _URL_USER_INFO.search(value) else ""
    if not found:
        keys = [m.group("key") for m in _SECRET_PARAMETER.finditer(value) if looks_secret(m.group("key"))]
        found = f"a secret parameter ({keys[0]}=)" if keys else ""
    if found:
        hint = _CREDENTIALS_HINTS.get(key, "a setting read from the environment or AWS Secrets Manager")
        raise ConfigError(
            f"{key} (set in {origin}) holds credentials in a URL: {redact(value)}; credentials never live in "
            f"URLs ({found}): remove them and use {hint} (${{ENV_VAR}} or {_AWS_PREFIX}<secret-id>[#json-key])"
        )


# ----------------------------------------------------------------------------- redaction

_SECRET_KEY = rf"[\w.-]*(?:{_SECRET_WORDS})[\w.-]*"
_KEY_VALUE = re.compile(
    rf"(?P<key>\b{_SECRET_KEY})(?P<sep>[\"']?\s*[=:]\s*)(?P<value>\"[^\"]*\"|'[^']*'|[^\s&;,)\]}}\"']+)",
    re.IGNORECASE,
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@host in URLs
    (re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s/:@]+):[^\s/@]+@"), rf"\1:{MASK}@"),
    # HTTP authorisation values
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # AWS access key ids
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
)


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if not looks_secret(match.group("key")) or value.startswith(MASK) or value in ("YES", "NO"):
        return match.group(0)  # not a secret, already masked, or MySQL's "(using password: YES)"
    return f"{match.group('key')}{match.group('sep')}{MASK}"


def redact(text: str) -> str:
    """``text`` with anything that looks like a secret replaced by ``***``.

    Masks the password of a URL's user info, the value of a secret-looking ``key=value`` or
    ``"key": "value"`` (URL parameters, confs, JSON), HTTP authorisation values, AWS access
    key ids, and every secret value this process has read (:class:`Secret`, at least
    :data:`MIN_KNOWN_LENGTH` characters). The one redaction of the package: URLs, paths, confs,
    lineage, log lines and error messages go through it.

    Example:
        >>> redact("jdbc:mysql://db/x?user=app&password=hunter2 failed")
        'jdbc:mysql://db/x?user=app&password=*** failed'
        >>> redact('{"secret_key": "abc"} s3a://key:sekrit@bucket/x')
        '{"secret_key": ***} s3a://key:***@bucket/x'
    """
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    text = _KEY_VALUE.sub(_mask_pair, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_tree(value: Any) -> Any:
    """Every string of a plain tree (dicts, lists) through :func:`redact`; keys are kept."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record's message through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Adds a :class:`RedactingFilter` to every handler of ``logger`` (default: the root logger), once.

    Call it after ``logging.basicConfig`` (the ``careplus`` command, the ``jobs/`` entry points).
    """
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
