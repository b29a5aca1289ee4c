"""``careplus run --profile``: what each step cost in Spark jobs, Delta commits and files.

For each step, the profiler puts the step's Spark jobs in a job group of their own and, when
the step ends, reads them from Spark's status store: how many, and their time by kind (``read``:
MERGE scans, JDBC; ``write``: file writes; ``log``: Delta snapshots and log queries;
``manifest``: symlink manifests; ``compute``: the rest), the step's time outside any job being
``driver`` time (planning, commits, Python). It also compares the ``_delta_log`` of every
catalog table before and after: the new commits, and the files they added and removed (read
from the commit files themselves, no Spark job). Each profile is one line of the step's
progress and part of the ledger's ``detail``::

    [4/9] silver_tickets: profile: 37 Spark jobs (log 0.9 s, read 0.6 s, write 1.2 s, driver 5.1 s);
          7 Delta commits (silver.tickets 1, ops.cursors 1, ...); files +9 -2

Listing the logs costs one directory listing per table and step (on S3, one LIST request
each), so it is done only when asked.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from careplus_spark.lakehouse import catalog, delta_log

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class StepProfile:
    """The cost of one step."""

    step: str
    seconds: float
    jobs: int
    commits: Mapping[str, int] = field(default_factory=dict)
    files_added: int = 0
    files_removed: int = 0
    #: seconds of the step's Spark jobs by kind (:func:`job_kind`); the rest is driver time
    job_seconds: Mapping[str, float] = field(default_factory=dict)

    @property
    def commit_count(self) -> int:
        return sum(self.commits.values())

    def describe(self) -> str:
        """One line: jobs, job time by kind, driver time, commits by table, files.

        Example:
            >>> StepProfile("s", 3.2, 12, {"silver.logs": 1}, 4, 1, {"read": 0.5, "write": 1.0}).describe()
            '12 Spark jobs (read 0.5 s, write 1.0 s, driver 1.7 s); 1 Delta commits (silver.logs 1); files +4 -1'
        """
        kinds = ", ".join(f"{kind} {secs:.1f} s" for kind, secs in self.job_seconds.items() if secs >= 0.05)
        driver = max(0.0, self.seconds - sum(self.job_seconds.values()))
        tables = ", ".join(f"{name} {count}" for name, count in self.commits.items())
        return (
            f"{self.jobs} Spark jobs ({kinds + ', ' if kinds else ''}driver {driver:.1f} s); "
            f"{self.commit_count} Delta commits" + (f" ({tables})" if tables else "")
            + f"; files +{self.files_added} -{self.files_removed}"
        )


def job_kind(description: str) -> str:
    """What a Spark job did, from the description Delta and Spark give it.

    Example:
        >>> job_kind("silver_tickets - MERGE operation - scanning files for matches")
        'read'
        >>> job_kind("Delta: silver_tickets: Compute snapshot for version: 3")
        'log'
    """
    text = description.lower()
    for kind, words in _KINDS:
        if any(word in text for word in words):
            return kind
    return "compute"


_KINDS = (
    ("manifest", ("manifest",)),
    ("log", ("compute snapshot", "filtering files for query", "gethistory", "checkpoint", "state reconstruction")),
    ("write", ("writing", "save at", "materialize source", "optimize")),
    ("read", ("scanning files", "jdbc", "change data")),
)


class Profiler:
    """Measures steps; one per run (see the module docstring).

    Example:
        >>> profiler = Profiler(spark, cfg.lakehouse.root)  # doctest: +SKIP
        >>> with profiler.step("silver_logs") as measure:  # doctest: +SKIP
        ...     result = run()
        ...     measure.work_done()
        >>> profiler.profiles[-1].describe()  # doctest: +SKIP
    """

    def __init__(self, spark: SparkSession, root: str) -> None:
        self.spark = spark
        self.tables = {t.qualified: t.ref(root).path for t in catalog.TABLES}
        self.profiles: list[StepProfile] = []
        self._prefix = f"careplus-profile-{uuid.uuid4().hex[:8]}"

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Measures the block as step ``name``; its profile is appended to :attr:`profiles` at the end."""
        sc = self.spark.sparkContext
        group = f"{self._prefix}-{len(self.profiles)}-{name}"
        before = self._versions()
        started = time.monotonic()
        sc.setJobGroup(group, f"careplus step {name}")
        try:
            yield
        finally:
            seconds = time.monotonic() - started
            sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
            sc.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
            jobs = self._jobs(group)
            commits, added, removed = self._commits(before)
            self.profiles.append(StepProfile(name, seconds, len(jobs), commits, added, removed, _by_kind(jobs)))

    def _jobs(self, group: str) -> list[tuple[str, float]]:
        """(description, seconds) of the group's jobs, from Spark's status tracker and store."""
        sc = self.spark.sparkContext
        store = sc._jsc.sc().statusStore()  # type: ignore[union-attr]
        found = []
        for job_id in sc.statusTracker().getJobIdsForGroup(group):
            job = store.job(job_id)
            submitted, completed = job.submissionTime(), job.completionTime()
            seconds = (
                (completed.get().getTime() - submitted.get().getTime()) / 1000
                if submitted.isDefined() and completed.isDefined() else 0.0
            )
            description = job.description().get() if job.description().isDefined() else ""
            found.append((f"{description} {job.name()}", seconds))
        return found

    def last(self) -> str:
        """The last step's profile as one line (:meth:`StepProfile.describe`); empty before any."""
        return self.profiles[-1].describe() if self.profiles else ""

    def _versions(self) -> dict[str, list[int]]:
        return {name: delta_log.versions(self.spark, path) for name, path in self.tables.items()}

    def _commits(self, before: Mapping[str, list[int]]) -> tuple[dict[str, int], int, int]:
        commits: dict[str, int] = {}
        added = removed = 0
        for name, versions in self._versions().items():
            new = sorted(set(versions) - set(before.get(name, [])))
            if new:
                commits[name] = len(new)
            for version in new:
                for action in delta_log.actions(self.spark, self.tables[name], version) or []:
                    added += "add" in action
                    removed += "remove" in action
        return commits, added, removed


def _by_kind(jobs: list[tuple[str, float]]) -> dict[str, float]:
    kinds: dict[str, float] = {}
    for description, seconds in jobs:
        kind = job_kind(description)
        kinds[kind] = kinds.get(kind, 0.0) + seconds
    return dict(sorted(kinds.items()))
