"""A task as this process sees it: its state, its public handle, and its event stream."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Generator
from typing import Any, Generic, TypeVar

import attrs

from ._models import Stage, TaskEvent, TaskKind
from .errors import InvalidRequestError, ReceiverClosedError, TaskTimeoutError

log = logging.getLogger("anyint_music")

R = TypeVar("R")


@attrs.define(eq=False)
class TaskState:
    """Everything known about one task in this process.

    ``future`` ends only through :meth:`succeed`, :meth:`fail` or :meth:`cancel`, which also
    wake the waits on it (they hold no callback on the future itself).
    """

    kind: TaskKind
    future: asyncio.Future[Any]
    created: float
    token: str | None = None
    task_id: str | None = None
    history: tuple[TaskEvent, ...] = ()  # a tuple: no allocation while a task is pending
    early: list[TaskEvent] | None = None
    changed: asyncio.Event | None = None
    # The private futures of the waits on this task (one, the usual case, or a list), woken
    # the moment it ends: with a done callback on ``future`` each would wait a loop turn more.
    waiting: _Woken | list[_Woken] | None = None

    @classmethod
    def create(
        cls, kind: TaskKind, *, token: str | None = None, task_id: str | None = None
    ) -> TaskState:
        loop = asyncio.get_running_loop()
        return cls(kind, loop.create_future(), loop.time(), token, task_id)  # positional: cheaper

    def succeed(self, result: Any) -> None:
        """End the wait with ``result``."""
        self.future.set_result(result)
        self._wake()

    def fail(self, exc: BaseException) -> None:
        """End the wait with ``exc``."""
        self.future.set_exception(exc)
        # Marks it retrieved: a failed task nobody awaits must not log "exception was never
        # retrieved"; waiters still get it from result().
        self.future.exception()
        self._wake()

    def cancel(self) -> None:
        """End the wait: no task was created."""
        self.future.cancel()
        self._wake()

    def add_waiter(self, woken: _Woken) -> None:
        waiting = self.waiting
        if waiting is None:
            self.waiting = woken
        elif isinstance(waiting, list):
            waiting.append(woken)
        else:
            self.waiting = [waiting, woken]

    def drop_waiter(self, woken: _Woken) -> None:
        """A wait that gave up (timeout, cancellation) before the task ended."""
        waiting = self.waiting
        if waiting is woken:
            self.waiting = None
        elif isinstance(waiting, list) and woken in waiting:
            waiting.remove(woken)

    def _wake(self) -> None:
        waiting = self.waiting
        if waiting is None:
            return
        self.waiting = None
        for woken in waiting if isinstance(waiting, list) else (waiting,):
            if not woken.done():  # else cancelled, or its deadline came first
                woken.set_result(None)

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


class Deadlines:
    """When pending waits give up.

    asyncio keeps timers in one heap whose every push compares in Python: a real cost with
    thousands of waits. Waits with the client's timeout end in the order they started, so they
    go in a queue with one loop timer on its head; a deadline earlier than the queue's last one
    gets a loop timer of its own.
    """

    # A queue this much longer than twice its live waits is compacted.
    SLACK = 64

    def __init__(self) -> None:
        self._queue: deque[_Woken] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._live = 0

    def add(self, woken: _Woken) -> asyncio.TimerHandle | None:
        """Wake ``woken`` at its loop time ``at``. Returns the loop timer if one was needed, or
        ``None`` for a queued wait, which must call :meth:`release` when it ends."""
        loop = woken.get_loop()
        queue = self._queue
        at = woken.at
        if queue and at < queue[-1].at:
            return loop.call_at(at, woken)
        queue.append(woken)
        self._live += 1
        # The timer may still be set for a head that a compaction removed.
        if self._timer is None or at < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(at, self._expire, loop)
        return None

    def release(self) -> None:
        """A queued wait ended. Its entry stays until its deadline or a compaction."""
        self._live -= 1
        if len(self._queue) > 2 * self._live + self.SLACK:
            self._queue = deque(w for w in self._queue if not w.done())

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        queue = self._queue
        now = loop.time()
        while queue and queue[0].at <= now:
            queue.popleft()()
        if queue:
            self._timer = loop.call_at(queue[0].at, self._expire, loop)


class _Woken(asyncio.Future[None]):
    """A waiter's private future, woken by its task's end (``TaskState`` sets its result) or
    by its deadline (loop time ``at``), whose timer calls it: no bound method per wait."""

    __slots__ = ("at",)

    def __init__(self, *, loop: asyncio.AbstractEventLoop, at: float) -> None:
        super().__init__(loop=loop)
        self.at = at

    def __call__(self, _: object = None) -> None:
        if not self.done():
            self.set_result(None)


def future_of(task: Task[Any]) -> asyncio.Future[Any]:
    """The future behind a handle (its result or exception when the task ends)."""
    return task._state.future


class Task(Generic[R]):
    """A submitted task: its id, its stages as they arrive, and its final result.

    ``await task`` is ``await task.wait()``.
    """

    __slots__ = ("__weakref__", "_deadlines", "_state", "_timeout")

    def __init__(self, state: TaskState, timeout: float, deadlines: Deadlines) -> None:
        self._state = state
        self._timeout = timeout
        self._deadlines = deadlines

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
            InvalidRequestError: ``timeout`` is negative or not a number.
        """
        limit = self._timeout if timeout is None else timeout
        if not limit >= 0:  # NaN too
            raise InvalidRequestError(
                f"timeout must be a number of seconds >= 0, got {limit!r}", field="timeout"
            )
        future = self._state.future
        if not future.done():
            # A private future woken by the result or by the deadline: cheaper than timeout()
            # plus shield(), and the shared future is never cancelled by a waiter giving up.
            loop = asyncio.get_running_loop()
            woken = _Woken(loop=loop, at=loop.time() + limit)
            state = self._state
            state.add_waiter(woken)
            timer = self._deadlines.add(woken)
            try:
                await woken
            finally:
                if not future.done():
                    state.drop_waiter(woken)
                if timer is None:
                    self._deadlines.release()
                else:
                    timer.cancel()
            if not future.done():
                raise TaskTimeoutError(self._state.task_id, limit)
        result: R = future.result()
        return result

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
