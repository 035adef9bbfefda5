"""A task as this process sees it: its state, its public handle, and its event stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Generator
from typing import Any, Generic, TypeVar

import attrs

from ._models import Stage, TaskEvent, TaskKind
from .errors import ReceiverClosedError, TaskTimeoutError

log = logging.getLogger("anyint_music")

R = TypeVar("R")


@attrs.define(eq=False)
class TaskState:
    """Everything known about one task in this process."""

    kind: TaskKind
    future: asyncio.Future[Any]
    created: float
    token: str | None = None
    task_id: str | None = None
    history: list[TaskEvent] = attrs.Factory(list)
    early: list[TaskEvent] | None = None
    changed: asyncio.Event | None = None

    @classmethod
    def create(
        cls, kind: TaskKind, *, token: str | None = None, task_id: str | None = None
    ) -> TaskState:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        future.add_done_callback(_mark_retrieved)
        return cls(kind, future, loop.time(), token=token, task_id=task_id)

    @property
    def finished(self) -> bool:
        return any(e.is_final for e in self.history)

    def notify(self) -> None:
        if self.changed is not None:
            self.changed.set()
            self.changed = None

    def wait_changed(self) -> asyncio.Event:
        if self.changed is None:
            self.changed = asyncio.Event()
        return self.changed


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    # A failed task nobody awaits must not log "exception was never retrieved".
    if not future.cancelled():
        future.exception()


class Task(Generic[R]):
    """A submitted task: its id, its stages as they arrive, and its final result.

    ``await task`` is ``await task.wait()``.
    """

    def __init__(self, state: TaskState, *, timeout: float) -> None:
        self._state = state
        self._timeout = timeout

    def __repr__(self) -> str:
        status = "done" if self.done() else "pending"
        return f"<Task {self.id} {self._state.kind.value} {status}>"

    @property
    def id(self) -> str:
        """The service's task id."""
        assert self._state.task_id is not None
        return self._state.task_id

    @property
    def kind(self) -> TaskKind:
        """Music, lyrics or cover."""
        return self._state.kind

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The stages reported so far, in arrival order."""
        return tuple(e.stage for e in self._state.history)

    def done(self) -> bool:
        """Whether the final result (or failure) is in."""
        return self._state.future.done()

    async def wait(self, timeout: float | None = None) -> R:
        """Wait for the final result.

        Args:
            timeout: seconds to wait; default the client's ``timeout``. A timeout does not
                cancel the task: waiting again is allowed.

        Returns:
            The task's result (``MusicResult``, ``LyricsResult`` or ``CoverResult``).

        Raises:
            TaskFailedError: the service reported a failure.
            TaskTimeoutError: no final result within ``timeout``.
            ReceiverClosedError: the client closed first.
        """
        limit = self._timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                result: R = await asyncio.shield(self._state.future)
                return result
        except TimeoutError:
            if self._state.future.done():  # resolved in the same loop turn as the deadline
                done: R = self._state.future.result()
                return done
            raise TaskTimeoutError(self._state.task_id, limit) from None

    def __await__(self) -> Generator[Any, None, R]:
        return self.wait().__await__()

    def events(self, timeout: float | None = None) -> AsyncIterator[TaskEvent]:
        """Each stage as it arrives (stages already in are replayed first).

        The iteration ends after the final event (``complete`` or ``error``); a failure is
        reported by the ``error`` event and by ``wait()``.

        Raises:
            TaskTimeoutError: the final event did not come within ``timeout`` (default the
                client's ``timeout``).
            ReceiverClosedError: the client closed first.
        """
        return _EventIterator(self._state, self._timeout if timeout is None else timeout)


class _EventIterator:
    def __init__(self, state: TaskState, timeout: float) -> None:
        self._state = state
        self._index = 0
        self._timeout = timeout
        self._deadline = asyncio.get_running_loop().time() + timeout

    def __aiter__(self) -> _EventIterator:
        return self

    async def __anext__(self) -> TaskEvent:
        state = self._state
        loop = asyncio.get_running_loop()
        while True:
            if self._index < len(state.history):
                self._index += 1
                return state.history[self._index - 1]
            if state.future.done():
                exc = None if state.future.cancelled() else state.future.exception()
                if isinstance(exc, ReceiverClosedError):
                    raise exc
                raise StopAsyncIteration
            changed = state.wait_changed()
            remaining = self._deadline - loop.time()
            try:
                async with asyncio.timeout(max(remaining, 0)):
                    await changed.wait()
            except TimeoutError:
                if not changed.is_set():
                    raise TaskTimeoutError(state.task_id, self._timeout) from None
