"""Task handles: made for a new submit, found again by id or by a lost submit's token, listed;
and a waiting method's one deadline over its submit and its wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

from . import _submitting as submitting
from . import _validate as check
from ._kinds import KINDS
from ._models import TaskKind
from ._registry import TaskRegistry
from ._tasks import Deadlines, Task, TaskState, future_of
from .errors import InvalidRequestError, SubmitUncertainError, TaskTimeoutError

R = TypeVar("R")


class Waits:
    """Hands out :class:`Task` handles; ``timeout`` is the client's default wait."""

    def __init__(self, registry: TaskRegistry, *, timeout: float) -> None:
        self._registry = registry
        self._timeout = timeout
        self._deadlines = Deadlines()

    def _limit(self, timeout: float | None) -> float:
        return self._timeout if timeout is None else check.timeout(timeout)

    def handle(self, state: TaskState, timeout: float | None = None) -> Task[Any]:
        """The handle of ``state``; ``timeout`` is its default wait (else the client's)."""
        limit = self._timeout if timeout is None else timeout
        return Task(state, limit, self._deadlines)  # positional: cheaper, once per submit

    async def submit(
        self, submit: Callable[[], Awaitable[Task[R]]], timeout: float | None
    ) -> Task[R]:
        """A ``submit_*`` call: within ``timeout`` when one is given (see ``_submitting``)."""
        if timeout is None:
            return await submit()
        with submitting.deadline(check.timeout(timeout)):
            return await submit()

    async def run(self, submit: Callable[[], Awaitable[Task[R]]], timeout: float | None) -> R:
        """Submit, then wait, within one deadline (the client's ``timeout`` by default).

        The submit itself keeps the deadline (see ``_submitting``), so that what the caller gets
        when it falls says what happened: nothing sent, a refusal, or a task that may exist.
        """
        with submitting.deadline(self._limit(timeout)) as at:
            task = await submit()
        return await task.wait(timeout=max(at - asyncio.get_running_loop().time(), 0.0))

    def readable(self, task_id: str, kind: TaskKind | str) -> TaskKind:
        """``kind`` checked, for a task read back by id (its record must have a route)."""
        check.required_text(task_id, "task_id")
        chosen = check.enum_value(TaskKind, kind, "kind")
        if KINDS[chosen].query is None and self._registry.get_task(task_id) is None:
            raise InvalidRequestError(
                f"a {chosen.value} task cannot be read back by id: no route serves its record",
                field="kind",
            )
        return chosen

    def task(self, task_id: str, kind: TaskKind | str) -> Task[Any]:
        """The handle of a task by id: this process's own, or one re-attached (and polled)."""
        chosen = self.readable(task_id, kind)
        state = self._registry.get_task(task_id) or self._registry.attach(task_id, chosen)
        return self.handle(state)

    async def recover(self, error: SubmitUncertainError, timeout: float | None) -> Task[Any]:
        """The task behind a submit whose answer was lost, once its first callback arrives."""
        if error.token is None:
            raise InvalidRequestError("this error did not come from this client's submit")
        state = await self._registry.claim(error.token, self._limit(timeout))
        return self.handle(state)

    async def as_completed(
        self, tasks: Iterable[Task[R]], timeout: float | None
    ) -> AsyncIterator[Task[R]]:
        """Each of ``tasks`` as it ends (done or failed), in the order they end; after
        ``timeout`` seconds, ``TaskTimeoutError`` naming those still pending."""
        limit = None if timeout is None else check.timeout(timeout)
        loop = asyncio.get_running_loop()
        at = None if limit is None else loop.time() + limit
        # The tasks' own futures are awaited: no task of ours to start, none to cancel.
        waiting: dict[asyncio.Future[Any], list[Task[R]]] = {}
        for task in tasks:
            waiting.setdefault(future_of(task), []).append(task)
        order = {future: index for index, future in enumerate(waiting)}
        while waiting:
            left = None if at is None else max(at - loop.time(), 0.0)
            done, _ = await asyncio.wait(waiting, timeout=left, return_when="FIRST_COMPLETED")
            if not done:
                assert limit is not None
                ids = tuple(t.id for handles in waiting.values() for t in handles)
                raise TaskTimeoutError(None, limit, pending=ids)
            for future in sorted(done, key=order.__getitem__):
                for task in waiting.pop(future):
                    yield task

    async def pending(self) -> list[Task[Any]]:
        return [self.handle(state) for state in await self._registry.pending()]
