"""AnyIntMusic: the client's lifecycle and one method per route."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, overload
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from . import _submitting as submitting
from . import _tags
from . import _validate as check
from ._asgi import CallbackASGIApp
from ._background import Background
from ._callbacks import DEFAULT_MAX_BODY, CallbackHandler, networks
from ._convert import WireFormatError, parse_record, structure, to_wire
from ._download import download_file
from ._http import Transport
from ._models import (
    ClientStats,
    CoverRequest,
    CoverResult,
    ExtendRequest,
    GenerateRequest,
    LyricsRequest,
    LyricsResult,
    Model,
    MusicResult,
    PersonaModel,
    StyleRequest,
    StyleResult,
    TaskEvent,
    TaskKind,
    TimestampedLyrics,
    TimestampedLyricsRequest,
    Track,
    VocalGender,
)
from ._polling import DEFAULT_CONCURRENCY, Poller
from ._receiver import DEFAULT_READ_TIMEOUT, CallbackReceiver
from ._registry import TaskRegistry
from ._retry import RetryPolicy
from ._submitting import Submitter
from ._tasks import Deadlines, Task, TaskState
from .errors import (
    BadRequestError,
    ClientClosedError,
    ClientStateError,
    ConfigurationError,
    InvalidRequestError,
    MalformedResponseError,
    SubmitUncertainError,
    TaskFailedError,
)
from .stores import MemoryStore, TaskStore

log = logging.getLogger("anyint_music")

DEFAULT_BASE_URL = "https://gateway.api.anyint.ai"

R = TypeVar("R")

_QUERY_PATHS = {
    TaskKind.MUSIC: "/suno/query/task",
    TaskKind.LYRICS: "/suno/query/lyrics",
    TaskKind.COVER: "/suno/query/cover",
}


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


def _guarded(hook: Callable[[TaskEvent], object]) -> Callable[[TaskEvent], None]:
    def call(event: TaskEvent) -> None:
        try:
            hook(event)
        except Exception:
            log.exception("the on_event hook raised; the event was handled anyway")

    return call


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
        poll_interval: when a task's final callback has not come this many seconds after the
            submit, its record is polled (then at growing intervals) until it ends, so a lost
            callback costs time, not the result. ``None`` turns this off (tasks re-attached with
            :meth:`task` are still polled, every 30 s). A poll refused for good (the task is
            unknown, the key is refused) ends the wait with that error.
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
        key = api_key if api_key is not None else os.environ.get("ANYINT_API_KEY")
        if not key:
            raise ConfigurationError(
                "no API key: pass AnyIntMusic(api_key=...) or set ANYINT_API_KEY. To try the SDK "
                "without one, run the simulator: anyint_music.testing.FakeGateway"
            )
        for name, value in (("timeout", timeout), ("http_timeout", http_timeout)):
            if not value > 0:
                raise ConfigurationError(
                    f"{name} must be a positive number of seconds, got {value!r}"
                )
        if not (isinstance(max_attempts, int) and max_attempts >= 1):
            raise ConfigurationError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        if not retry_backoff >= 0 or not retry_max_time >= 0:
            raise ConfigurationError("retry_backoff and retry_max_time must not be negative")
        if rate_limit is not None and not (
            len(rate_limit) == 2 and int(rate_limit[0]) >= 1 and float(rate_limit[1]) > 0
        ):
            raise ConfigurationError(
                f"rate_limit must be (count >= 1, seconds > 0), e.g. (20, 10.0); got {rate_limit!r}"
            )
        if poll_interval is not None and not poll_interval > 0:
            raise ConfigurationError(
                f"poll_interval must be positive or None, got {poll_interval!r}"
            )
        if not (isinstance(poll_concurrency, int) and poll_concurrency >= 1):
            raise ConfigurationError(
                f"poll_concurrency must be an integer >= 1, got {poll_concurrency!r}"
            )
        self._base_url = (base_url or os.environ.get("ANYINT_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        self._public_url_setting = public_url or os.environ.get("ANYINT_PUBLIC_URL")
        for name, url in (("base_url", self._base_url), ("public_url", self._public_url_setting)):
            if url is not None and not _is_http_url(url):
                raise ConfigurationError(
                    f"{name}={url!r} is not an http(s) URL with a host, e.g. https://example.com"
                )
        self._timeout = float(timeout)
        self._poll_interval = poll_interval
        self._transport = Transport(
            api_key=key,
            base_url=self._base_url,
            timeout=http_timeout,
            retry=RetryPolicy(
                max_attempts=max_attempts,
                backoff=retry_backoff,
                max_backoff=max(30.0, retry_backoff),
                max_time=retry_max_time,
            ),
            rate_limit=rate_limit,
        )
        for name, value in (("retention", retention), ("max_task_age", max_task_age)):
            if not value > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        self._store: TaskStore = store if store is not None else MemoryStore()
        self._registry = TaskRegistry(self._store, retention=retention, max_task_age=max_task_age)
        self._background = Background()
        self._deadlines = Deadlines()
        self._files: aiohttp.ClientSession | None = None
        # Tasks of other processes can only be polled, so re-attaching polls even when off.
        self._poller = Poller(
            self._registry,
            self._fetch_record,
            interval=poll_interval or 30.0,
            concurrency=poll_concurrency,
        )
        self._registry.unwatch = self._poller.unschedule
        if poll_interval is not None:
            self._registry.watch = self._poller.schedule
        else:
            self._registry.watch = self._watch_attached_only
        if (not receiver or callback_socket is not None) and not self._public_url_setting:
            raise ConfigurationError(
                "public_url is required when the receiver is mounted in your own app or "
                "served on a Unix socket: the address at which the service reaches it"
            )
        if not hmac_tolerance > 0:
            raise ConfigurationError("hmac_tolerance must be a positive number of seconds")
        self._callbacks = CallbackHandler(
            self._registry,
            max_body=max_callback_bytes,
            trusted_proxies=networks(trusted_proxies, "trusted_proxies") or (),
            allowed_ips=networks(allowed_ips, "allowed_ips"),
            hmac_key=hmac_key.encode() if isinstance(hmac_key, str) else hmac_key,
            hmac_tolerance=hmac_tolerance,
        )
        self._receiver = CallbackReceiver(
            self._callbacks,
            host=callback_host,
            port=callback_port,
            ssl_context=ssl_context,
            unix_socket=callback_socket,
            max_connections=callback_max_connections,
            read_timeout=callback_read_timeout,
        )
        self._embedded = receiver
        self._registry.on_event = _guarded(on_event) if on_event is not None else None
        self._public_url: str | None = None
        self._state = _State.UNOPENED
        self._submitter = Submitter(
            self._registry, self._transport, is_open=lambda: self._state is _State.OPEN
        )
        self._opening = asyncio.Lock()
        self._entered = False

    def __repr__(self) -> str:
        return (
            f"<AnyIntMusic base_url={self._base_url!r} public_url={self.public_url!r} "
            f"state={self._state.value}>"
        )

    def _watch_attached_only(self, state: TaskState, delay: float | None) -> None:
        if delay is not None:
            self._poller.schedule(state, delay)

    # --- lifecycle ---

    @property
    def public_url(self) -> str | None:
        """The base URL sent to the service for callbacks (``None`` until opened)."""
        return self._public_url or self._public_url_setting

    async def open(self) -> Self:
        """Start the HTTP session and the callback receiver. ``async with`` calls this.

        Calling it on an open client does nothing; two calls at once start it once. If it
        fails, whatever it had started is stopped again, and it may be called again.

        Raises:
            ClientClosedError: the client was already closed; make a new one.
        """
        async with self._opening:
            if self._state is _State.OPEN:
                return self
            if self._state is _State.CLOSED:
                raise ClientClosedError("this AnyIntMusic was closed; create a new client")
            async with contextlib.AsyncExitStack() as undo:
                await self._start(undo)
                if self._closed():  # aclose() came while it started
                    raise ClientClosedError("the client was closed while it opened")
                undo.pop_all()  # started: nothing to undo
            self._state = _State.OPEN
            return self

    async def _start(self, undo: contextlib.AsyncExitStack) -> None:
        await self._store.open()
        undo.push_async_callback(self._store.close)
        await self._transport.open()
        undo.push_async_callback(self._transport.close)
        local_url = await self._receiver.start() if self._embedded else None
        undo.push_async_callback(self._receiver.stop)
        assert local_url is not None or self._public_url_setting is not None
        self._public_url = (self._public_url_setting or local_url or "").rstrip("/")
        self._submitter.public_url = self._public_url
        unreachable = self._public_url_setting is None and not _is_loopback(self._base_url)
        if unreachable and self._poll_interval is None:
            raise ConfigurationError(
                f"{self._base_url} cannot reach the receiver at {local_url}, and polling is "
                "off (poll_interval=None), so no result could ever arrive: set public_url "
                "(or ANYINT_PUBLIC_URL) to an address the service can call, or turn polling on"
            )
        self._poller.start()
        undo.push_async_callback(self._poller.stop)
        self._background.supervise("housekeeper", self._housekeeping)
        self._background.supervise(
            "store listener",
            lambda: self._store.listen(self._registry.remote, self._registry.resync),
        )
        undo.push_async_callback(self._background.aclose)
        if unreachable:
            log.warning(
                "the receiver listens on %s, which %s cannot reach; set public_url (or "
                "ANYINT_PUBLIC_URL) to an address the service can call, e.g. a tunnel. Until then "
                "results arrive only through polling.",
                local_url,
                self._base_url,
            )

    async def aclose(self) -> None:
        """Stop the receiver and the session; fail pending waits with ReceiverClosedError.

        Safe to call more than once.
        """
        if self._state is _State.CLOSED:
            return
        was_open = self._state is _State.OPEN
        self._state = _State.CLOSED
        if not was_open:
            return
        try:
            # Stop accepting first; in-flight callback handlers finish and are stored.
            await self._receiver.stop()
        finally:
            await self._background.aclose()
            await self._poller.stop()
            self._registry.close()
            await self._registry.background.aclose()
            await self._transport.close()
            if self._files is not None:
                await self._files.close()
                self._files = None
            await self._store.close()

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

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(60.0)
            self._registry.prune()
            try:
                await self._registry.prune_store()
            except Exception as exc:  # a failed clean-up is retried next round
                log.warning("pruning the task store failed: %s", exc)

    def _closed(self) -> bool:
        return self._state is _State.CLOSED

    def _ensure_open(self) -> None:
        if self._state is _State.UNOPENED:
            raise ClientClosedError(
                "the client is not open: use 'async with AnyIntMusic() as client:' "
                "or 'await client.open()'"
            )
        if self._state is _State.CLOSED:
            raise ClientClosedError("the client is closed; create a new AnyIntMusic")

    # --- the task-creating routes ---

    async def _submit(self, kind: TaskKind, path: str, build: Callable[[str], Any]) -> Task[Any]:
        self._ensure_open()
        return self._handle(await self._submitter.submit(kind, path, build))

    async def _run(self, submit: Awaitable[Task[R]], limit: float | None) -> R:
        """Submit, then wait, within one deadline (the client's ``timeout`` by default).

        The submit itself keeps the deadline (see ``_submitting``), so that what the caller gets
        when it falls says what happened: nothing sent, a refusal, or a task that may exist.
        """
        with submitting.deadline(self._timeout if limit is None else limit) as at:
            task = await submit
        return await task.wait(timeout=max(at - asyncio.get_running_loop().time(), 0.0))

    def _handle(self, state: TaskState) -> Task[Any]:
        return Task(state, timeout=self._timeout, deadlines=self._deadlines)

    async def submit_generate(
        self,
        prompt: str | None = None,
        *,
        model: Model | str,
        instrumental: bool = False,
        custom_mode: bool = False,
        style: str | None = None,
        title: str | None = None,
        persona_id: str | None = None,
        persona_model: PersonaModel | str | None = None,
        negative_tags: str | None = None,
        vocal_gender: VocalGender | str | None = None,
        style_weight: float | None = None,
        weirdness_constraint: float | None = None,
        audio_weight: float | None = None,
    ) -> Task[MusicResult]:
        """Create a song task and return its handle without waiting. See :meth:`generate`."""
        chosen = check.model(model)
        check.boolean(custom_mode, "custom_mode")
        check.boolean(instrumental, "instrumental")
        check.generate(
            prompt=prompt,
            model=chosen,
            custom_mode=custom_mode,
            instrumental=instrumental,
            style=style,
            title=title,
            persona_id=persona_id,
        )
        options = check.shared_options(
            persona_model=persona_model,
            vocal_gender=vocal_gender,
            style_weight=style_weight,
            weirdness_constraint=weirdness_constraint,
            audio_weight=audio_weight,
            negative_tags=negative_tags,
        )
        return await self._submit(
            TaskKind.MUSIC,
            "/suno/generate",
            lambda url: GenerateRequest(
                custom_mode=custom_mode,
                instrumental=instrumental,
                model=chosen,
                call_back_url=url,
                prompt=prompt,
                style=style,
                title=title,
                persona_id=persona_id,
                **options,
            ),
        )

    async def generate(
        self,
        prompt: str | None = None,
        *,
        model: Model | str,
        instrumental: bool = False,
        custom_mode: bool = False,
        style: str | None = None,
        title: str | None = None,
        persona_id: str | None = None,
        persona_model: PersonaModel | str | None = None,
        negative_tags: str | None = None,
        vocal_gender: VocalGender | str | None = None,
        style_weight: float | None = None,
        weirdness_constraint: float | None = None,
        audio_weight: float | None = None,
        timeout: float | None = None,
    ) -> MusicResult:
        """Make a song (two tracks) and wait until both are finished.

        Simple mode (default): ``prompt`` describes the song (at most 500 characters) and the
        service writes the lyrics. Custom mode (``custom_mode=True``): ``style`` and ``title``
        are required and ``prompt`` is sung verbatim as the lyrics (not needed when
        ``instrumental=True``); limits per model: prompt 3000 (V4) / 5000, style 200 (V4) /
        1000, title 80 (V4, V4_5ALL) / 100.

        Args:
            prompt: the description (simple mode) or the lyrics (custom mode).
            model: a :class:`Model` or its name, e.g. ``Model.V5`` or ``"V5"``.
            instrumental: no vocals.
            custom_mode: use ``style``, ``title`` and ``prompt`` as given.
            style: style tags (custom mode).
            title: song title (custom mode).
            persona_id: a saved voice identity (custom mode).
            persona_model: which kind ``persona_id`` is.
            negative_tags: styles to avoid.
            vocal_gender: ``"m"`` or ``"f"``.
            style_weight: 0..1.
            weirdness_constraint: 0..1.
            audio_weight: 0..1.
            timeout: seconds to wait; default the client's.

        Returns:
            The finished :class:`MusicResult`.

        Raises:
            InvalidRequestError: an argument breaks a documented rule (nothing was sent).
            APIError: the gateway refused the request (a subclass says why).
            TaskFailedError: the service reported that generation failed.
            TaskTimeoutError: no result within ``timeout``.
        """
        limit = _timeout(timeout)
        return await self._run(
            self.submit_generate(
                prompt,
                model=model,
                instrumental=instrumental,
                custom_mode=custom_mode,
                style=style,
                title=title,
                persona_id=persona_id,
                persona_model=persona_model,
                negative_tags=negative_tags,
                vocal_gender=vocal_gender,
                style_weight=style_weight,
                weirdness_constraint=weirdness_constraint,
                audio_weight=audio_weight,
            ),
            limit,
        )

    async def submit_extend(
        self,
        audio_id: str,
        *,
        model: Model | str,
        default_param_flag: bool = False,
        continue_at: float | None = None,
        prompt: str | None = None,
        style: str | None = None,
        title: str | None = None,
        persona_id: str | None = None,
        persona_model: PersonaModel | str | None = None,
        negative_tags: str | None = None,
        vocal_gender: VocalGender | str | None = None,
        style_weight: float | None = None,
        weirdness_constraint: float | None = None,
        audio_weight: float | None = None,
    ) -> Task[MusicResult]:
        """Create an extension task and return its handle without waiting. See :meth:`extend`."""
        chosen = check.model(model)
        check.boolean(default_param_flag, "default_param_flag")
        at = check.extend(
            audio_id=audio_id,
            model=chosen,
            default_param_flag=default_param_flag,
            prompt=prompt,
            style=style,
            title=title,
            continue_at=continue_at,
            persona_id=persona_id,
        )
        options = check.shared_options(
            persona_model=persona_model,
            vocal_gender=vocal_gender,
            style_weight=style_weight,
            weirdness_constraint=weirdness_constraint,
            audio_weight=audio_weight,
            negative_tags=negative_tags,
        )
        return await self._submit(
            TaskKind.MUSIC,
            "/suno/extend",
            lambda url: ExtendRequest(
                audio_id=audio_id,
                default_param_flag=default_param_flag,
                model=chosen,
                call_back_url=url,
                prompt=prompt,
                style=style,
                title=title,
                continue_at=at,
                persona_id=persona_id,
                **options,
            ),
        )

    async def extend(
        self,
        audio_id: str,
        *,
        model: Model | str,
        default_param_flag: bool = False,
        continue_at: float | None = None,
        prompt: str | None = None,
        style: str | None = None,
        title: str | None = None,
        persona_id: str | None = None,
        persona_model: PersonaModel | str | None = None,
        negative_tags: str | None = None,
        vocal_gender: VocalGender | str | None = None,
        style_weight: float | None = None,
        weirdness_constraint: float | None = None,
        audio_weight: float | None = None,
        timeout: float | None = None,
    ) -> MusicResult:
        """Continue a track and wait for the extended song.

        With ``default_param_flag=False`` (default) everything is inherited from the source
        track. With ``True``, ``prompt`` (lyrics), ``style``, ``title`` and ``continue_at`` (the
        second to continue from, less than the track's duration) are required, with the same
        per-model limits as :meth:`generate`. ``model`` must match the source track's model.

        Returns:
            The finished :class:`MusicResult`.

        Raises:
            InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
            :meth:`generate`.
        """
        limit = _timeout(timeout)
        return await self._run(
            self.submit_extend(
                audio_id,
                model=model,
                default_param_flag=default_param_flag,
                continue_at=continue_at,
                prompt=prompt,
                style=style,
                title=title,
                persona_id=persona_id,
                persona_model=persona_model,
                negative_tags=negative_tags,
                vocal_gender=vocal_gender,
                style_weight=style_weight,
                weirdness_constraint=weirdness_constraint,
                audio_weight=audio_weight,
            ),
            limit,
        )

    async def submit_lyrics(self, prompt: str) -> Task[LyricsResult]:
        """Create a lyrics task and return its handle. See :meth:`generate_lyrics`."""
        text = check.lyrics_prompt(prompt)
        return await self._submit(
            TaskKind.LYRICS, "/suno/generate-lyrics", lambda url: LyricsRequest(text, url)
        )

    async def generate_lyrics(self, prompt: str, *, timeout: float | None = None) -> LyricsResult:
        """Write lyrics (several variants) from a description of at most 200 words.

        Returns:
            The :class:`LyricsResult`; pick a variant and pass its ``text`` as the ``prompt`` of
            ``generate(custom_mode=True, ...)``.

        Raises:
            InvalidRequestError, APIError, TaskTimeoutError: as for :meth:`generate`.
            TaskFailedError: the prompt was rejected, or no variant succeeded.
        """
        limit = _timeout(timeout)
        return await self._run(
            self.submit_lyrics(prompt),
            limit,
        )

    async def submit_cover(self, task_id: str) -> Task[CoverResult]:
        """Create a cover-art task for a finished music task. See :meth:`generate_cover`.

        The service makes one cover per music task: asking again returns the handle of the
        existing cover task (watched by polling when this client did not submit it).
        """
        music_task = check.required_text(task_id, "task_id", "the id of a finished music task")
        try:
            return await self._submit(
                TaskKind.COVER, "/suno/generate-cover", lambda url: CoverRequest(music_task, url)
            )
        except BadRequestError as exc:
            existing = exc.data.get("taskId") if isinstance(exc.data, Mapping) else None
            if not isinstance(existing, str) or not existing:
                raise
            log.info("task %s already has cover task %s; attaching to it", music_task, existing)
            return self.task(existing, kind=TaskKind.COVER)

    async def generate_cover(self, task_id: str, *, timeout: float | None = None) -> CoverResult:
        """Make cover art (usually two images) for a finished music task and wait for it.

        Raises:
            InvalidRequestError, APIError, TaskFailedError, TaskTimeoutError: as for
            :meth:`generate`.
        """
        limit = _timeout(timeout)
        return await self._run(
            self.submit_cover(task_id),
            limit,
        )

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
        self._ensure_open()
        if error.token is None:
            raise InvalidRequestError("this error did not come from this client's submit")
        limit = self._timeout if timeout is None else check.timeout(timeout)
        state = await self._registry.claim(error.token, limit)
        return self._handle(state)

    async def pending(self) -> list[Task[Any]]:
        """Handles of every unfinished task this client (or its store) knows.

        After a restart with the same ``SQLiteStore``, this resumes every wait the old process
        had: callbacks the service retries are accepted, and the tasks are polled for what was
        missed meanwhile.
        """
        self._ensure_open()
        return [self._handle(state) for state in await self._registry.pending()]

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
    def task(self, task_id: str, *, kind: TaskKind | str) -> Task[Any]: ...

    def task(self, task_id: str, *, kind: TaskKind | str = TaskKind.MUSIC) -> Task[Any]:
        """The handle of a task, by id.

        A task this client submitted is tracked by its callbacks. Any other task (submitted
        elsewhere, or before a restart) is watched by polling its record, first at once, then
        every ``poll_interval`` seconds (30 s when polling is off), growing slowly.

        Args:
            task_id: the service's task id.
            kind: what the task makes (music, lyrics or cover), which decides the query route.
        """
        self._ensure_open()
        check.required_text(task_id, "task_id")
        chosen = check.enum_value(TaskKind, kind, "kind")
        state = self._registry.get_task(task_id) or self._registry.attach(task_id, chosen)
        return self._handle(state)

    async def _fetch_record(self, kind: TaskKind, task_id: str) -> TaskEvent | None:
        path = _QUERY_PATHS[kind]
        data = await self._transport.request("GET", path, params={"taskId": task_id})
        try:
            event = parse_record(kind, data)
        except WireFormatError as exc:
            raise MalformedResponseError(f"{path}: {exc}", status=200) from exc
        if event is not None and not event.task_id:
            event = TaskEvent(
                task_id,
                event.kind,
                event.stage,
                event.code,
                event.message,
                event.tracks,
                event.variants,
                event.images,
            )
        return event

    # --- mounting and observing ---

    def callback_routes(self) -> list[web.RouteDef]:
        """The callback route, to serve callbacks from your own aiohttp application.

        ``app.add_routes(client.callback_routes())`` adds ``POST /anyint/callbacks/{token}``;
        use it with ``AnyIntMusic(receiver=False, public_url=<your app's public base>)``. The
        client must be open (``async with``) while the app serves.
        """
        return self._receiver.routes()

    def asgi_app(self) -> CallbackASGIApp:
        """The callback route as an ASGI app, for FastAPI, Starlette or any ASGI server.

        Mount it at the root (it answers ``POST /anyint/callbacks/{token}``) or at
        ``/anyint/callbacks`` (it answers ``POST /{token}``), e.g.
        ``fastapi_app.mount("/anyint/callbacks", client.asgi_app())``; use it with
        ``AnyIntMusic(receiver=False, public_url=<your app's public base>)``.
        """
        return CallbackASGIApp(self._callbacks)

    def stats(self) -> ClientStats:
        """Counts of what this client has done since it opened, for metrics and health checks."""
        registry = self._registry
        return ClientStats(
            pending=registry.pending_count(),
            completed=registry.completed,
            failed=registry.failed,
            duplicates=registry.duplicates,
            callbacks=self._callbacks.stats.received,
            callbacks_refused=self._callbacks.stats.refused,
            polls=self._poller.polls,
            retries=self._transport.retries,
        )

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
        self._ensure_open()
        url = source.audio_url if isinstance(source, Track) else source
        if not isinstance(url, str) or not _is_http_url(url):
            raise InvalidRequestError(f"nothing to download: {url!r} is not an http(s) URL")
        if max_bytes is not None and (
            isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1
        ):
            raise InvalidRequestError(
                f"max_bytes must be a positive whole number of bytes or None, not {max_bytes!r}",
                field="max_bytes",
            )
        if self._files is None:
            # Result files live on other hosts: this session carries no API key.
            self._files = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_read=60))
        path = await download_file(self._files, url, dest, progress=progress, max_bytes=max_bytes)
        if tag and isinstance(source, Track):
            await _tags.tag_download(self._files, path, source)
        return path

    # --- the synchronous routes ---

    async def timestamped_lyrics(self, task_id: str, audio_id: str) -> TimestampedLyrics:
        """Word-level timings of a track's lyrics (empty for instrumentals).

        Args:
            task_id: the generate or extend task that made the track.
            audio_id: the track's ``id``.

        Returns:
            :class:`TimestampedLyrics`; ``to_lrc()``, ``to_srt()`` and ``to_vtt()`` write files.

        Raises:
            InvalidRequestError: an id is missing.
            APIError: the gateway refused (e.g. the ids do not belong together).
        """
        self._ensure_open()
        request = TimestampedLyricsRequest(
            check.required_text(task_id, "task_id"), check.required_text(audio_id, "audio_id")
        )
        data = await self._transport.request(
            "POST", "/suno/timestamped-lyrics", json_body=to_wire(request)
        )
        return _read(data or {}, TimestampedLyrics, "/suno/timestamped-lyrics")

    async def style_generate(self, content: str) -> StyleResult:
        """Turn a rough style hint into a richer style description.

        Returns:
            :class:`StyleResult`; ``.text`` is ready for ``generate(style=...)``.

        Raises:
            InvalidRequestError: ``content`` is empty.
            APIError: the gateway refused.
            TaskFailedError: the service answered that the boost failed.
        """
        self._ensure_open()
        request = StyleRequest(check.required_text(content, "content", "a short style hint"))
        data = await self._transport.request(
            "POST", "/suno/style-generate", json_body=to_wire(request)
        )
        if isinstance(data, Mapping) and str(data.get("successFlag", "1")) == "2":
            raise TaskFailedError(
                str(data.get("taskId") or ""),
                _int_or_none(data.get("errorCode")),
                str(data.get("errorMessage") or "style boost failed"),
            )
        return _read(data, StyleResult, "/suno/style-generate")


def _timeout(value: float | None) -> float | None:
    return None if value is None else check.timeout(value)


def _read(data: Any, cls: type[R], path: str) -> R:
    try:
        return structure(data, cls)
    except WireFormatError as exc:
        raise MalformedResponseError(f"{path} answered a body that is {exc}", status=200) from exc


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
