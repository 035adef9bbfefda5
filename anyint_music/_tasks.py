"""In-process waiters: one state per submitted task, its events, its result, its timeouts."""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any, Generic, TypeVar

import attrs

from ._models import CoverResult, LyricsResult, MusicResult, Stage, TaskEvent, TaskKind
from .errors import ReceiverClosedError, TaskFailedError, TaskTimeoutError

log = logging.getLogger("anyint_music")

R = TypeVar("R")

# A callback that arrives before its submit was answered is held on the token; a sender that
# keeps posting to a token that never gets bound must not grow memory without limit.
EARLY_EVENTS_MAX = 8

# Called with a state that should be watched by polling, and a delay (None: one interval).
Watch = Callable[["TaskState", "float | None"], None]


class Outcome(enum.Enum):
    """What the registry did with a delivered event; the receiver answers accordingly."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    UNKNOWN_TOKEN = "unknown token"
    MISMATCH = "task id mismatch"


@attrs.define(eq=False)
class TaskState:
    """Everything known about one task in this process."""

    kind: TaskKind
    future: asyncio.Future[Any]
    token: str | None = None
    task_id: str | None = None
    history: list[TaskEvent] = attrs.Factory(list)
    early: list[TaskEvent] | None = None
    changed: asyncio.Event | None = None

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


def _result(state: TaskState, event: TaskEvent) -> MusicResult | LyricsResult | CoverResult | None:
    """The final result an event carries, or ``None`` when it is not usable as one."""
    task_id = event.task_id
    if state.kind is TaskKind.MUSIC:
        if event.tracks and all(t.audio_url for t in event.tracks):
            return MusicResult(task_id, event.tracks)
        return None
    if state.kind is TaskKind.LYRICS:
        return LyricsResult(task_id, event.variants) if event.variants else None
    return CoverResult(task_id, event.images) if event.images else None


class TaskRegistry:
    """Tokens and task ids of this process, and the waiters behind them."""

    def __init__(self, *, finished_max: int = 10_000, finished_ttl: float = 3600.0) -> None:
        self._by_token: dict[str, TaskState] = {}
        self._by_task: dict[str, TaskState] = {}
        # Finished tokens stay known for a while so late duplicates still get 200.
        self._finished: OrderedDict[str, float] = OrderedDict()
        self._finished_max = finished_max
        self._finished_ttl = finished_ttl
        self._closed = False
        self.watch: Watch | None = None

    def __len__(self) -> int:
        return len(self._by_token)

    def new(self, kind: TaskKind) -> TaskState:
        """A fresh state with an unguessable callback token."""
        self._prune()
        state = TaskState(
            kind, asyncio.get_running_loop().create_future(), secrets.token_urlsafe(24)
        )
        state.future.add_done_callback(_mark_retrieved)
        assert state.token is not None
        self._by_token[state.token] = state
        return state

    def bind(self, state: TaskState, task_id: str) -> None:
        """Tie ``state`` to the task id the gateway answered; claim early callbacks."""
        state.task_id = task_id
        self._by_task[task_id] = state
        if self.watch is not None:
            self.watch(state, None)
        early, state.early = state.early or [], None
        for event in early:
            if event.task_id != task_id:
                log.warning(
                    "dropped an early callback for task %s: its token belongs to task %s",
                    event.task_id,
                    task_id,
                    extra={"task_id": task_id},
                )
                continue
            self.apply(state, event)

    async def claim(self, token: str, timeout: float) -> TaskState:
        """Wait for the first callback on an unbound token and bind its task id."""
        state = self._by_token.get(token)
        if state is None:
            raise TaskTimeoutError(None, timeout)
        try:
            async with asyncio.timeout(timeout):
                while state.task_id is None and not state.early:
                    if state.future.done():
                        state.future.result()  # raises ReceiverClosedError
                    await state.wait_changed().wait()
        except TimeoutError:
            raise TaskTimeoutError(None, timeout) from None
        if state.task_id is None:
            assert state.early
            self.bind(state, state.early[0].task_id)
        return state

    def forget(self, state: TaskState) -> None:
        """Drop a state whose submit failed: no task exists for its token."""
        if state.token is not None:
            self._by_token.pop(state.token, None)
        if not state.future.done():
            state.future.cancel()

    def kind_of(self, token: str) -> TaskKind | None:
        """The kind of the task behind ``token``, or ``None`` for an unknown token."""
        state = self._by_token.get(token)
        return None if state is None else state.kind

    def get_task(self, task_id: str) -> TaskState | None:
        return self._by_task.get(task_id)

    def attach(self, task_id: str, kind: TaskKind) -> TaskState:
        """A state for a task this process did not submit; it is resolved by polling."""
        state = TaskState(kind, asyncio.get_running_loop().create_future(), task_id=task_id)
        state.future.add_done_callback(_mark_retrieved)
        self._by_task[task_id] = state
        if self.watch is not None:
            self.watch(state, 0.0)
        return state

    def deliver(self, token: str, event: TaskEvent) -> Outcome:
        """Route a callback's event to the task behind ``token``."""
        state = self._by_token.get(token)
        if state is None:
            return Outcome.UNKNOWN_TOKEN
        if state.task_id is None:
            if state.early is None:
                state.early = []
            if len(state.early) < EARLY_EVENTS_MAX:
                state.early.append(event)
                state.notify()
            return Outcome.ACCEPTED
        if event.task_id != state.task_id:
            log.warning(
                "refused a callback for task %s on the token of task %s",
                event.task_id,
                state.task_id,
                extra={"task_id": state.task_id},
            )
            return Outcome.MISMATCH
        return self.apply(state, event)

    def apply(self, state: TaskState, event: TaskEvent) -> Outcome:
        """Record ``event`` on ``state``; resolve the wait when it is final."""
        if state.future.done() or any(e.stage is event.stage for e in state.history):
            return Outcome.DUPLICATE
        if event.stage is Stage.ERROR:
            state.history.append(event)
            self._finish(state, TaskFailedError(event.task_id, event.code, event.message))
            return Outcome.ACCEPTED
        if event.stage is Stage.COMPLETE:
            result = _result(state, event)
            if result is None:
                # AnyInt: an asset is ready only when the status is successful and the URLs are
                # present. Keep waiting for a usable delivery.
                log.warning(
                    "task %s reported complete without usable results; still waiting",
                    event.task_id,
                    extra={"task_id": event.task_id, "stage": event.stage.value},
                )
                return Outcome.ACCEPTED
            if isinstance(result, LyricsResult) and not any(v.ok for v in result.variants):
                state.history.append(event)
                reasons = "; ".join(v.error_message for v in result.variants if v.error_message)
                self._finish(
                    state, TaskFailedError(event.task_id, None, reasons or "no usable lyrics")
                )
                return Outcome.ACCEPTED
            state.history.append(event)
            self._finish(state, result)
            return Outcome.ACCEPTED
        state.history.append(event)
        state.notify()
        return Outcome.ACCEPTED

    def _finish(self, state: TaskState, outcome: Any) -> None:
        if isinstance(outcome, BaseException):
            state.future.set_exception(outcome)
        else:
            state.future.set_result(outcome)
        state.notify()
        if state.token is not None:
            self._finished[state.token] = time.monotonic()
        self._prune()

    def _prune(self) -> None:
        cutoff = time.monotonic() - self._finished_ttl
        finished = self._finished
        while finished:
            token, at = next(iter(finished.items()))
            if len(finished) <= self._finished_max and at > cutoff:
                break
            finished.popitem(last=False)
            state = self._by_token.pop(token, None)
            if (
                state is not None
                and state.task_id is not None
                and self._by_task.get(state.task_id) is state
            ):
                del self._by_task[state.task_id]

    def close(self) -> None:
        """Fail every pending wait with ReceiverClosedError."""
        self._closed = True
        for state in {*self._by_token.values(), *self._by_task.values()}:
            if not state.future.done():
                state.future.set_exception(ReceiverClosedError(state.task_id))
                state.notify()
        self._by_token.clear()
        self._by_task.clear()
        self._finished.clear()


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
