"""The TaskStore interface: what the client persists about its tasks, and when."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from .._models import TaskEvent, TaskKind


@attrs.frozen
class StoredTask:
    """A task as a store knows it.

    Attributes:
        token: the callback token minted for the submit.
        kind: music, lyrics or cover.
        task_id: the service's id, or ``None`` while the submit had not been answered.
        created_at: when the token was minted (Unix seconds).
        events: the stages accepted so far, in arrival order; a final one (``complete`` or
            ``error``) ends the task.
        owner: the worker that submitted it, for stores shared by several workers (``None``
            in a store of one worker).
    """

    token: str
    kind: TaskKind
    task_id: str | None
    created_at: float
    events: tuple[TaskEvent, ...] = ()
    owner: str | None = None

    @property
    def finished(self) -> bool:
        """Whether a final event is stored."""
        return any(e.is_final for e in self.events)


# Called by a shared store with (token, event) for events other workers stored for this
# worker's tokens, and with no arguments after a reconnect, to catch up on what was missed.
EventHandler = Callable[[str, TaskEvent], Awaitable[None]]
ResyncHandler = Callable[[], Awaitable[None]]


@runtime_checkable
class TaskStore(Protocol):
    """Where the client keeps tokens, task ids, stages and results beyond its own memory.

    The client calls these in this order for a task: ``save_token`` before the submit is sent
    (so a callback can be accepted whatever happens next), ``bind`` when the submit answers
    with a task id (or ``forget`` when it certainly created nothing), ``add_event`` for every
    accepted stage before the callback is answered, so what was acknowledged is never lost.
    ``load_token`` and ``load_task`` let a restarted process take over; ``pending`` lists what
    is unfinished; ``prune`` drops what is no longer needed.

    Every method must be safe to call concurrently from one event loop, must not block it, and
    ``add_event`` must be idempotent per (token, stage): the first event stored for a stage wins.

    A store shared by several workers (``RedisStore``) also has an ``owner_id`` (this worker's
    name, ``None`` otherwise): tokens of other owners are recorded but not taken over, and
    ``listen`` delivers what other workers stored for this worker's tokens. It may also have
    ``watch_task(task_id)``: as ``load_task``, and from then on ``listen`` delivers that task's
    events to this worker too (``client.task`` uses it to re-attach at callback speed).

    ``add_event`` may also take a keyword ``source`` with a default: it is then given the body
    (bytes, as received) of the callback an event came in, and may keep those bytes instead of
    encoding the event (``SQLiteStore`` does); :func:`event_from_callback` reads the event back
    from them. An event that came otherwise (a poll) comes without ``source``.
    """

    owner_id: str | None

    async def open(self) -> None:
        """Prepare the store (create files or tables); called when the client opens."""

    async def close(self) -> None:
        """Release the store's resources; called when the client closes."""

    async def save_token(self, token: str, kind: TaskKind, created_at: float) -> None:
        """Remember a freshly minted token before its submit is sent."""

    async def bind(self, token: str, task_id: str) -> Sequence[TaskEvent]:
        """Tie ``token`` to the task id the service answered; return the events already stored
        for it (callbacks that came before the answer, possibly to another worker)."""

    async def forget(self, token: str) -> None:
        """Drop a token whose submit certainly created no task."""

    async def add_event(self, token: str, event: TaskEvent) -> bool:
        """Store an accepted event; return False if one for that stage was stored already."""

    async def load_token(self, token: str) -> StoredTask | None:
        """The task behind ``token``, or ``None``."""

    async def load_task(self, task_id: str) -> StoredTask | None:
        """The task with id ``task_id``, or ``None``."""

    async def pending(self) -> list[StoredTask]:
        """Every bound task of this owner that has no final event, oldest first."""

    async def prune(self, *, finished_before: float, unfinished_before: float) -> int:
        """Drop tasks finished before ``finished_before`` and unfinished tasks (bound or not)
        created before ``unfinished_before``; return how many were dropped."""

    async def listen(self, on_event: EventHandler, on_resync: ResyncHandler) -> None:
        """Deliver other workers' events for this worker's tokens until ``close``; a store of
        one worker returns at once."""


def event_to_json(event: TaskEvent) -> Any:
    from .._convert import unstructure

    return unstructure(event)


def event_from_json(data: Any) -> TaskEvent:
    from .._convert import structure

    return structure(data, TaskEvent)


def event_from_callback(kind: TaskKind, body: bytes) -> TaskEvent:
    """The event a callback body (the bytes received) reports for a task of ``kind``: what a
    store that keeps callback bodies reads back."""
    from .._callbacks import decode_json
    from .._kinds import parse_callback

    return parse_callback(kind, decode_json(body))


class KeepsBodies(Protocol):
    """A store whose ``add_event`` also takes the callback body an event came in (``source``,
    the bytes received; ``None`` for an event that came otherwise). It may keep those bytes
    rather than encode the event, and rebuild the event with :func:`event_from_callback`."""

    async def add_event(
        self, token: str, event: TaskEvent, *, source: bytes | None = None
    ) -> bool: ...


def keeps_bodies(store: object) -> bool:
    """Whether ``store.add_event`` takes ``source`` by keyword, with a default (see
    :class:`KeepsBodies`): only then can it be given the body, and left without one."""
    try:
        param = inspect.signature(store.add_event).parameters.get("source")  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return False
    return (
        param is not None
        and param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)
        and param.default is not param.empty
    )
