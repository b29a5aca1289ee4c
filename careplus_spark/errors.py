"""Narrow exceptions raised at the boundaries of the package.

Every error carries a message that says what was expected and what was found, and
maps to a process exit code so that the CLI and the ``jobs/`` entry points can exit
with a meaningful status without a traceback for anticipated failures.
"""

from __future__ import annotations


class CarePlusError(Exception):
    """Base class of every anticipated failure; ``exit_code`` is the process status."""

    exit_code: int = 1


class ConfigError(CarePlusError):
    """The configuration is missing, malformed or invalid (exit code 2)."""

    exit_code = 2


class SecretError(ConfigError):
    """A secret could not be resolved from the environment or the secret store."""


class JarsError(CarePlusError):
    """The JVM dependencies are missing from the local cache or cannot be fetched."""

    exit_code = 3


class SourceUnavailableError(CarePlusError):
    """A source system (database, object store, file system) cannot be reached."""

    exit_code = 4


class AuthenticationError(SourceUnavailableError):
    """A source system rejected the credentials; retrying will not help."""


class SchemaError(CarePlusError):
    """A source or table does not have the columns the pipeline requires."""

    exit_code = 5

    def __init__(self, what: str, missing: list[str], present: list[str]) -> None:
        self.missing = list(missing)
        self.present = list(present)
        super().__init__(
            f"{what}: missing required column(s) {sorted(self.missing)}; "
            f"columns present: {sorted(self.present)}"
        )


class LockHeldError(CarePlusError):
    """Another run holds the lakehouse's run lock (exit code 6); the message says who and since when."""

    exit_code = 6


class DataError(CarePlusError):
    """Input data is unusable as a whole (not a single bad row, which is quarantined; exit code 10)."""

    exit_code = 10


class ExposureError(CarePlusError):
    """A table cannot be exposed to query engines outside Spark (Athena, Redshift Spectrum)."""

    exit_code = 7


class CatalogSyncError(SourceUnavailableError):
    """A call to an external table catalog (the AWS Glue Data Catalog) failed; names the table and the call."""


class DeployError(CarePlusError):
    """Packaging or deploying failed: a missing artefact, bucket, cluster or job, or an AWS call
    that failed (names the setting or the call); nothing was half-deployed."""

    exit_code = 8


class DataQualityError(DataError):
    """A data-quality alarm with ``quality.alarms.action: fail``: a rule nulled or quarantined a
    larger share of a step's rows than its threshold (exit code 9).

    Raised after the step has written its tables, its quarantine and ``ops.dq_results``, and
    before it saves its watermarks, so a re-run processes the same changes again.
    """

    exit_code = 9
