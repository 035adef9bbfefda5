"""Expiry and pruning for the task registry: what is forgotten, given up on, or shrunk, and when.

``Housekeeping`` is a mixin of ``TaskRegistry``: the housekeeper (every minute) and ``new()``
call into it, never a callback, so nothing here is on the delivery path. It owns no state of
its own; it trims the registry's tables and the store.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import OrderedDict
from typing import Any, TypeVar

from ._tasks import TaskState
from .errors import TaskTimeoutError
from .stores import TaskStore

log = logging.getLogger("anyint_music")

D = TypeVar("D", bound=dict[Any, Any])


def compacted(table: D) -> D:
    """``table``, or a copy of it when it fills only a small part of its room: a dict keeps the
    size of its peak after entries leave, so 100,000 finished tasks would stay as empty slots."""
    if len(table) * 400 + 1024 < sys.getsizeof(table):
        return type(table)(table)
    return table


class Housekeeping:
    """Forgetting finished tasks, giving up on stale ones, and shrinking tables after a peak."""

    # Set by TaskRegistry.__init__; declared here so the type checker knows them.
    store: TaskStore
    _by_token: dict[str, TaskState]
    _by_task: dict[str, TaskState]
    _finished: OrderedDict[TaskState, float]
    _retention: float
    _finished_max: int
    _max_task_age: float
    _next_sweep: float
    failed: int

    def prune(self) -> None:
        """Forget finished tasks past retention; give up on tasks past ``max_task_age``; shrink
        the tables after a peak. The housekeeper runs this every minute."""
        self._expire()
        self._by_token = compacted(self._by_token)
        self._by_task = compacted(self._by_task)
        self._finished = compacted(self._finished)

    def _expire(self, now: float | None = None) -> None:
        # The loop's clock, which stamps TaskState.created: a loop may keep its own time.
        if now is None:
            now = asyncio.get_running_loop().time()
        cutoff = now - self._retention
        finished = self._finished
        while finished:
            state, at = next(iter(finished.items()))
            if len(finished) <= self._finished_max and at > cutoff:
                break
            del finished[state]
            self._drop(state)
        if now >= self._next_sweep:
            self._next_sweep = now + min(60.0, self._max_task_age / 10)
            self._sweep_old(now - self._max_task_age)

    def _sweep_old(self, born_before: float) -> None:
        old = [
            s
            for s in {*self._by_token.values(), *self._by_task.values()}
            if s.created < born_before and not s.future.done()
        ]
        for state in old:
            log.warning(
                "gave up on task %s: no final result after %.0f s",
                state.task_id,
                self._max_task_age,
                extra={"task_id": state.task_id},
            )
            state.fail(TaskTimeoutError(state.task_id, self._max_task_age))
            self.failed += 1
            state.notify()
            self._drop(state)

    def _drop(self, state: TaskState) -> None:
        # Only the entries that still point at this state: a token or id may have moved on.
        if state.token is not None and self._by_token.get(state.token) is state:
            del self._by_token[state.token]
        if state.task_id is not None and self._by_task.get(state.task_id) is state:
            del self._by_task[state.task_id]

    async def prune_store(self) -> int:
        """Drop from the store what memory has let go of."""
        now = time.time()
        return await self.store.prune(
            finished_before=now - self._retention, unfinished_before=now - self._max_task_age
        )
