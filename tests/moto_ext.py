"""moto's server with the two Glue calls moto 5.2 lacks: ``UpdateJob`` and ``UpdateTrigger``.

``careplus deploy glue`` updates an existing job with ``UpdateJob`` (AWS replaces the whole
definition with ``JobUpdate``: every field it omits goes back to its default) and a schedule with
``UpdateTrigger``. moto answers both with "not implemented", so the test server adds them here,
following the AWS API reference, on moto's own job and trigger models; everything else is moto's.

Run as ``python tests/moto_ext.py -H 127.0.0.1 -p PORT`` (the arguments of ``python -m moto.server``).
"""

from __future__ import annotations

import sys
from typing import Any

from moto.core.responses import ActionResult
from moto.glue.responses import GlueResponse
from moto.server import main

#: JobUpdate's fields and the argument names of moto's ``GlueBackend.create_job``.
_JOB_FIELDS = {
    "Description": "description", "LogUri": "log_uri", "Role": "role", "ExecutionProperty": "execution_property",
    "Command": "command", "DefaultArguments": "default_arguments",
    "NonOverridableArguments": "non_overridable_arguments", "Connections": "connections",
    "MaxRetries": "max_retries", "AllocatedCapacity": "allocated_capacity", "Timeout": "timeout",
    "MaxCapacity": "max_capacity", "SecurityConfiguration": "security_configuration",
    "NotificationProperty": "notification_property", "GlueVersion": "glue_version",
    "NumberOfWorkers": "number_of_workers", "WorkerType": "worker_type",
    "CodeGenConfigurationNodes": "code_gen_configuration_nodes", "ExecutionClass": "execution_class",
    "SourceControlDetails": "source_control_details",
}


def update_job(self: GlueResponse) -> ActionResult:
    """Replaces the job's definition with ``JobUpdate`` (absent fields reset), keeping its tags."""
    name = self._get_param("JobName")
    job = self.glue_backend.get_job(name)  # raises EntityNotFoundException like AWS
    update: dict[str, Any] = self._get_param("JobUpdate") or {}
    fields = {arg: update.get(field) for field, arg in _JOB_FIELDS.items()}
    fields["execution_property"] = fields["execution_property"] or {"MaxConcurrentRuns": 1}
    tags = self.glue_backend.get_tags(job.arn) if hasattr(job, "arn") else {}
    self.glue_backend.create_job(name=name, tags=tags, **fields)
    return ActionResult({"JobName": name})


def update_trigger(self: GlueResponse) -> ActionResult:
    """Applies ``TriggerUpdate`` (schedule, actions, description, predicate) to the trigger."""
    name = self._get_param("Name")
    trigger = self.glue_backend.get_trigger(name)
    update: dict[str, Any] = self._get_param("TriggerUpdate") or {}
    for field, attribute in (("Schedule", "schedule"), ("Actions", "actions"), ("Description", "description"),
                             ("Predicate", "predicate"), ("EventBatchingCondition", "event_batching_condition")):
        if field in update:
            setattr(trigger, attribute, update[field])
    return ActionResult({"Trigger": trigger.as_dict()})


GlueResponse.update_job = update_job  # type: ignore[attr-defined]
GlueResponse.update_trigger = update_trigger  # type: ignore[attr-defined]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
