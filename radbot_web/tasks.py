"""One reliability policy for every Celery task of the project, and the periodic reaper.

Every task is declared with :func:`radbot_task` instead of ``shared_task``. It gets:

- ``acks_late`` + ``reject_on_worker_lost``: a worker killed mid-task returns the
  message to the broker and another worker runs it again (the services are written to
  be repeated);
- retries with exponential back-off for transient errors (files, database connection);
- a **redelivery cap**: a message delivered more than ``RADBOT_TASK_MAX_ATTEMPTS``
  times (default 3) is not run again. Without it a task that kills its worker (out of
  memory on a hostile file, a crashing native library) is redelivered for ever and
  blocks its queue (prefetch 1). Each delivery of a message is counted in a shared
  store (the broker's Redis, else the Django cache) under the task id and retry
  number, so explicit retries are not counted as deaths;
- a **time limit**: ``soft_time_limit`` seconds (``RADBOT_TASK_SOFT_TIME_LIMIT_S`` unless
  the task names its own) raise ``SoftTimeLimitExceeded`` inside the task, which fails
  it without a retry (it would run as long again); the hard ``time_limit``,
  ``HARD_LIMIT_GRACE_S`` later, kills the worker process for a task that ignores it.
  The limits travel in the message, as the sending process's settings give them, and
  only a worker enforces them: tasks run in-process (eager) have none;
- an explicit ``name`` (``<app>.<what>``): queued messages and the beat schedule name
  tasks, so a name must not change when a function is renamed or moved;
- ``fail``: how the task marks the object it works on failed with a readable reason,
  called once retries are exhausted, for an error not worth retrying, when a time limit
  stops it, and when the cap stops the task. It never raises (when the database is
  down, the reaper catches the job later).

Domain counters may back this up: an inference stage also counts its attempts on the
job row (inference/services/jobs.py ``_begin``), which survives a flushed Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.db.models import Q, QuerySet
from django.utils.module_loading import import_string
from kombu.exceptions import OperationalError as BrokerError

from radbot_web.celery import app

log = logging.getLogger(__name__)

# Deliveries are counted per message for this long (longer than any broker visibility timeout).
DELIVERY_COUNT_TTL_S = 2 * 24 * 3600
# The hard time limit comes this long after the soft one: time for the task to fail
# cleanly (mark its job failed) before its worker process is killed.
HARD_LIMIT_GRACE_S = 60

TASK_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OSError, OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}


class GaveUp(Exception):
    """The task's message came back too often: its worker died each time it ran."""


class NotQueued(RuntimeError):
    """Publishing a job's task to the broker failed; the job was marked failed with the
    reason (its message). Raised from the on-commit hook, after the job row committed,
    so a caller can tell the user, or record the work to queue again later."""


def max_attempts() -> int:
    return max(1, int(getattr(settings, "RADBOT_TASK_MAX_ATTEMPTS", 3)))


def gave_up_reason(attempts: int, what: str) -> str:
    """The reason shown to users when the cap stops a task (also used by inference ``_begin``)."""
    return (
        f"stopped after {attempts} attempts: the worker died each time during {what} "
        "(out of memory or killed; a file in this study may be too large or damaged)"
    )


def publish_failure_reason(exc: BaseException) -> str:
    """Why a job could not be queued, for users (publishing to the broker raised ``exc``)."""
    try:  # redis comes with the Redis broker; without it there is nothing of redis to catch
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is installed with the Redis broker
        RedisConnectionError = RedisTimeoutError = BrokerError
    if isinstance(exc, (BrokerError, OSError, RedisConnectionError, RedisTimeoutError)):
        return "could not queue: broker unavailable (the task queue cannot be reached); try again later"
    return f"could not queue: {type(exc).__name__}: {exc}"


def eager() -> bool:
    """Whether tasks run in this process (embedded mode): nothing is published then."""
    return bool(app.conf.task_always_eager)


@lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis  # only with a Redis broker (0.1 s to import)

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def count_delivery(key: str) -> int | None:
    """This message's deliveries so far, this one included; None when nothing can count them.

    The broker's Redis is shared by every worker and outlives a killed worker process,
    which a per-process cache does not; the Django cache is the fallback (in-process
    mode, where no worker can die apart from the web process).
    """
    full_key = f"radbot:task-deliveries:{key}"
    broker = str(app.conf.broker_url or "")
    try:
        if broker.startswith(("redis://", "rediss://", "unix://")):
            client = _redis_client(broker)
            pipe = client.pipeline()
            pipe.incr(full_key)
            pipe.expire(full_key, DELIVERY_COUNT_TTL_S)
            return int(pipe.execute()[0])

        cache.add(full_key, 0, DELIVERY_COUNT_TTL_S)
        return int(cache.incr(full_key))
    except Exception:  # a counter we cannot reach must not stop the work itself
        log.warning("cannot count deliveries of task %s; running it uncounted", key, exc_info=True)
        return None


def forget_deliveries(key: str) -> None:
    full_key = f"radbot:task-deliveries:{key}"
    broker = str(app.conf.broker_url or "")
    try:
        if broker.startswith(("redis://", "rediss://", "unix://")):
            _redis_client(broker).delete(full_key)
        else:
            cache.delete(full_key)
    except Exception:  # the key expires on its own
        log.debug("cannot clear the delivery count of %s", key, exc_info=True)


class RadbotTask(Task):
    """Base of every project task (see the module docstring)."""

    # What the task does, for reasons shown to users ("the labelling run").
    what = ""
    # fail(reason, *args, **kwargs): mark the task's object failed; None when there is none.
    fail: Callable[..., None] | None = None

    def _delivery_key(self, task_id: str) -> str:
        return f"{task_id}:{self.request.retries or 0}"

    def before_start(self, task_id, args, kwargs) -> None:
        if not task_id:
            return
        count = count_delivery(self._delivery_key(task_id))
        cap = max_attempts()
        if count is not None and count > cap:
            log.error("task %s[%s] delivered %s times; giving up", self.name, task_id, count)
            raise GaveUp(gave_up_reason(cap, self.what or f"the task {self.name}"))

    def after_return(self, status, retval, task_id, args, kwargs, einfo) -> None:
        if task_id:
            forget_deliveries(self._delivery_key(task_id))

    def failure_reason(self, exc: BaseException) -> str:
        if isinstance(exc, GaveUp):
            return str(exc)
        subject = self.what.removeprefix("the ") if self.what else self.name
        if isinstance(exc, SoftTimeLimitExceeded):
            # The limit the message carried (the sender's), else the task's own.
            soft = (self.request.timelimit or (None, None))[1] or self.soft_time_limit
            return f"{subject} stopped: it ran longer than its time limit ({_duration(soft)})"
        if isinstance(exc, TimeLimitExceeded):
            limit = exc.args[0] if exc.args else self.time_limit
            return f"{subject} killed: it ran past its hard time limit ({_duration(limit)}) and its worker was stopped"
        return f"{subject} failed: {type(exc).__name__}: {exc}"

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Retries exhausted, an error not worth retrying, or the redelivery cap.
        if self.fail is None:
            return
        try:
            self.fail(self.failure_reason(exc), *args, **kwargs)
        except Exception:
            log.exception(
                "task %s[%s]: could not record its failure; the reaper will", self.name, task_id
            )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "none set"
    if seconds < 120:
        return f"{seconds:g} s"
    return f"{round(seconds / 60)} minutes"


def radbot_task(
    *,
    name: str,
    what: str = "",
    fail: Callable[..., None] | None = None,
    soft_time_limit: float | None = None,
    base: type[RadbotTask] = RadbotTask,
    **options: Any,
) -> Callable:
    """``shared_task`` with the project's policy; ``options`` override :data:`TASK_OPTIONS`.

    ``name`` is the task's dotted name, ``<app>.<what>``. ``soft_time_limit`` (seconds)
    defaults to ``RADBOT_TASK_SOFT_TIME_LIMIT_S``; the hard limit follows it by
    :data:`HARD_LIMIT_GRACE_S`.
    """
    if "." not in name:
        raise ValueError(f"task name {name!r} is not dotted (<app>.<what>)")
    soft = soft_time_limit or settings.RADBOT_TASK_SOFT_TIME_LIMIT_S
    extra: dict[str, Any] = {
        "what": what,
        "soft_time_limit": soft,
        "time_limit": soft + HARD_LIMIT_GRACE_S,
    }
    if fail is not None:
        extra["fail"] = staticmethod(fail)
    return shared_task(base=base, name=name, **{**TASK_OPTIONS, **extra, **options})


def stale_work(queryset: QuerySet, *, now: datetime) -> tuple[QuerySet, dict[str, datetime]]:
    """The jobs or runs of ``queryset`` that stopped moving, and the cutoff per status.

    Queued for ``RADBOT_JOB_QUEUED_STALE_S`` with no worker taking it, or running with no
    progress (``heartbeat_at``) for ``RADBOT_JOB_STALE_S``. Inference jobs and labelling
    runs share the rule; each service words its own reason.
    """
    cutoffs = {
        "queued": now - timedelta(seconds=settings.RADBOT_JOB_QUEUED_STALE_S),
        "running": now - timedelta(seconds=settings.RADBOT_JOB_STALE_S),
    }
    stale = queryset.filter(
        Q(status="queued", heartbeat_at__lt=cutoffs["queued"])
        | Q(status="running", heartbeat_at__lt=cutoffs["running"])
    )
    return stale, cutoffs


# Apps whose work rows can stop moving register their reaper here (in ``AppConfig.ready``),
# by dotted path: the platform never imports an app, and the reaper's imports wait for a run.
_REAPERS: dict[str, str] = {}


def register_reaper(name: str, dotted_path: str) -> None:
    """Add the reaper ``dotted_path`` (a function that fails what stopped moving and returns how
    many) under ``name`` in the periodic reaper's result."""
    _REAPERS[name] = dotted_path


@radbot_task(name="radbot.reap_stale_work", what="the stale-job reaper", max_retries=0)
def reap_stale_work_task() -> dict[str, int]:
    """Periodic (Celery beat): fail the inference jobs and labelling runs that stopped moving."""
    return {name: import_string(path)() for name, path in _REAPERS.items()}
