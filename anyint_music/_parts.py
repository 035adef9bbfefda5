"""The working parts of one client, built from its settings and started and stopped together.

Store, transport, registry, poller, callback handler and receiver, submitter, downloads and the
background tasks that keep them: the client's public methods are thin calls into these.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable

import attrs

from ._background import Background
from ._callbacks import CallbackHandler, networks
from ._convert import WireFormatError
from ._files import Downloads
from ._http import Transport
from ._kinds import KINDS, parse_record
from ._models import ClientStats, TaskEvent, TaskKind
from ._polling import Poller
from ._probe import Probes
from ._receiver import CallbackReceiver
from ._registry import TaskRegistry
from ._settings import Settings, is_loopback
from ._submitting import Submitter
from ._tasks import TaskState
from ._uploads import Uploads
from ._waiting import Waits
from .errors import ClientClosedError, ConfigurationError, MalformedResponseError
from .stores import MemoryStore, TaskStore

log = logging.getLogger("anyint_music")

# How often finished tasks are pruned from memory and from the store.
HOUSEKEEPING_INTERVAL = 60.0


def _guarded(hook: Callable[[TaskEvent], object]) -> Callable[[TaskEvent], None]:
    def call(event: TaskEvent) -> None:
        try:
            hook(event)
        except Exception:
            log.exception("the on_event hook raised; the event was handled anyway")

    return call


class State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


# Read off the Enum class, a member costs a descriptor call: every submit checks the state.
_OPEN = State.OPEN


class Parts:
    """The parts of one client, and whether they run (``state``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = s = settings
        self.state = State.UNOPENED
        self._opening = asyncio.Lock()
        self.store: TaskStore = s.store if s.store is not None else MemoryStore()
        self.registry = TaskRegistry(self.store, retention=s.retention, max_task_age=s.max_task_age)
        self.registry.on_event = _guarded(s.on_event) if s.on_event is not None else None
        self.transport = Transport(
            api_key=s.api_key,
            base_url=s.base_url,
            timeout=s.http_timeout,
            retry=s.retry,
            rate_limit=s.rate_limit,
        )
        self.background = Background()
        self.downloads = Downloads()
        self.uploads = Uploads()
        self.probes = Probes()
        # Tasks of other processes can only be polled, so re-attaching polls even when off.
        self.poller = Poller(
            self.registry,
            self.fetch_record,
            interval=s.poll_interval or 30.0,
            concurrency=s.poll_concurrency,
        )
        self.registry.unwatch = self.poller.unschedule
        self.registry.watch = self._watch
        self.callbacks = CallbackHandler(
            self.registry,
            max_body=s.max_callback_bytes,
            trusted_proxies=networks(s.trusted_proxies, "trusted_proxies") or (),
            allowed_ips=networks(s.allowed_ips, "allowed_ips"),
            hmac_key=s.hmac_key,
            hmac_tolerance=s.hmac_tolerance,
        )
        self.receiver = CallbackReceiver(
            self.callbacks,
            host=s.callback_host,
            port=s.callback_port,
            ssl_context=s.ssl_context,
            unix_socket=s.callback_socket,
            max_connections=s.callback_max_connections,
            read_timeout=s.callback_read_timeout,
            uploads=self.uploads,
            probes=self.probes,
        )
        self.waits = Waits(self.registry, timeout=s.timeout)
        self.submitter = Submitter(
            self.registry,
            self.transport,
            self.uploads,
            is_open=lambda: self.state is _OPEN,
            share_for=s.timeout,
        )
        self.public_url: str | None = None

    def ensure_open(self) -> None:
        """Raise ``ClientClosedError`` unless the client is open."""
        if self.state is _OPEN:
            return
        if self.state is State.UNOPENED:
            raise ClientClosedError(
                "the client is not open: use 'async with AnyIntMusic() as client:' "
                "or 'await client.open()'"
            )
        if self.state is State.CLOSED:
            raise ClientClosedError("the client is closed; create a new AnyIntMusic")

    async def open(self) -> None:
        """Start every part once; undo what started if a part fails (see ``AnyIntMusic.open``)."""
        async with self._opening:
            if self.state is State.OPEN:
                return
            if self.state is State.CLOSED:
                raise ClientClosedError("this AnyIntMusic was closed; create a new client")
            async with contextlib.AsyncExitStack() as undo:
                await self._start(undo)
                if self.closed():  # close() came while it started
                    raise ClientClosedError("the client was closed while it opened")
                undo.pop_all()  # started: nothing to undo
            self.state = State.OPEN

    def closed(self) -> bool:
        return self.state is State.CLOSED

    async def close(self) -> None:
        """Stop every part; pending waits fail with ``ReceiverClosedError``. Idempotent."""
        was_open = self.state is State.OPEN
        self.state = State.CLOSED
        if was_open:
            await self._stop()

    def _watch(self, state: TaskState, delay: float | None) -> None:
        # A task of a kind no route reads back ends by its callback only; with polling off,
        # only re-attached tasks (a delay given) are polled.
        if KINDS[state.kind].query is None:
            return
        if delay is not None or self.settings.poll_interval is not None:
            self.poller.schedule(state, delay)

    async def _start(self, undo: contextlib.AsyncExitStack) -> None:
        s = self.settings
        await self.store.open()
        undo.push_async_callback(self.store.close)
        await self.transport.open()
        undo.push_async_callback(self.transport.close)
        local_url = await self.receiver.start() if s.receiver else None
        undo.push_async_callback(self.receiver.stop)
        assert local_url is not None or s.public_url is not None
        self.public_url = (s.public_url or local_url or "").rstrip("/")
        self.submitter.public_url = self.public_url
        unreachable = s.public_url is None and not is_loopback(s.base_url)
        self.submitter.reachable = not unreachable
        if unreachable and s.poll_interval is None:
            raise ConfigurationError(
                f"{s.base_url} cannot reach the receiver at {local_url}, and polling is "
                "off (poll_interval=None), so no result could ever arrive: set public_url "
                "(or ANYINT_PUBLIC_URL) to an address the service can call, or turn polling on"
            )
        self.poller.start()
        undo.push_async_callback(self.poller.stop)
        self.background.supervise("housekeeper", self._housekeeping)
        self.background.supervise(
            "store listener",
            lambda: self.store.listen(self.registry.remote, self.registry.resync),
        )
        undo.push_async_callback(self.background.aclose)
        if unreachable:
            log.warning(
                "the receiver listens on %s, which %s cannot reach; set public_url (or "
                "ANYINT_PUBLIC_URL) to an address the service can call, e.g. a tunnel. Until then "
                "results arrive only through polling.",
                local_url,
                s.base_url,
            )

    async def _stop(self) -> None:
        try:
            # Stop accepting first; in-flight callback handlers finish and are stored.
            await self.receiver.stop()
        finally:
            await self.background.aclose()
            await self.poller.stop()
            self.registry.close()
            await self.registry.background.aclose()
            await self.transport.close()
            await self.downloads.close()
            self.uploads.close()
            await self.store.close()

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            self.registry.prune()
            try:
                await self.registry.prune_store()
            except Exception as exc:  # a failed clean-up is retried next round
                log.warning("pruning the task store failed: %s", exc)

    async def fetch_record(self, kind: TaskKind, task_id: str) -> TaskEvent | None:
        """What a task's record shows now (``None``: nothing new), read through its query."""
        path = KINDS[kind].query
        if path is None:
            return None  # a kind no route reads back: only its callback can end it
        data = await self.transport.request("GET", path, params={"taskId": task_id})
        try:
            event = parse_record(kind, data)
        except WireFormatError as exc:
            raise MalformedResponseError(f"{path}: {exc}", status=200) from exc
        if event is not None and not event.task_id:
            event = attrs.evolve(event, task_id=task_id)
        return event

    def stats(self) -> ClientStats:
        """Counts of what this client has done since it opened."""
        registry = self.registry
        return ClientStats(
            pending=registry.pending_count(),
            completed=registry.completed,
            failed=registry.failed,
            duplicates=registry.duplicates,
            callbacks=self.callbacks.stats.received,
            callbacks_refused=self.callbacks.stats.refused,
            polls=self.poller.polls,
            retries=self.transport.retries,
        )
