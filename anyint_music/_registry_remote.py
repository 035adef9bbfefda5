"""What the task registry needs from and for other processes: their events, and taking over
their tasks.

``RemoteEvents`` is a mixin of ``TaskRegistry``. With a shared store, a callback may reach a
worker that did not submit the task (``deliver_foreign``), another worker may store an event for
one of ours (``remote``, ``resync``), and a restarted or different worker may take a task over
(``lookup``, ``attach``, ``pending``). A callback for a token already in memory never comes here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._background import Background
from ._models import TaskEvent, TaskKind
from ._tasks import TaskState
from ._verdicts import Outcome, judge, usable
from .stores import StoredTask, TaskStore

log = logging.getLogger("anyint_music")

# Called with a state that should be watched by polling, and a delay (None: one interval).
Watch = Callable[[TaskState, "float | None"], None]


class RemoteEvents:
    """Events other workers stored, callbacks for their tokens, and tasks re-attached here."""

    # Set by TaskRegistry.__init__; declared here so the type checker knows them.
    store: TaskStore
    _by_token: dict[str, TaskState]
    _by_task: dict[str, TaskState]
    background: Background
    watch: Watch | None
    heard: int
    failed: int
    duplicates: int

    if TYPE_CHECKING:  # defined by TaskRegistry and Housekeeping; no runtime stubs to shadow them

        async def apply(
            self, state: TaskState, event: TaskEvent, *, persist: bool = True
        ) -> Outcome: ...

        def _finish(self, state: TaskState, outcome: Any) -> None: ...

        def _drop(self, state: TaskState) -> None: ...

    async def lookup(self, token: str) -> TaskState | StoredTask | None:
        """The state behind ``token``: from memory, else taken over from the store; or, for a
        token another live worker owns (a shared store), the stored record only."""
        state = self._by_token.get(token)
        if state is not None:
            return state
        stored = await self.store.load_token(token)
        if stored is None:
            return None
        if stored.owner is not None and stored.owner != self.store.owner_id:
            return stored
        return self._adopt(stored, poll_in=None)

    async def deliver_foreign(self, stored: StoredTask, event: TaskEvent) -> Outcome:
        """Record a callback for another worker's task; the store tells that worker."""
        self.heard += 1
        if stored.task_id is not None and event.task_id != stored.task_id:
            return Outcome.MISMATCH
        if not usable(stored.kind, event):
            return Outcome.ACCEPTED
        if await self.store.add_event(stored.token, event):
            if stored.token in self._by_token:
                # This worker began to watch the task while the event was being stored: the
                # store tells other workers, not the one that stored it, so apply it here.
                await self.remote(stored.token, event)
            return Outcome.ACCEPTED
        self.duplicates += 1
        return Outcome.DUPLICATE

    async def remote(self, token: str, event: TaskEvent) -> None:
        """An event another worker stored for one of our tokens."""
        state = self._by_token.get(token)
        if state is None:
            return
        self.heard += 1
        if state.task_id is None:
            early = state.early or []
            if not any(e.stage is event.stage and e.task_id == event.task_id for e in early):
                state.early = [*early, event]
                state.notify()
            return
        if event.task_id == state.task_id:
            await self.apply(state, event, persist=False)

    async def resync(self) -> None:
        """Catch up with events stored while we could not hear about them."""
        for state in [s for s in self._by_token.values() if not s.future.done()]:
            assert state.token is not None
            stored = await self.store.load_token(state.token)
            for event in stored.events if stored is not None else ():
                await self.remote(state.token, event)

    def attach(self, task_id: str, kind: TaskKind) -> TaskState:
        """A state for a task id not in memory: taken from the store if it is there, and
        watched by polling until it ends."""
        state = TaskState.create(kind, task_id=task_id)
        self._by_task[task_id] = state

        def failed(exc: Exception) -> None:
            if not state.future.done():
                state.fail(exc)
                self.failed += 1
                state.notify()
            self._drop(state)  # a later client.task() tries again instead of this failure

        self.background.spawn(self._resume(state), name=f"attach {task_id}", on_error=failed)
        return state

    async def _resume(self, state: TaskState) -> None:
        assert state.task_id is not None
        # A shared store can make this worker a watcher of the task as it reads it, so a
        # callback another worker stores from then on is heard here at once, not at the next
        # poll. The token is registered first, so that no wake-up finds this worker without it.
        watch = getattr(self.store, "watch_task", None)
        try:
            stored = await self.store.load_task(state.task_id)
            if stored is not None and self._by_token.setdefault(stored.token, state) is state:
                state.token = stored.token
                if watch is not None:
                    stored = await watch(state.task_id)
        except Exception as exc:
            log.warning("could not read task %s from the store: %s", state.task_id, exc)
            stored = None
        if stored is not None and stored.token == state.token:
            for event in stored.events:
                if event.task_id == state.task_id:
                    await self.apply(state, event, persist=False)
        if self.watch is not None and not state.future.done():
            self.watch(state, 0.0)

    async def pending(self) -> list[TaskState]:
        """Every unfinished bound task, in memory or in the store (adopting the latter)."""
        stored = await self.store.pending()
        for record in stored:
            if record.token not in self._by_token and record.task_id not in self._by_task:
                self._adopt(record, poll_in=0.0)
        return [
            s for s in {*self._by_task.values()} if s.task_id is not None and not s.future.done()
        ]

    def _adopt(self, stored: StoredTask, *, poll_in: float | None) -> TaskState:
        """A memory state rebuilt from the store (after a restart)."""
        existing = self._by_token.get(stored.token)
        if existing is not None:  # another lookup adopted it while we read the store
            return existing
        attached = self._by_task.get(stored.task_id) if stored.task_id is not None else None
        if attached is not None:  # re-attached by id (client.task) while we read the store
            if attached.token is None:
                attached.token = stored.token
            self._by_token[stored.token] = attached
            return attached
        state = TaskState.create(stored.kind, token=stored.token, task_id=stored.task_id)
        self._by_token[stored.token] = state
        if stored.task_id is not None:
            self._by_task.setdefault(stored.task_id, state)
        for event in stored.events:
            if stored.task_id is None:
                state.early = [*(state.early or []), event]
            elif event.task_id == stored.task_id:
                verdict = judge(state, event)
                if verdict is not Outcome.DUPLICATE and verdict is not None:
                    state.history += (event,)
                    if verdict is not True:
                        self._finish(state, verdict)
        if stored.task_id is not None and not state.future.done() and self.watch is not None:
            self.watch(state, poll_in)
        return state
