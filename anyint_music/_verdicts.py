"""What one event means for one task: a new stage, the final result, a failure, or a duplicate.

Pure functions of a task's state and an event, used by the registry for every callback and
poll; nothing here waits, stores or wakes anyone.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from ._kinds import KINDS
from ._models import LyricsResult, Stage, TaskEvent, TaskKind
from ._tasks import TaskState
from .errors import TaskFailedError

log = logging.getLogger("anyint_music")


class Outcome(enum.Enum):
    """What the registry did with a delivered event; the receiver answers accordingly."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    UNKNOWN_TOKEN = "unknown token"
    MISMATCH = "task id mismatch"

    # Members are singletons: hashed by identity in C, not by name in Python (once a callback).
    __hash__ = object.__hash__


def _result(kind: TaskKind, event: TaskEvent) -> Any:
    """The final result an event carries, or ``None`` when it is not usable as one."""
    return KINDS[kind].result(event)


# Members as module names: reading one off its Enum class costs a descriptor call, on every
# callback's path.
_COMPLETE, _ERROR = Stage.COMPLETE, Stage.ERROR
_DUPLICATE = Outcome.DUPLICATE


def usable(kind: TaskKind, event: TaskEvent) -> bool:
    """Whether an event may be recorded: a ``complete`` must carry usable results."""
    return event.stage is not Stage.COMPLETE or _result(kind, event) is not None


def judge(state: TaskState, event: TaskEvent) -> Any:
    """What ``event`` means for ``state``: ``Outcome.DUPLICATE``, ``None`` (not usable, keep
    waiting), ``True`` (an intermediate stage), or the final result or exception."""
    if state.future.done():
        return _DUPLICATE
    stage = event.stage
    for seen in state.history:  # a plain loop: this runs for every callback
        if seen.stage is stage or seen.stage is _COMPLETE or seen.stage is _ERROR:
            return _DUPLICATE
    if stage is _ERROR:
        return TaskFailedError(event.task_id, event.code, event.message)
    if stage is not _COMPLETE:
        return True
    result = _result(state.kind, event)
    if result is None:
        # AnyInt: an asset is ready only when the status is successful and the URLs are present.
        log.warning(
            "task %s reported complete without usable results; still waiting",
            event.task_id,
            extra={"task_id": event.task_id, "stage": event.stage.value},
        )
        return None
    if isinstance(result, LyricsResult) and not any(v.ok for v in result.variants):
        reasons = "; ".join(v.error_message for v in result.variants if v.error_message)
        return TaskFailedError(event.task_id, None, reasons or "no usable lyrics")
    return result
