"""The tokens and task ids of this process, the waiters behind them, and their delivery path.

Memory holds one ``TaskState`` per live task (its future, its stages); the store holds what must
outlive the process. Every accepted event is written to the store before the callback that
brought it is answered. This module keeps the maps and the in-process path: submit (``new``,
``bind``), a callback or poll for a token in memory (``deliver``, ``apply``), the end of a wait.
``TaskRegistry`` is the one object the rest of the client talks to; two mixins add the other jobs:
``_registry_remote`` (other workers' events, taking over tasks from the store) and
``_housekeeping`` (expiry and pruning).
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from ._background import Background
from ._housekeeping import Housekeeping
from ._models import TaskEvent, TaskKind
from ._registry_remote import RemoteEvents, Watch
from ._tasks import TaskState
from ._verdicts import Outcome, judge
from .errors import ReceiverClosedError, StoreError, TaskTimeoutError
from .stores import MemoryStore, TaskStore
from .stores._base import KeepsBodies, keeps_bodies

log = logging.getLogger("anyint_music")

# Events held for one token before its submit answers; four stages make a normal maximum.
EARLY_MAX = 16
# Read off the Enum class, a member costs a descriptor call: these run on every callback.
_ACCEPTED, _DUPLICATE = Outcome.ACCEPTED, Outcome.DUPLICATE

_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def new_token() -> str:
    """``secrets.token_urlsafe(24)`` (32 characters from ``os.urandom``) in fewer calls: one
    per submit."""
    return binascii.b2a_base64(os.urandom(24), newline=False).translate(_URL_SAFE).decode()


class TaskRegistry(RemoteEvents, Housekeeping):
    """Tokens and task ids of this process, and the waiters behind them.

    Args:
        store: where tasks are persisted.
        retention: seconds a finished task stays known (late duplicates get 200,
            ``client.task`` returns its result).
        finished_max: at most this many finished tasks are kept in memory.
        max_task_age: an unfinished task older than this is given up: its wait fails with
            ``TaskTimeoutError`` and it is forgotten.
    """

    def __init__(
        self,
        store: TaskStore,
        *,
        retention: float = 3600.0,
        finished_max: int = 10_000,
        max_task_age: float = 86_400.0,
    ) -> None:
        self.store = store
        # The memory store records nothing: the hot path skips its calls.
        self._records = type(store) is not MemoryStore
        # Then new() and bind() wait for nothing: a submit calls mint() and bind_now() instead.
        self.instant = not self._records
        # A store that keeps callback bodies is given them: it writes the bytes received rather
        # than encode the event again, the costliest step of a callback's path.
        self._keeps_bodies = self._records and keeps_bodies(store)
        self._by_token: dict[str, TaskState] = {}
        self._by_task: dict[str, TaskState] = {}
        self._finished: OrderedDict[TaskState, float] = OrderedDict()
        self._retention = retention
        self._finished_max = finished_max
        self._max_task_age = max_task_age
        self._next_sweep = -float("inf")
        self.background = Background()
        self.watch: Watch | None = None
        self.on_event: Callable[[TaskEvent], None] | None = None
        self.completed = 0
        self.failed = 0
        self.unwatch: Callable[[TaskState, float], None] | None = None
        # Callbacks for tasks of ours, whichever worker received them (the poller reads it).
        self.heard = 0
        self.duplicates = 0

    def __len__(self) -> int:
        return len({*self._by_token.values(), *self._by_task.values()})

    # --- submit side ---

    def mint(self, kind: TaskKind) -> TaskState:
        """A fresh state with an unguessable callback token, known in memory: :meth:`new`
        without the store (all of it when :attr:`instant`)."""
        loop = asyncio.get_running_loop()
        now = loop.time()  # one clock read for the expiry and the new state (its `created`)
        self._expire(now)
        token = new_token()
        state = self._by_token[token] = TaskState(kind, loop.create_future(), now, token)
        return state

    async def new(self, kind: TaskKind) -> TaskState:
        """A fresh state with an unguessable callback token, saved before its submit is sent."""
        state = self.mint(kind)
        assert state.token is not None
        if not self._records:
            return state
        try:
            await self.store.save_token(state.token, kind, time.time())
        except Exception as exc:
            del self._by_token[state.token]
            raise StoreError(
                f"the task store ({self.store!r}) is unavailable: {exc}. Nothing was sent; "
                "try again when it is back"
            ) from exc
        except BaseException:
            del self._by_token[state.token]
            raise
        return state

    async def bind(self, state: TaskState, task_id: str) -> None:
        """Tie ``state`` to the task id the gateway answered; claim early callbacks."""
        if not self._records:
            self.bind_now(state, task_id)
            return
        state.task_id = task_id
        self._by_task[task_id] = state
        assert state.token is not None
        try:
            stored = await self.store.bind(state.token, task_id)
        except Exception as exc:  # the task exists: keep waiting, callbacks still come here
            log.warning("could not record task %s in the store: %s", task_id, exc)
            stored = ()
        for event in self._bound(state, stored):
            if self._owned(event, task_id):
                await self.apply(state, event, persist=False)

    def bind_now(self, state: TaskState, task_id: str) -> None:
        """:meth:`bind` when :attr:`instant`: with no store write, nothing to wait for."""
        state.task_id = task_id
        self._by_task[task_id] = state
        for event in self._bound(state, ()):
            if self._owned(event, task_id):
                # apply(persist=False), which writes nothing and so never waits.
                self._settle(state, event, judge(state, event))

    def _bound(self, state: TaskState, stored: Sequence[TaskEvent]) -> Sequence[TaskEvent]:
        """Watch the newly bound ``state``; the callbacks that came before its task id (held,
        or ``stored``), to apply now."""
        if self.watch is not None and not state.future.done():
            self.watch(state, None)
        if state.early is None and not stored:  # the usual case: no callback came first
            return ()
        held = state.early or []
        known = {(e.stage, e.task_id) for e in held}
        early = [*held, *(e for e in stored if (e.stage, e.task_id) not in known)]
        state.early = None
        return early

    def _owned(self, event: TaskEvent, task_id: str) -> bool:
        if event.task_id != task_id:
            log.warning(
                "dropped an early callback for task %s: its token belongs to task %s",
                event.task_id,
                task_id,
                extra={"task_id": task_id},
            )
            return False
        return True

    async def forget(self, state: TaskState) -> None:
        """Drop a state whose submit certainly created no task."""
        if state.token is not None:
            self._by_token.pop(state.token, None)
            await self.store.forget(state.token)
        if not state.future.done():
            state.cancel()

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
            await self.bind(state, state.early[0].task_id)
        return state

    # --- lookups in memory (through the store: lookup, in _registry_remote) ---

    def pending_count(self) -> int:
        return sum(
            1 for s in {*self._by_token.values(), *self._by_task.values()} if not s.future.done()
        )

    def get_token(self, token: str) -> TaskState | None:
        """The state behind ``token`` if it is in memory (no store read)."""
        return self._by_token.get(token)

    def get_task(self, task_id: str) -> TaskState | None:
        return self._by_task.get(task_id)

    # --- callbacks ---

    def settles_now(self, state: TaskState) -> bool:
        """Whether :meth:`deliver_now` can take an event for ``state``: a bound task, and a
        store that records nothing (so there is nothing to wait for)."""
        return not self._records and state.task_id is not None

    def deliver_now(self, state: TaskState, event: TaskEvent) -> Outcome:
        """:meth:`deliver` for a state that :meth:`settles_now`, with no coroutine: the whole
        path of a callback with the memory store."""
        self.heard += 1
        if event.task_id != state.task_id:
            return self._mismatch(state, event)
        return self._settle(state, event, judge(state, event))

    async def deliver(
        self, state: TaskState, event: TaskEvent, source: bytes | None = None
    ) -> Outcome:
        """Route a callback's event to ``state`` (found by its token); ``source`` is the body
        it came in, for a store that keeps it."""
        self.heard += 1
        if state.task_id is None:
            assert state.token is not None
            # Held until the submit answers: one event per stage and task id, so duplicates
            # cannot crowd out the final one, and a bounded number in all.
            early = state.early or ()
            seen = any(e.stage is event.stage and e.task_id == event.task_id for e in early)
            if seen or len(early) >= EARLY_MAX:
                self.duplicates += 1
                return Outcome.DUPLICATE
            await self._add_event(state.token, event, source)
            if state.task_id is None:
                state.early = [*(state.early or []), event]
                state.notify()
                return Outcome.ACCEPTED
            # The submit answered while the event was being stored: bind() may not have seen
            # it in the store, so it is applied here (already stored: no second write).
            persist = False
        else:
            persist = True
        if event.task_id != state.task_id:
            return self._mismatch(state, event)
        return await self.apply(state, event, persist=persist, source=source)

    def _mismatch(self, state: TaskState, event: TaskEvent) -> Outcome:
        log.warning(
            "refused a callback for task %s on the token of task %s",
            event.task_id,
            state.task_id,
            extra={"task_id": state.task_id},
        )
        return Outcome.MISMATCH

    async def apply(
        self,
        state: TaskState,
        event: TaskEvent,
        *,
        persist: bool = True,
        source: bytes | None = None,
    ) -> Outcome:
        """Record ``event`` on ``state`` (and in the store, with the callback body ``source``
        it came in, if any); resolve the wait when it is final."""
        verdict = judge(state, event)
        stored = persist and self._records and state.token is not None
        if not stored or verdict is Outcome.DUPLICATE or verdict is None:
            return self._settle(state, event, verdict)
        assert state.token is not None
        state.history += (event,)  # claims the stage before the store write yields
        try:
            added = await self._add_event(state.token, event, source)
        except BaseException:
            state.history = tuple(e for e in state.history if e is not event)
            raise
        if not added:
            # Someone stored this stage first (another worker, or before a restart). What the
            # store holds is the truth for every worker: apply that, whoever stored it, rather
            # than wait for a wake-up that may have gone to another worker.
            state.history = tuple(e for e in state.history if e is not event)
            first = await self._stored_stage(state.token, event)
            return await self.apply(state, first or event, persist=False)
        return self._taken(state, event, verdict)

    def _add_event(self, token: str, event: TaskEvent, source: bytes | None) -> Awaitable[bool]:
        if source is not None and self._keeps_bodies:
            return cast(KeepsBodies, self.store).add_event(token, event, source=source)
        return self.store.add_event(token, event)

    def _settle(self, state: TaskState, event: TaskEvent, verdict: Any) -> Outcome:
        """Act on ``judge``'s verdict for an event that needs no store write."""
        if verdict is _DUPLICATE:
            self.duplicates += 1
            return Outcome.DUPLICATE
        if verdict is None:
            return _ACCEPTED
        state.history += (event,)
        return self._taken(state, event, verdict)

    def _taken(self, state: TaskState, event: TaskEvent, verdict: Any) -> Outcome:
        """``event`` is in ``state``'s history (and in the store): tell whoever waits."""
        if self.on_event is not None:
            self.on_event(event)
        if verdict is True:
            state.notify()
        else:
            self._finish(state, verdict)
        return _ACCEPTED

    async def _stored_stage(self, token: str, event: TaskEvent) -> TaskEvent | None:
        """The event the store holds for ``event``'s stage on ``token`` (None if unreadable)."""
        stored = await self.store.load_token(token)
        for first in stored.events if stored is not None else ():
            if first.stage is event.stage and first.task_id == event.task_id:
                return first
        return None

    def end(self, state: TaskState, error: BaseException) -> None:
        """End a wait with ``error`` (e.g. a poll the gateway refused for good)."""
        self._finish(state, error)

    def _finish(self, state: TaskState, outcome: Any) -> None:
        if state.future.done():  # the client closed meanwhile
            return
        if isinstance(outcome, BaseException):
            state.fail(outcome)
            self.failed += 1
        else:
            state.succeed(outcome)
            self.completed += 1
        state.notify()
        now = state.future.get_loop().time()  # the clock TaskState.created uses
        if self.unwatch is not None:
            self.unwatch(state, now)
        finished = self._finished
        finished[state] = now
        if len(finished) > self._finished_max:  # age limits are kept by new() and housekeeping
            self._drop(finished.popitem(last=False)[0])

    def close(self) -> None:
        """Fail every pending wait with ReceiverClosedError."""
        self.background.cancel()
        for state in {*self._by_token.values(), *self._by_task.values()}:
            if not state.future.done():
                state.fail(ReceiverClosedError(state.task_id))
                state.notify()
        self._by_token.clear()
        self._by_task.clear()
        self._finished.clear()
