"""The stages of an inference job, described once: their order, the job's progress while each
runs, and which run a network (their tasks go to the inference queue, with the longer time
limit). The job model, the stage runners (inference/services/jobs.py: the function
``_<name>``), the Celery tasks and their chain (inference/tasks.py) all derive from this table.

Plain data, no imports: the model module reads it too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    name: str  # also the stage's Celery task, ``inference.<name>``, and its runner ``jobs._<name>``
    start_percent: int  # the job's progress while the stage runs
    runs_network: bool = False


STAGES: tuple[Stage, ...] = (
    Stage("segment", start_percent=10, runs_network=True),
    Stage("localise", start_percent=50),
    Stage("measure", start_percent=60),
    Stage("classify", start_percent=70, runs_network=True),
    Stage("store", start_percent=90),
)
STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)
STAGE_BY_NAME: dict[str, Stage] = {stage.name: stage for stage in STAGES}
