"""AnyIntMusic: the client's lifecycle, and its public methods as thin calls into its parts."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, overload

from aiohttp import web

from . import _routes as routes
from . import _validate as check
from ._asgi import CallbackASGIApp
from ._callbacks import DEFAULT_MAX_BODY
from ._models import (
    ClientStats,
    CoverResult,
    LyricsResult,
    MusicResult,
    StemsResult,
    TaskEvent,
    TaskKind,
    Track,
    VideoResult,
    WavResult,
)
from ._parts import Parts
from ._polling import DEFAULT_CONCURRENCY
from ._receiver import DEFAULT_READ_TIMEOUT
from ._retry import RetryPolicy
from ._routes import Route
from ._settings import Settings
from ._tasks import Task
from .errors import BadRequestError, ClientStateError, SubmitUncertainError
from .stores import TaskStore

log = logging.getLogger("anyint_music")

R = TypeVar("R")
Args = tuple[Any, ...]
Kwargs = Mapping[str, Any]


class AnyIntMusic:
    """An asyncio client for AnyInt's AI Music routes with its own callback receiver.

    Use it as ``async with AnyIntMusic() as client:``; leaving the block stops the receiver and
    fails every still-pending wait with :class:`ReceiverClosedError`.

    Args:
        api_key: the AnyInt API key; default the ``ANYINT_API_KEY`` environment variable.
        base_url: the gateway; default ``ANYINT_BASE_URL``, else ``https://gateway.api.anyint.ai``.
        callback_host: the address the embedded receiver binds to.
        callback_port: its port; 0 picks a free one.
        public_url: the base URL at which the service can reach the receiver (a tunnel or load
            balancer); default ``ANYINT_PUBLIC_URL``, else the receiver's own address.
        timeout: default seconds to wait for a task's final result.
        poll_interval: the unit of the polling fallback, which reads a task's record when its
            final callback is late, so a lost callback costs time, not the result. While
            callbacks arrive, a task is polled only once it runs longer than its kind usually
            takes; while they do not, it is polled every ``poll_interval`` seconds from when
            its kind usually ends (README, "How the fallback decides when to poll"). ``None``
            turns this off (tasks re-attached with :meth:`task` are still polled, every 30 s).
            A poll refused for good (the task is unknown, the key is refused) ends the wait
            with that error.
        poll_concurrency: at most this many polls run at once. The default keeps thousands of
            late tasks each polled on time on a busy machine; rate answers from the gateway
            slow polls down either way.
        http_timeout: seconds allowed for one request to the gateway.
        max_callback_bytes: the largest callback body the receiver accepts.
        max_attempts: tries per request for transient failures other than rate answers
            (1 = no such retry). A submit is retried only when no task can have been created.
        retry_backoff: the first backoff in seconds; it doubles per failure, with full jitter.
        retry_max_time: total seconds one request may spend retrying, rate answers included
            (0 = never retry).
        retry: the three above (and the largest single backoff) as one
            :class:`RetryPolicy`, instead of them.
        rate_limit: ``(count, seconds)``: send at most ``count`` task-creating submits per
            ``seconds``. Off by default; upstream documents ``(20, 10.0)``. Rate answers from
            the gateway slow the client down either way.
        store: where tokens, task ids, stages and results are kept: ``MemoryStore()``
            (default) or ``SQLiteStore(path)`` to survive restarts.
        retention: seconds a finished task stays known, so late duplicate callbacks still get
            200 and ``task(task_id)`` returns its result without a request.
        max_task_age: an unfinished task older than this is given up (its wait fails with
            ``TaskTimeoutError``) so a long-lived process does not grow.
        receiver: run the embedded receiver. ``False`` when the app serves the callbacks itself
            through :meth:`callback_routes` (aiohttp) or :meth:`asgi_app` (FastAPI,
            Starlette); ``public_url`` is then required.
        ssl_context: serve the embedded receiver over TLS with this context.
        callback_socket: serve the embedded receiver on this Unix socket path instead of TCP
            (behind a local proxy; ``public_url`` is then required).
        callback_max_connections: the most connections the embedded receiver keeps open; at
            the cap a new one closes the longest-waiting one without a complete request.
            Default from the process's open-files limit (512 at 1024, at most 4096).
        callback_read_timeout: seconds a connection has for a request head, and again for its
            body (408), before the embedded receiver closes it.
        trusted_proxies: addresses or CIDR ranges of proxies whose ``X-Forwarded-For`` is
            believed when telling who sent a callback.
        allowed_ips: if set, accept callbacks only from these addresses or CIDR ranges (403
            otherwise). AnyInt publishes no sender addresses; use it with your own proxy.
        hmac_key: if set, every callback must carry a valid ``X-Webhook-Timestamp`` /
            ``X-Webhook-Signature`` pair (Base64 HMAC-SHA256 of ``"{task_id}.{timestamp}"``),
            for gateways that sign deliveries; others get 401.
        hmac_tolerance: seconds a signed timestamp may be away from now.
        on_event: called with every :class:`TaskEvent` the client accepts (each stage of
            each task, from callbacks or polls), e.g. to feed metrics. Exceptions it raises are
            logged and ignored.

    Raises:
        ConfigurationError: no API key, or a setting out of range.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        callback_host: str = "127.0.0.1",
        callback_port: int = 0,
        public_url: str | None = None,
        timeout: float = 900.0,
        poll_interval: float | None = 30.0,
        poll_concurrency: int = DEFAULT_CONCURRENCY,
        http_timeout: float = 60.0,
        max_callback_bytes: int = DEFAULT_MAX_BODY,
        max_attempts: int = 5,
        retry_backoff: float = 0.5,
        retry_max_time: float = 120.0,
        retry: RetryPolicy | None = None,
        rate_limit: tuple[int, float] | None = None,
        store: TaskStore | None = None,
        retention: float = 3600.0,
        max_task_age: float = 86_400.0,
        receiver: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        callback_socket: str | None = None,
        callback_max_connections: int | None = None,
        callback_read_timeout: float = DEFAULT_READ_TIMEOUT,
        trusted_proxies: Sequence[str] = (),
        allowed_ips: Sequence[str] | None = None,
        hmac_key: str | bytes | None = None,
        hmac_tolerance: float = 300.0,
        on_event: Callable[[TaskEvent], object] | None = None,
    ) -> None:
        # Every argument, by name: Settings.read checks each (and refuses a name it lacks).
        arguments = {name: value for name, value in locals().items() if name != "self"}
        self._parts = parts = Parts(Settings.read(**arguments))
        # The parts most often looked at, also from tests and debuggers.
        self._registry = parts.registry
        self._poller = parts.poller
        self._callbacks = parts.callbacks
        self._waits = parts.waits
        self._entered = False

    def __repr__(self) -> str:
        return (
            f"<AnyIntMusic base_url={self._parts.settings.base_url!r} "
            f"public_url={self.public_url!r} state={self._parts.state.value}>"
        )

    # --- lifecycle ---

    @property
    def public_url(self) -> str | None:
        """The base URL sent to the service for callbacks (``None`` until opened)."""
        return self._parts.public_url or self._parts.settings.public_url

    async def open(self) -> Self:
        """Start the HTTP session and the callback receiver. ``async with`` calls this.

        Calling it on an open client does nothing; two calls at once start it once. If it
        fails, whatever it had started is stopped again, and it may be called again.

        Raises:
            ClientClosedError: the client was already closed; make a new one.
        """
        await self._parts.open()
        return self

    async def aclose(self) -> None:
        """Stop the receiver and the session; fail pending waits with ReceiverClosedError.

        Safe to call more than once.
        """
        await self._parts.close()

    async def __aenter__(self) -> Self:
        if self._entered:
            raise ClientStateError(
                "this AnyIntMusic is already in an 'async with' block; entering it again would "
                "close it when the inner block ends. Use the client you have, or make another"
            )
        self._entered = True
        try:
            return await self.open()
        except BaseException:
            self._entered = False
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered = False
        await self.aclose()

    # --- the routes (declared in _routes; their arguments in _arguments) ---

    generate = routes.waiting(routes.GENERATE)
    submit_generate = routes.submitting(routes.GENERATE)
    extend = routes.waiting(routes.EXTEND)
    submit_extend = routes.submitting(routes.EXTEND)
    generate_lyrics = routes.waiting(routes.LYRICS)
    submit_lyrics = routes.submitting(routes.LYRICS)
    generate_cover = routes.waiting(routes.COVER)
    submit_cover = routes.submitting(routes.COVER)
    timestamped_lyrics = routes.asking(routes.TIMESTAMPED_LYRICS)
    style_generate = routes.asking(routes.STYLE)
    upload_cover = routes.waiting(routes.UPLOAD_COVER)
    submit_upload_cover = routes.submitting(routes.UPLOAD_COVER)
    upload_extend = routes.waiting(routes.UPLOAD_EXTEND)
    submit_upload_extend = routes.submitting(routes.UPLOAD_EXTEND)
    add_vocals = routes.waiting(routes.ADD_VOCALS)
    submit_add_vocals = routes.submitting(routes.ADD_VOCALS)
    add_instrumental = routes.waiting(routes.ADD_INSTRUMENTAL)
    submit_add_instrumental = routes.submitting(routes.ADD_INSTRUMENTAL)
    replace_section = routes.waiting(routes.REPLACE_SECTION)
    submit_replace_section = routes.submitting(routes.REPLACE_SECTION)
    vocal_removal = routes.waiting(routes.VOCAL_REMOVAL)
    submit_vocal_removal = routes.submitting(routes.VOCAL_REMOVAL)
    split_stem = routes.waiting(routes.SPLIT_STEM)
    submit_split_stem = routes.submitting(routes.SPLIT_STEM)
    wav_generate = routes.waiting(routes.WAV)
    submit_wav_generate = routes.submitting(routes.WAV)
    mp4_generate = routes.waiting(routes.VIDEO)
    submit_mp4_generate = routes.submitting(routes.VIDEO)
    generate_persona = routes.waiting(routes.PERSONA)

    async def _wait(self, route: Route[..., R], args: Args, kwargs: Kwargs) -> R:
        return await self._waits.run(
            lambda: self._create(route, args, kwargs), kwargs.get("timeout")
        )

    def _submit(self, route: Route[..., R], args: Args, kwargs: Kwargs) -> Awaitable[Task[R]]:
        # Not a coroutine of its own: the method made in _routes awaits what this returns.
        timeout = kwargs.get("timeout")
        if timeout is None:  # the usual call: no deadline to keep, nothing in between
            return self._create(route, args, kwargs)
        return self._waits.submit(lambda: self._create(route, args, kwargs), timeout)

    async def _create(self, route: Route[..., R], args: Args, kwargs: Kwargs) -> Task[R]:
        fields = route.fields(args, kwargs)  # checked before anything is sent
        self._parts.ensure_open()
        try:
            state = await self._parts.submitter.submit(route, fields)
        except BadRequestError as exc:
            existing = route.existing(exc) if route.existing is not None else None
            if existing is None or route.kind is None:
                raise
            log.info("%s: the task already exists as %s; attaching to it", route.path, existing)
            return self.task(existing, kind=route.kind)
        return self._waits.handle(state, kwargs.get("timeout"))

    async def _ask(self, route: Route[..., R], args: Args, kwargs: Kwargs) -> R:
        fields = route.fields(args, kwargs)
        self._parts.ensure_open()
        answer: R = await self._parts.submitter.ask(route, fields)
        return answer

    async def recover(
        self, error: SubmitUncertainError, *, timeout: float | None = None
    ) -> Task[Any]:
        """The task behind a submit whose answer was lost, once its first callback arrives.

        Args:
            error: the :class:`SubmitUncertainError` the submit raised.
            timeout: seconds to wait for a callback; default the client's ``timeout``.

        Returns:
            The task's handle, as the submit would have returned it.

        Raises:
            TaskTimeoutError: no callback came: most likely no task was created.
        """
        self._parts.ensure_open()
        return await self._waits.recover(error, timeout)

    def as_completed(
        self, tasks: Iterable[Task[R]], *, timeout: float | None = None
    ) -> AsyncIterator[Task[R]]:
        """Each task as it ends, done or failed, in the order they end::

            tasks = [await client.submit_generate(p, model="V5") for p in prompts]
            async for task in client.as_completed(tasks, timeout=600):
                try:
                    song = await task  # at once: the task has ended
                except TaskFailedError as exc:
                    ...  # one failure does not stop the others

        Args:
            tasks: the handles to follow (from ``submit_*``, ``task()`` or ``pending()``).
            timeout: seconds for all of them; default no limit beyond each task's own end
                (``max_task_age`` at the most, for a task whose result never comes).

        Raises:
            TaskTimeoutError: ``timeout`` ran out; ``.pending`` names the tasks still running
                (they may still finish).
        """
        self._parts.ensure_open()
        return self._waits.as_completed(tasks, timeout)

    async def pending(self) -> list[Task[Any]]:
        """Handles of every unfinished task this client (or its store) knows.

        After a restart with the same ``SQLiteStore``, this resumes every wait the old process
        had: callbacks the service retries are accepted, and the tasks are polled for what was
        missed meanwhile.
        """
        self._parts.ensure_open()
        return await self._waits.pending()

    @overload
    def task(
        self, task_id: str, *, kind: Literal[TaskKind.MUSIC, "music"] = ...
    ) -> Task[MusicResult]: ...

    @overload
    def task(
        self, task_id: str, *, kind: Literal[TaskKind.LYRICS, "lyrics"]
    ) -> Task[LyricsResult]: ...

    @overload
    def task(
        self, task_id: str, *, kind: Literal[TaskKind.COVER, "cover"]
    ) -> Task[CoverResult]: ...

    @overload
    def task(
        self, task_id: str, *, kind: Literal[TaskKind.STEMS, "stems"]
    ) -> Task[StemsResult]: ...

    @overload
    def task(self, task_id: str, *, kind: Literal[TaskKind.WAV, "wav"]) -> Task[WavResult]: ...

    @overload
    def task(
        self, task_id: str, *, kind: Literal[TaskKind.VIDEO, "video"]
    ) -> Task[VideoResult]: ...

    @overload
    def task(self, task_id: str, *, kind: TaskKind | str) -> Task[Any]: ...

    def task(self, task_id: str, *, kind: TaskKind | str = TaskKind.MUSIC) -> Task[Any]:
        """The handle of a task, by id.

        A task this client submitted is tracked by its callbacks. Any other task (submitted
        elsewhere, or before a restart) is watched by polling its record, first at once, then
        every ``poll_interval`` seconds (30 s when polling is off), less often once it runs
        much longer than tasks of its kind have.

        Args:
            task_id: the service's task id.
            kind: what the task makes, which decides the route that reads it: ``music``
                (every route that makes tracks), ``lyrics``, ``cover``, ``stems``
                (``vocal_removal``, ``split_stem``), ``wav`` or ``video``.
        """
        self._parts.ensure_open()
        return self._waits.task(task_id, kind)

    async def peek(
        self, task_id: str, *, kind: TaskKind | str = TaskKind.MUSIC
    ) -> TaskEvent | None:
        """The task's latest stage as its record shows it now: one request, no waiting.

        Returns:
            The :class:`TaskEvent` (``is_final`` when it ended, with its results), or ``None``
            while the task is still queued.
        """
        self._parts.ensure_open()
        chosen = self._waits.readable(task_id, kind)
        return await self._parts.fetch_record(chosen, task_id)

    # --- mounting and observing ---

    def callback_routes(self) -> list[web.RouteDef]:
        """The callback route, to serve callbacks from your own aiohttp application.

        ``app.add_routes(client.callback_routes())`` adds ``POST /anyint/callbacks/{token}``;
        use it with ``AnyIntMusic(receiver=False, public_url=<your app's public base>)``. The
        client must be open (``async with``) while the app serves.
        """
        return self._parts.receiver.routes()

    def asgi_app(self) -> CallbackASGIApp:
        """The callback route as an ASGI app, for FastAPI, Starlette or any ASGI server.

        Mount it at the root (it answers ``POST /anyint/callbacks/{token}``) or at
        ``/anyint/callbacks`` (it answers ``POST /{token}``), e.g.
        ``fastapi_app.mount("/anyint/callbacks", client.asgi_app())``; use it with
        ``AnyIntMusic(receiver=False, public_url=<your app's public base>)``.
        """
        return CallbackASGIApp(self._callbacks, self._parts.uploads, self._parts.probes)

    async def check_callbacks(self, *, timeout: float = 10.0) -> None:
        """Prove that the service can reach this client's receiver: send a probe through
        ``public_url`` to the receiver (embedded or mounted) and return when it arrives.

        The probe resolves no task, and its one-time path means nothing to anyone else.

        Raises:
            CallbackUnreachableError: the probe did not arrive; the message says why (refused,
                timed out, TLS, a 404 from an app that mounts the receiver elsewhere, an answer
                from another program) and what to do.
        """
        self._parts.ensure_open()
        assert self.public_url is not None
        await self._parts.probes.check(self.public_url, check.timeout(timeout))

    def stats(self) -> ClientStats:
        """Counts of what this client has done since it opened, for metrics and health checks."""
        return self._parts.stats()

    # --- files ---

    async def download(
        self,
        source: Track | str,
        dest: str | os.PathLike[str],
        *,
        progress: Callable[[int, int | None], None] | None = None,
        tag: bool = False,
        max_bytes: int | None = None,
    ) -> Path:
        """Save a result file (a track's MP3, a cover image) to disk.

        The service keeps result files for about two weeks: download what you want to keep.
        The file is streamed in chunks to ``NAME.<key>.part`` beside its destination (``key``
        is a short hash of the URL) and renamed into place only when complete, so nothing is
        ever half-written; an interrupted download of the same URL resumes from that partial
        file where the server allows it, else starts over.

        A folder destination names the file after the URL's last path segment, made into a
        plain name (no directory parts, ``..``, control characters, leading dots, reserved or
        over-long names), so the file always lands inside the folder. A file already there is
        never replaced by different bytes: the download takes the next free name
        (``song-2.mp3``); downloading the same bytes again returns the existing file.

        Args:
            source: a :class:`Track` (its ``audio_url``) or any result URL.
            dest: the file to write (replaced if it exists), or a folder: an existing
                directory, or a path ending in ``/`` (created if missing).
            progress: called as ``progress(bytes_done, bytes_total_or_None)`` per chunk.
            tag: when ``source`` is a :class:`Track`, write ID3 tags into the MP3 (title, style
                as genre, its artwork as cover, the lyrics). Needs the ``tags`` extra
                (``pip install 'anyint-music[tags]'``); without it the file is left untagged.
            max_bytes: the largest file to accept, checked against the announced size before
                anything is written and against the bytes as they stream in (a server may
                announce no size, or the wrong one); ``None`` (the default) for no limit.

        Returns:
            The path written.

        Raises:
            InvalidRequestError: no URL to download (e.g. a track still without ``audio_url``),
                or ``max_bytes`` is not a positive whole number.
            DownloadError: the file could not be fetched or written, or is larger than
                ``max_bytes``; no partial file is left for a refused file.
        """
        self._parts.ensure_open()
        return await self._parts.downloads.download(
            source, dest, progress=progress, tag=tag, max_bytes=max_bytes
        )
