"""The polling fallback: one loop that polls the records of tasks whose final callback is late.

A task is scheduled when it is bound; if its final callback has not come by then, its record is
fetched, and again with a growing interval until the task ends. Whichever of callback and poll
delivers the final result first wins; the registry ignores the other. At most ``concurrency``
polls run at once, so thousands of late tasks do not become thousands of concurrent requests;
the transport's throttle slows them further when the gateway answers with rate limits.

A poll answered with a permanent refusal (the task is unknown, the key is refused) ends the
wait with that error: asking again would only be refused again until ``max_task_age``.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable

from . import errors
from ._background import Background
from ._housekeeping import compacted
from ._models import TaskEvent, TaskKind
from ._registry import TaskRegistry
from ._tasks import TaskState

log = logging.getLogger("anyint_music")

Fetch = Callable[[TaskKind, str], Awaitable["TaskEvent | None"]]

BACKOFF = 1.5

# Refusals that asking again cannot change: 404 (no such task), 400/422 (the query itself is
# wrong), 401/403 (the key). Rate answers, 5xx and lost answers are worth another poll, and so
# is any 4xx without the gateway's own error body (a proxy's page says nothing of the task).
PERMANENT_CODES = frozenset({400, 401, 403, 404, 422})


def refused_for_good(exc: BaseException) -> bool:
    """Whether a poll's failure is the gateway's own, final refusal of this query."""
    final = errors.BadRequestError | errors.AuthenticationError | errors.PermissionDeniedError
    return (
        isinstance(exc, final)
        and exc.from_gateway
        and (exc.status in PERMANENT_CODES or exc.code in PERMANENT_CODES)
    )


DEFAULT_CONCURRENCY = 32


class Poller:
    """Polls due tasks' records and hands what they show to the registry."""

    def __init__(
        self,
        registry: TaskRegistry,
        fetch: Fetch,
        *,
        interval: float,
        max_interval: float | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._registry = registry
        self._fetch = fetch
        self.interval = interval
        self.max_interval = max_interval or max(interval, min(interval * 4, 300.0))
        # First polls all come one interval after their bind, so they are due in insertion
        # order: a dict keeps them in that order and lets a finished task leave at once.
        self._first: dict[TaskState, float] = {}
        # Later polls (growing intervals, or "now" for re-attached tasks) are few: a heap.
        self._heap: list[tuple[float, int, float, TaskState]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._background = Background()
        self.polls = 0

    def start(self) -> None:
        self._background.supervise("poller", self._run)

    async def stop(self) -> None:
        await self._background.aclose()
        self._heap.clear()
        self._first.clear()

    def schedule(self, state: TaskState, delay: float | None = None) -> None:
        """Poll ``state`` after ``delay`` seconds (default: one interval) unless it ends first."""
        loop = asyncio.get_running_loop()
        if delay is None:
            self._first[state] = loop.time() + self.interval
            if len(self._first) == 1:
                self._wake.set()
            return
        heapq.heappush(self._heap, (loop.time() + delay, next(self._seq), delay, state))
        if self._heap[0][3] is state:
            self._wake.set()

    def unschedule(self, state: TaskState) -> None:
        """Forget a finished task's first poll (its later polls are skipped when due)."""
        first = self._first
        if first.pop(state, None) is not None and not first:
            self._first = compacted(first)  # drained: let go of the room a peak needed

    def _due(self, now: float) -> list[tuple[float, TaskState]]:
        due: list[tuple[float, TaskState]] = []
        first = self._first
        while first:
            state, at = next(iter(first.items()))
            if at > now:
                break
            del first[state]
            due.append((self.interval, state))
        while self._heap and self._heap[0][0] <= now:
            _, _, wait, state = heapq.heappop(self._heap)
            due.append((wait, state))
        return due

    def _next_due(self) -> float | None:
        times = [t for t in (next(iter(self._first.values()), None),) if t is not None]
        if self._heap:
            times.append(self._heap[0][0])
        return min(times) if times else None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            for wait, state in self._due(loop.time()):
                if state.future.done():
                    continue
                await self._slots.acquire()
                task = self._background.spawn(
                    self._poll(state, wait),
                    name=f"poll {state.task_id}",
                    on_error=functools.partial(self._retry_later, state),
                )
                # Released when the poll's task ends, even one cancelled before it began.
                task.add_done_callback(lambda _: self._slots.release())
            due = self._next_due()
            timeout = None if due is None else max(due - loop.time(), 0.0)
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _poll(self, state: TaskState, wait: float) -> None:
        assert state.task_id is not None
        self.polls += 1
        try:
            event = await self._fetch(state.kind, state.task_id)
        except Exception as exc:
            if refused_for_good(exc):
                log.warning(
                    "polling task %s was refused for good: %s",
                    state.task_id,
                    exc,
                    extra={"task_id": state.task_id},
                )
                self._registry.end(state, exc)
                return
            # A failed poll must not end the wait: try again later.
            log.warning(
                "polling task %s failed: %s", state.task_id, exc, extra={"task_id": state.task_id}
            )
            event = None
        if event is not None:
            try:
                await self._registry.apply(state, event)
            except Exception as exc:  # e.g. the store failed: the next poll tries again
                log.warning(
                    "could not record the polled result of task %s: %s",
                    state.task_id,
                    exc,
                    extra={"task_id": state.task_id},
                )
        if not state.future.done():
            self.schedule(state, min(wait * BACKOFF, self.max_interval) if wait else self.interval)

    def _retry_later(self, state: TaskState, _: Exception) -> None:
        """A poll failed unexpectedly (it is logged): poll again, rather than lose the task."""
        if not state.future.done():
            self.schedule(state, self.interval)
