"""Sending a task-creating request: a fresh callback token, the POST, the task id bound to it.

A waiting call (``generate``, ...) opens a :func:`deadline` around its submit, so that when the
time runs out the caller learns what happened: nothing was sent (``TaskTimeoutError``, no task),
every try was refused (the last refusal), or the request is unanswered and a task may exist
(``SubmitUncertainError``, which ``client.recover`` turns into the task).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._callbacks import CALLBACK_PREFIX
from ._http import Expired, Transport
from ._registry import TaskRegistry
from ._retry import certainly_no_task
from ._routes import Route
from ._tasks import TaskState
from ._uploads import LocalFile, Uploads
from .errors import (
    InvalidRequestError,
    MalformedResponseError,
    ReceiverClosedError,
    SubmitUncertainError,
    TaskTimeoutError,
)

log = logging.getLogger("anyint_music")

# The deadline (loop time, and the seconds it was given) of the waiting call whose submit runs
# in this context: a waiting method's submit_* call must not wait or retry past it.
_DEADLINE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "anyint_music_deadline", default=None
)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """The submit awaited inside keeps to ``seconds`` from now; yields the deadline (loop time)."""
    at = asyncio.get_running_loop().time() + seconds
    reset = _DEADLINE.set((at, seconds))
    try:
        yield at
    finally:
        _DEADLINE.reset(reset)


class Submitter:
    """Sends task-creating requests and binds what they create.

    Args:
        registry: where tokens are minted and task ids bound.
        transport: the gateway.
        is_open: whether the client is still open (a task created after it closed cannot be
            waited for).
    """

    def __init__(
        self,
        registry: TaskRegistry,
        transport: Transport,
        uploads: Uploads,
        *,
        is_open: Callable[[], bool],
        share_for: float,
    ) -> None:
        self._registry = registry
        self._transport = transport
        self._uploads = uploads
        self._is_open = is_open
        self._share_for = share_for
        self.public_url = ""
        # Whether the service can call public_url (no: local files cannot be served to it).
        self.reachable = True

    async def ask(self, route: Route[..., Any], fields: Mapping[str, Any]) -> Any:
        """POST a route answered at once; its result."""
        data = await self._transport.request("POST", route.path, json_body=route.wire(fields, {}))
        return route.answer(data)

    async def submit(self, route: Route[..., Any], fields: Mapping[str, Any]) -> TaskState:
        """POST ``route``'s request of these checked ``fields``; the bound task's state."""
        assert route.kind is not None
        kind, path = route.kind, route.path
        started = time.perf_counter()
        limit = _DEADLINE.get()
        if limit is not None:
            # Used up here: tasks started from now on in this context (an on_event hook's,
            # say) must not inherit the deadline of the call that submitted.
            _DEADLINE.set(None)
        at = None if limit is None else limit[0]
        registry = self._registry
        if registry.instant:  # nothing to wait for, so no deadline to keep
            state = registry.mint(kind)
        elif limit is None:
            state = await registry.new(kind)
        else:
            try:
                async with asyncio.timeout_at(limit[0]):
                    state = await registry.new(kind)
            except TimeoutError:  # the store was slow: nothing was sent
                raise TaskTimeoutError(None, limit[1], sent=False) from None
        callback_url = f"{self.public_url}{CALLBACK_PREFIX}{state.token}"
        try:
            if route.local_files:
                seconds = self._share_for if limit is None else limit[1]
                fields = self._share(fields, state, seconds)
            body = route.wire(fields, {"call_back_url": callback_url})
        except BaseException:  # nothing was sent: the token (and any file shared) goes
            await self._forget(state)
            raise
        try:
            data = await self._transport.request(
                "POST", path, json_body=body, creates_task=True, deadline=at
            )
            answered = route.immediate(data) if route.immediate is not None else None
            if answered is not None:  # the answer is the result itself: no task to wait for
                await self._forget(state)
                done = TaskState.create(kind, task_id=getattr(answered, "persona_id", None))
                done.succeed(answered)
                return done
            task_id = _task_id(data, path)
        except Expired:
            assert limit is not None
            await self._forget(state)
            raise TaskTimeoutError(None, limit[1], sent=False) from None
        except BaseException as exc:
            if certainly_no_task(exc):
                await self._forget(state)
                raise
            # A task may exist: its token stays known so its callbacks are still taken in.
            if isinstance(exc, Exception):
                raise SubmitUncertainError(path, exc, state.token) from exc
            raise
        if not self._is_open():
            raise ReceiverClosedError(task_id)
        if registry.instant:
            registry.bind_now(state, task_id)
        else:
            await registry.bind(state, task_id)
        if log.isEnabledFor(logging.INFO):  # spare the hot path the record's extra fields
            log.info(
                "submitted %s task %s",
                path,
                task_id,
                extra={
                    "task_id": task_id,
                    "route": path,
                    "latency": time.perf_counter() - started,
                },
            )
        return state

    def _share(
        self, fields: Mapping[str, Any], state: TaskState, seconds: float
    ) -> Mapping[str, Any]:
        """``fields`` with each local file replaced by the URL the receiver serves it at, for
        as long as the task may fetch it: until it ends (or its submit fails), or ``seconds``."""
        local = [key for key, value in fields.items() if isinstance(value, LocalFile)]
        if not local:
            return fields
        if not self.reachable:
            raise InvalidRequestError(
                f"{local[0]} is a local file, which the service fetches from this client's "
                f"receiver at {self.public_url}; it cannot reach that address. Set public_url "
                "(or ANYINT_PUBLIC_URL) to an address it can call, e.g. a tunnel, or pass a URL",
                field=local[0],
            )
        shared = dict(fields)
        for key in local:
            secret, shared[key] = self._uploads.share(fields[key], self.public_url)
            self._uploads.keep_until(secret, state.future, seconds)
        return shared

    async def _forget(self, state: TaskState) -> None:
        """Drop the token of a submit that created nothing; a store failure here must not
        hide the error that explains the submit."""
        try:
            await self._registry.forget(state)
        except Exception as exc:
            log.warning("could not drop an unused callback token from the store: %s", exc)


def _task_id(data: Any, path: str) -> str:
    mapping = data.__class__ is dict or isinstance(data, Mapping)  # dict: skip the ABC
    task_id = data.get("taskId") if mapping else None
    if not isinstance(task_id, str) or not task_id:
        raise MalformedResponseError(
            f"{path} answered success without a task id (data: {data!r:.200})",
            status=200,
        )
    return task_id
