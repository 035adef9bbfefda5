"""Task handles: made for a new submit, found again by id or by a lost submit's token, listed;
and a waiting method's one deadline over its submit and its wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from . import _submitting as submitting
from . import _validate as check
from ._kinds import KINDS
from ._models import TaskKind
from ._registry import TaskRegistry
from ._tasks import Deadlines, Task, TaskState
from .errors import InvalidRequestError, SubmitUncertainError

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
        return Task(state, timeout=limit, deadlines=self._deadlines)

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

    def task(self, task_id: str, kind: TaskKind | str) -> Task[Any]:
        """The handle of a task by id: this process's own, or one re-attached (and polled)."""
        check.required_text(task_id, "task_id")
        chosen = check.enum_value(TaskKind, kind, "kind")
        if KINDS[chosen].query is None and self._registry.get_task(task_id) is None:
            raise InvalidRequestError(
                f"a {chosen.value} task cannot be read back by id: no route serves its record",
                field="kind",
            )
        state = self._registry.get_task(task_id) or self._registry.attach(task_id, chosen)
        return self.handle(state)

    async def recover(self, error: SubmitUncertainError, timeout: float | None) -> Task[Any]:
        """The task behind a submit whose answer was lost, once its first callback arrives."""
        if error.token is None:
            raise InvalidRequestError("this error did not come from this client's submit")
        state = await self._registry.claim(error.token, self._limit(timeout))
        return self.handle(state)

    async def pending(self) -> list[Task[Any]]:
        return [self.handle(state) for state in await self._registry.pending()]
