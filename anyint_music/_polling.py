"""The polling fallback: one loop that polls the records of tasks whose final callback is late.

When to poll is learnt, not fixed: every time below derives from ``poll_interval`` and from what
this client has observed (`Observed`).

- **Callbacks working** (the latest sign is a callback that arrived, of any task and stage): a
  task is polled only once it is overdue, 1.25 times the longest recent duration of its kind
  plus one interval after its submit (four intervals while none has been seen). Healthy
  callbacks thus cost almost no polls.
- **Callbacks lost** (no callback has come yet, or the latest sign is a poll that found a
  finished task its final callback never reached): a task is polled every interval from the
  earliest its kind usually ends (the 10th percentile of recent durations, at least one
  interval), so a result is on average half an interval late.
- Every pending task is looked at each interval, without a request when it is not due, so a
  change of state (the receiver became unreachable) changes every schedule within one interval.
  A task past twice the longest duration of its kind is polled at intervals growing by half,
  up to four intervals.

Durations are learnt as lower bounds: a callback gives the exact one, a poll only the last time
its task was still running. An estimate built on poll times alone would drift later and later.

Whichever of callback and poll delivers the final result first wins; the registry ignores the
other. At most ``concurrency`` polls run at once, so thousands of late tasks do not become
thousands of concurrent requests; the transport's throttle slows them further when the gateway
answers with rate limits.

A poll answered with a permanent refusal (the task is unknown, the key is refused) ends the
wait with that error: asking again would only be refused again until ``max_task_age``.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable

from . import errors
from ._background import Background
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
# Multiples of poll_interval (see the module's docstring).
UNKNOWN_PATIENCE = 4.0
MOST_STEPS = 4.0
# How many recent durations of each kind the schedule learns from.
SAMPLES = 64
RECOMPUTE = 8


class _Durations:
    """Recent durations of one kind, and the two figures the schedule reads from them."""

    __slots__ = ("fresh", "high", "low", "samples")

    def __init__(self) -> None:
        self.samples: deque[float] = deque(maxlen=SAMPLES)
        self.fresh = 0  # samples since the figures were computed
        self.low = self.high = 0.0

    def figures(self) -> tuple[float, float]:
        """The 10th percentile and the longest, recomputed only every few samples: both
        change slowly, and a bind or a look must not sort the samples each time."""
        if self.fresh and (self.fresh >= RECOMPUTE or self.high == 0.0):
            ordered = sorted(self.samples)
            self.low, self.high = ordered[len(ordered) // 10], ordered[-1]
            self.fresh = 0
        return self.low, self.high


class Observed:
    """What this client has seen of callbacks and of how long tasks take, by kind."""

    def __init__(self, interval: float, registry: TaskRegistry) -> None:
        self.interval = interval
        self._registry = registry
        self._durations: dict[TaskKind, _Durations] = {}
        # The registry's count of callbacks heard when a poll last found a task finished before
        # its final callback: a callback since then says callbacks work.
        self._heard_at_miss = 0

    def missed(self) -> None:
        self._heard_at_miss = self._registry.heard

    @property
    def callbacks_work(self) -> bool:
        return self._registry.heard > self._heard_at_miss

    def took(self, kind: TaskKind, seconds: float) -> None:
        """A task of ``kind`` ended at least ``seconds`` after its submit."""
        durations = self._durations.get(kind)
        if durations is None:
            durations = self._durations[kind] = _Durations()
        durations.samples.append(seconds if seconds > 0.0 else 0.0)
        durations.fresh += 1

    def earliest(self, kind: TaskKind) -> float:
        """Seconds after its submit a task of ``kind`` is first worth polling when callbacks
        are lost: when about one in ten ends, and at least one interval."""
        durations = self._durations.get(kind)
        if durations is None:
            return self.interval
        return max(self.interval, durations.figures()[0])

    def longest(self, kind: TaskKind) -> float | None:
        durations = self._durations.get(kind)
        return durations.figures()[1] if durations is not None else None

    def patience(self, kind: TaskKind) -> float:
        """Seconds after its submit a task of ``kind`` is polled although callbacks work."""
        longest = self.longest(kind)
        if longest is None:
            return UNKNOWN_PATIENCE * self.interval
        return 1.25 * longest + self.interval

    def overdue(self, kind: TaskKind) -> float:
        """Seconds after its submit a task of ``kind`` is late enough to be polled less often."""
        longest = self.longest(kind)
        return 2 * longest if longest is not None else UNKNOWN_PATIENCE * self.interval


class _Entry:
    """One pending task in the poller's heap: when it is next looked at, and what its polls
    have shown so far."""

    __slots__ = ("at", "running", "state", "step")

    def __init__(self, at: float, state: TaskState, step: float, running: float):
        self.at = at
        self.state: TaskState | None = state  # None once the task ended: a dead entry
        self.step = step  # the gap to the next poll
        self.running = running  # loop time a poll last found it running (else its submit)

    def __lt__(self, other: _Entry) -> bool:
        return self.at < other.at  # ties in any order: no sequence number to keep


class Poller:
    """Looks at pending tasks every interval and polls those due (see the module's docstring)."""

    # A heap this much longer than twice its live tasks is compacted.
    SLACK = 64

    def __init__(
        self,
        registry: TaskRegistry,
        fetch: Fetch,
        *,
        interval: float,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._registry = registry
        self._fetch = fetch
        self.interval = interval
        self.observed = Observed(interval, registry)
        # Entries in the order they come due: most are (a first look, a bind's time plus the
        # same delay; a look again, now plus one interval), so a queue takes them in O(1)
        # and only the rest go to a heap, whose every push compares in Python.
        self._queue: deque[_Entry] = deque()
        self._heap: list[_Entry] = []
        self._sleeping_until = math.inf
        # The entry of each watched task. A task that ends leaves at once and its entry lets
        # go of it, so the heap holds nothing of finished tasks but small dead entries.
        self._scheduled: dict[TaskState, _Entry] = {}
        self._dead = 0
        # Tasks whose poll is applying a result: their end is the poll's, not a callback's.
        self._applying: set[TaskState] = set()
        self._wake = asyncio.Event()
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._background = Background()
        self.polls = 0

    def start(self) -> None:
        self._background.supervise("poller", self._run)

    async def stop(self) -> None:
        await self._background.aclose()
        self._queue.clear()
        self._heap.clear()
        self._scheduled.clear()
        self._dead = 0

    def schedule(self, state: TaskState, delay: float | None = None) -> None:
        """Watch ``state`` until it ends: first looked at after ``delay`` seconds (a re-attached
        task, polled then whatever the schedule says), else when its kind is first worth
        polling."""
        now = asyncio.get_running_loop().time()
        if delay is None:
            at, step = state.created + self.observed.earliest(state.kind), self.interval
        else:
            at, step = now + delay, 0.0  # step 0: poll when due, whatever callbacks do
        if state in self._scheduled:
            return  # one chain of looks per task
        entry = _Entry(max(at, now), state, step, state.created)
        self._scheduled[state] = entry
        self._push(entry)

    def _push(self, entry: _Entry) -> None:
        queue = self._queue
        if not queue or entry.at >= queue[-1].at:
            queue.append(entry)
        else:
            heapq.heappush(self._heap, entry)
        if entry.at < self._sleeping_until:
            self._wake.set()

    def unschedule(self, state: TaskState, now: float) -> None:
        """A task ended at loop time ``now``: learn its duration if a callback ended it, and
        forget it."""
        entry = self._scheduled.pop(state, None)
        if entry is None:  # not watched: nothing to forget, and no schedule to learn for
            return
        if state not in self._applying and _ended_by_service(state):
            self.observed.took(state.kind, now - state.created)
        entry.state = None
        self._dead += 1
        if not self._scheduled:
            # Drained: let go of the room a peak needed, and of every dead entry.
            self._scheduled = {}
            self._queue = deque()
            self._heap = []
            self._dead = 0
        elif self._dead > len(self._scheduled) + self.SLACK:
            self._queue = deque(e for e in self._queue if e.state is not None)
            self._heap = [e for e in self._heap if e.state is not None]
            heapq.heapify(self._heap)
            self._dead = 0

    def _look(self, entry: _Entry, state: TaskState, now: float) -> bool:
        """Whether to poll ``entry``'s task now; if not, when to look again is set."""
        if entry.step == 0.0 or not self.observed.callbacks_work:
            return True
        age = now - state.created
        patience = self.observed.patience(state.kind)
        if age >= patience:
            return True
        # One interval on, whatever the patience: the queue keeps its order, and a task past
        # its patience waits at most one interval more.
        entry.at = now + self.interval
        return False

    def _due(self, now: float) -> list[_Entry]:
        taken: list[_Entry] = []
        queue, heap = self._queue, self._heap
        while queue and queue[0].at <= now:
            taken.append(queue.popleft())
        while heap and heap[0].at <= now:
            taken.append(heapq.heappop(heap))
        due: list[_Entry] = []
        for entry in taken:
            if entry.state is None:
                self._dead -= 1
            elif self._look(entry, entry.state, now):
                due.append(entry)
            else:
                self._push(entry)  # due later than now: not taken again in this pass
        return due

    def _next_due(self) -> float | None:
        times = [q[0].at for q in (self._queue, self._heap) if q]
        return min(times) if times else None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            for entry in self._due(loop.time()):
                state = entry.state
                if state is None or state.future.done():
                    continue
                await self._slots.acquire()
                task = self._background.spawn(
                    self._poll(entry, state),
                    name=f"poll {state.task_id}",
                    on_error=functools.partial(self._retry_later, entry),
                )
                # Released when the poll's task ends, even one cancelled before it began.
                task.add_done_callback(lambda _: self._slots.release())
            due = self._next_due()
            timeout = None if due is None else max(due - loop.time(), 0.0)
            self._sleeping_until = math.inf if due is None else due
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                pass
            finally:
                self._sleeping_until = -math.inf  # awake: nothing needs to wake it

    async def _poll(self, entry: _Entry, state: TaskState) -> None:
        assert state.task_id is not None
        self.polls += 1
        asked = asyncio.get_running_loop().time()
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
        if event is not None and not state.future.done():
            self._applying.add(state)
            try:
                await self._registry.apply(state, event)
            except Exception as exc:  # e.g. the store failed: the next poll tries again
                log.warning(
                    "could not record the polled result of task %s: %s",
                    state.task_id,
                    exc,
                    extra={"task_id": state.task_id},
                )
            finally:
                self._applying.discard(state)
            if state.future.done():
                # The record had the end before any callback did: callbacks may be lost.
                if _ended_by_service(state):
                    self.observed.took(state.kind, entry.running - state.created)
                    self.observed.missed()
                return
        if entry.state is None or state.future.done():
            return
        entry.running = asked
        self._again(entry, state)

    def _again(self, entry: _Entry, state: TaskState) -> None:
        """Look at ``entry``'s task again after a poll found it running."""
        now = asyncio.get_running_loop().time()
        step = entry.step or self.interval
        if now - state.created >= self.observed.overdue(state.kind):
            step = min(step * BACKOFF, MOST_STEPS * self.interval)
        entry.step = step
        entry.at = now + step
        self._push(entry)

    def _retry_later(self, entry: _Entry, _: Exception) -> None:
        """A poll failed unexpectedly (it is logged): poll again, rather than lose the task."""
        state = entry.state
        if state is not None and not state.future.done():
            self._again(entry, state)


def _ended_by_service(state: TaskState) -> bool:
    """Whether a finished task's end is the service's verdict (a result or its failure), not
    this client giving up on it."""
    if state.future.cancelled():
        return False
    exc = state.future.exception()
    return exc is None or isinstance(exc, errors.TaskFailedError)
