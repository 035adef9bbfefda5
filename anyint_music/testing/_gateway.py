"""`FakeGateway`: a local simulator of AnyInt's AI Music (``/suno/*``) routes.

It speaks only the wire format of ``PROTOCOL.md`` (it never imports the SDK), serves real HTTP on
127.0.0.1 and really POSTs callbacks to each request's ``callBackUrl``, with the documented
stages, retries and duplicates. Knobs select the documented variants (unwrapped callbacks, kie.ai
spelling, HTTP-status errors) and inject failures; ``chaos=Chaos(...)`` adds a seeded storm of
them, ``rate_limit`` caps task-creating submits and ``drop_submit_answer`` loses answers.

    async with FakeGateway() as gw:
        client = AnyIntMusic(api_key=gw.api_key, base_url=gw.url)
        ...
        await gw.wait_idle()
        assert gw.callbacks[-1].stage == "complete"
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from . import _sim_answers as answers
from . import _sim_bodies as bodies
from . import _sim_content as content
from ._sim_answers import LostAnswer, LostMode, SubmitFailure
from ._sim_chaos import Chaos, Dice, TaskChaos
from ._sim_delivery import deliver
from ._sim_rate import RateWindow, check_rate_limit
from ._sim_records import DeliveredCallback, RecordedRequest, SimTask, TaskKind
from ._sim_stats import Counters, GatewayStats
from ._sim_validate import Refusal
from ._sim_world import TaskFailure, TaskState, World

__all__ = [
    "Chaos",
    "DeliveredCallback",
    "FakeGateway",
    "GatewayStats",
    "RecordedRequest",
    "SimTask",
]

TASK_ROUTES = ("/suno/generate", "/suno/extend", "/suno/generate-lyrics", "/suno/generate-cover")
SUBMIT_ROUTES = (*TASK_ROUTES, "/suno/timestamped-lyrics", "/suno/style-generate")
STAGES = frozenset({"text", "first", "complete", "error", "lyrics", "cover"})

_QUERY_KINDS: dict[str, TaskKind] = {
    "/suno/query/task": "music",
    "/suno/query/lyrics": "lyrics",
    "/suno/query/cover": "cover",
}
_JSON_BODY = web.RequestKey("anyint_music_sim_json", object)
_TASK_CHAOS = web.RequestKey("anyint_music_sim_chaos", TaskChaos)
_Creator = Callable[[str, dict[str, Any], str], TaskState]
_Runner = Callable[[TaskState], Awaitable[None]]


class FakeGateway:
    """A local, faithful simulator of AnyInt's ``/suno/*`` routes that sends real callbacks.

    Every keyword below is also a public attribute that may be changed while the gateway runs;
    a change applies to the stages scheduled after it.

    Args:
        api_key: The key clients must send as ``Authorization: Bearer <api_key>``.
        host: The interface to bind.
        port: The port to bind; 0 picks a free one (read it back from `url`).
        stage_delay: Seconds before each callback stage of a task.
        skip_stages: Music tasks send only ``complete`` (no ``text``/``first``).
        unwrapped: Music callbacks use AnyInt's unwrapped example form (no ``code``/``msg``,
            tracks with only the keys AnyInt's example shows). An ``error`` callback then
            carries no failure code; the query record still has it.
        kie_spelling: Lyrics callbacks use kie.ai's ``task_id``/``error_message`` and kie's
            failure body (``callbackType "complete"``, ``data null``) instead of sunoapi.org's.
        duplicates: Each callback is delivered ``1 + duplicates`` times.
        early_callbacks: Hold the submit answer back until the task's callbacks were delivered.
        drop_callbacks: ``True`` delivers no callback at all; a collection of stage names
            (``text``, ``first``, ``complete``, ``error``, ``lyrics``, ``cover``) skips those.
            The task still finishes in the query records.
        error_style: ``"body"``: refusals are HTTP 200 with ``{code, msg, data}``; ``"http"``:
            a real HTTP status with AnyInt's ``{"error": {...}}`` envelope.
        retry_delays: Delays before each redelivery of a callback that was not answered with
            HTTP 200 (the documented 1, 5 and 15 minutes, scaled down).
        callback_timeout: Seconds a receiver has to answer a callback.
        text_tracks: ``text`` callbacks carry both tracks with an empty ``audio_url`` instead of
            an empty list (the variant third-party clients report).
        seed: Seed for task ids; the same seed and requests give the same ids.
        chaos: A seeded storm (`Chaos`) of refused submits, held answers and duplicated,
            late, shuffled or dropped callbacks; ``None`` (the default) turns it off. Setting
            the attribute restarts the storm's random sequence from its seed.
        rate_limit: ``(count, seconds)``: at most `count` task-creating submits (generate,
            extend, generate-lyrics, generate-cover) in any span of `seconds`. An excess
            submit is refused before any task is made with body code 430 (HTTP 200), or with
            ``error_style="http"`` HTTP 429 and AnyInt's ``rate_limit_error`` envelope; both
            carry ``Retry-After`` (whole seconds, rounded up) and ``X-RateLimit-Reset-After``
            (seconds with millisecond precision, e.g. ``"0.350"``). Refused submits do not
            count against the cap. ``None`` (the default): no cap.
        record: Keep every request in `requests` and every delivery attempt in `callbacks`.
            Turn it off for long runs; `stats` counts either way.
        hmac_key: Sign every delivery as kie.ai's opt-in scheme does (PROTOCOL.md §8.2):
            ``X-Webhook-Timestamp`` (Unix seconds) and ``X-Webhook-Signature`` (Base64 of
            HMAC-SHA256 over ``"{task_id}.{timestamp}"``). ``None`` (the default): unsigned.
        receivers: Base URLs (``http://host:port``) of several receivers behind one load
            balancer: each delivery attempt goes to the next in turn, keeping the path of the
            request's ``callBackUrl``. ``None`` (the default): the ``callBackUrl`` as sent.

    Raises:
        ValueError: For an unknown `error_style` or stage name, a negative count or delay, or
            an invalid `rate_limit`.
        TypeError: For a `chaos` that is not a `Chaos`.
    """

    def __init__(
        self,
        *,
        api_key: str = "sk-fake-anyint",
        host: str = "127.0.0.1",
        port: int = 0,
        stage_delay: float = 0.0,
        skip_stages: bool = False,
        unwrapped: bool = False,
        kie_spelling: bool = False,
        duplicates: int = 0,
        early_callbacks: bool = False,
        drop_callbacks: bool | Collection[str] = False,
        error_style: Literal["body", "http"] = "body",
        retry_delays: Sequence[float] = (0.05, 0.25, 0.75),
        callback_timeout: float = 15.0,
        text_tracks: bool = False,
        seed: int = 0,
        chaos: Chaos | None = None,
        rate_limit: tuple[int, float] | None = None,
        record: bool = True,
        receivers: Sequence[str] | None = None,
        hmac_key: str | bytes | None = None,
    ) -> None:
        if error_style not in ("body", "http"):
            raise ValueError(f"error_style must be 'body' or 'http', not {error_style!r}")
        if not isinstance(drop_callbacks, bool) and not set(drop_callbacks) <= STAGES:
            unknown = sorted(set(drop_callbacks) - STAGES)
            raise ValueError(f"unknown stage names in drop_callbacks: {unknown}")
        if duplicates < 0 or stage_delay < 0 or any(d < 0 for d in retry_delays):
            raise ValueError("duplicates, stage_delay and retry_delays must not be negative")
        self.api_key = api_key
        self.host = host
        self.port = port
        self.stage_delay = stage_delay
        self.skip_stages = skip_stages
        self.unwrapped = unwrapped
        self.kie_spelling = kie_spelling
        self.duplicates = duplicates
        self.early_callbacks = early_callbacks
        self.drop_callbacks: bool | Collection[str] = drop_callbacks
        self.error_style: Literal["body", "http"] = error_style
        self.retry_delays: Sequence[float] = retry_delays
        self.callback_timeout = callback_timeout
        self.text_tracks = text_tracks
        self.record = record
        self.receivers: Sequence[str] | None = receivers
        self.hmac_key = hmac_key.encode() if isinstance(hmac_key, str) else hmac_key
        self._next_receiver = -1
        self.chaos = chaos
        self.rate_limit = rate_limit
        self.requests: list[RecordedRequest] = []
        self.callbacks: list[DeliveredCallback] = []
        self._world = World(seed)
        self._creators: dict[str, tuple[_Creator, _Runner]] = {
            "/suno/generate": (self._world.create_generate, self._run_music),
            "/suno/extend": (self._world.create_extend, self._run_music),
            "/suno/generate-lyrics": (self._world.create_lyrics, self._run_lyrics),
            "/suno/generate-cover": (self._world.create_cover, self._run_cover),
        }
        self._submit_failures: list[SubmitFailure] = []
        self._lost_answers: list[LostAnswer] = []
        self._window = RateWindow()
        self._counters = Counters()
        self._closing = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._errors: list[BaseException] = []
        self._phase: Literal["new", "running", "closed"] = "new"
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._url: str | None = None

    def __repr__(self) -> str:
        return f"<FakeGateway {self._phase} url={self._url!r} tasks={len(self._world.tasks)}>"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL clients talk to, e.g. ``"http://127.0.0.1:54321"``.

        Raises:
            RuntimeError: Before `start`.
        """
        if self._url is None:
            raise RuntimeError("FakeGateway is not started; use `async with` or await start()")
        return self._url

    async def start(self) -> None:
        """Bind the server and open the session used for callbacks.

        Raises:
            RuntimeError: If the gateway was already started or closed.
        """
        if self._phase != "new":
            raise RuntimeError(f"FakeGateway cannot be started twice (it is {self._phase})")

        @web.middleware
        async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self._dispatch(request, handler)

        app = web.Application(middlewares=[middleware])
        for path in self._creators:
            app.router.add_post(path, self._on_task_route)
        app.router.add_post("/suno/timestamped-lyrics", self._on_timestamped)
        app.router.add_post("/suno/style-generate", self._on_style)
        for path in _QUERY_KINDS:
            app.router.add_get(path, self._on_query)
        app.router.add_get("/files/{name}", self._on_file)
        app.router.add_get("/stream/{name}", self._on_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._session = aiohttp.ClientSession()
        self._phase = "running"

    async def close(self) -> None:
        """Cancel pending deliveries, stop the server and close the callback session.

        Idempotent; a closed gateway cannot be started again.
        """
        if self._phase == "closed":
            return
        self._phase = "closed"
        self._closing.set()  # releases answers held by drop_submit_answer(mode="hang")
        while self._background:
            pending = list(self._background)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> FakeGateway:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every scheduled stage and delivery (including retries) has finished.

        Args:
            timeout: Seconds to wait at most.

        Raises:
            TimeoutError: If work is still pending after `timeout` seconds.
            RuntimeError: If a simulator task crashed (a bug in the simulator).
        """
        try:
            async with asyncio.timeout(timeout):
                while self._background:
                    await asyncio.wait(set(self._background))
        except TimeoutError:
            raise TimeoutError(
                f"FakeGateway still has {len(self._background)} pending stage(s) or "
                f"deliveries after {timeout} s"
            ) from None
        if self._errors:
            raise RuntimeError("a FakeGateway background task failed") from self._errors[0]

    # -- inspection and failure injection -----------------------------------------------------

    def task(self, task_id: str) -> SimTask:
        """Return the simulator's record of a task it created.

        Args:
            task_id: The id from the submit answer.

        Returns:
            The live `SimTask` record.

        Raises:
            KeyError: If the gateway made no task with that id.
        """
        try:
            return self._world.tasks[task_id].sim
        except KeyError:
            raise KeyError(f"FakeGateway made no task {task_id!r}") from None

    @property
    def tasks(self) -> list[SimTask]:
        """Every task the gateway created, oldest first."""
        return [state.sim for state in self._world.tasks.values()]

    def fail_submit(
        self,
        route: str | None = None,
        *,
        status: int | None = None,
        code: int | None = None,
        message: str | None = None,
        times: int = 1,
    ) -> None:
        """Refuse the next `times` POSTs to `route` (any ``/suno`` POST route when ``None``).

        The refusal happens after the auth check and before any validation; no task is made.

        Args:
            route: A POST route such as ``"/suno/generate"``, or ``None`` for any.
            status: A real HTTP status. Alone, the answer carries AnyInt's ``{"error": ...}``
                envelope; together with `code`, the body is ``{code, msg, data: null}`` (the
                upstream "request failed" form).
            code: The body code. With ``error_style="body"`` it is sent as HTTP 200 +
                ``{code, msg, data: null}``; with ``"http"`` it is also the HTTP status.
                Defaults to 500 when neither `status` nor `code` is given.
            message: The error text; a generic text for the code by default.
            times: How many requests to refuse before normal service resumes.

        Raises:
            ValueError: For an unknown route or a `times` below 1.
        """
        if route is not None and route not in SUBMIT_ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {SUBMIT_ROUTES}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if status is None and code is None:
            code = 500
        self._submit_failures.append(SubmitFailure(route, status, code, message, times))

    def fail_tasks(
        self,
        code: int = 501,
        message: str | None = None,
        *,
        times: int = 1,
        route: str | None = None,
    ) -> None:
        """Make the next `times` created tasks finish with a failure callback.

        Music tasks send ``text`` (unless `skip_stages`) and then an ``error`` callback; lyrics
        and cover tasks send their failure bodies. The query records show the failure too.

        Args:
            code: The failure code in the callback and record.
            message: The failure text; "Audio generation failed" (music), "Lyrics generation
                failed" or "Cover generation failed" by default.
            times: How many tasks fail.
            route: Only tasks created by this route (e.g. ``"/suno/extend"``); ``None`` = any.

        Raises:
            ValueError: For an unknown route or a `times` below 1.
        """
        if route is not None and route not in TASK_ROUTES:
            raise ValueError(f"unknown task route {route!r}; expected one of {TASK_ROUTES}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._world.task_failures.append(TaskFailure(route, code, message, times))

    def drop_submit_answer(
        self,
        route: str | None = None,
        *,
        times: int = 1,
        mode: LostMode = "disconnect",
    ) -> None:
        """Lose the answers of the next `times` task-creating submits to `route`.

        Each such submit creates its task normally (its callbacks follow as usual) but its
        client never gets the answer: the situation in which re-sending the submit would
        create a second paid job. Submits refused before a task is made (validation, rate,
        injected failures) answer normally and do not use up the rule.

        Args:
            route: A task-creating route such as ``"/suno/generate"``, or ``None`` for any.
            times: How many submits lose their answer.
            mode: ``"disconnect"`` closes the connection without answering; ``"hang"`` keeps
                it open without answering until the client gives up (or the gateway closes).

        Raises:
            ValueError: For an unknown route or mode, or a `times` below 1.
        """
        if route is not None and route not in TASK_ROUTES:
            raise ValueError(f"unknown task route {route!r}; expected one of {TASK_ROUTES}")
        if mode not in ("disconnect", "hang"):
            raise ValueError(f"mode must be 'disconnect' or 'hang', not {mode!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._lost_answers.append(LostAnswer(route, mode, times))

    @property
    def chaos(self) -> Chaos | None:
        """The current `Chaos` setting, or ``None`` when chaos is off.

        Setting it (even to the same value) restarts the random sequence from its ``seed``.
        Tasks created before keep what was decided at their submit (``early``, ``reorder``);
        their later callbacks follow the new setting.

        Raises:
            TypeError: When set to something that is not a `Chaos` or ``None``.
        """
        return self._dice.chaos if self._dice is not None else None

    @chaos.setter
    def chaos(self, value: Chaos | None) -> None:
        if value is not None and not isinstance(value, Chaos):
            raise TypeError(f"chaos must be a Chaos or None, not {type(value).__name__}")
        self._dice = Dice(value) if value is not None else None

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """The cap ``(count, seconds)`` on task-creating submits, or ``None`` for no cap.

        Raises:
            ValueError: When set to anything but ``None`` or a count >= 1 and seconds > 0.
        """
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, value: tuple[int, float] | None) -> None:
        self._rate_limit = check_rate_limit(value)

    @property
    def stats(self) -> GatewayStats:
        """A snapshot of what the gateway did so far (see `GatewayStats`)."""
        return self._counters.snapshot()

    # -- request plumbing -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        text = raw.decode(request.charset or "utf-8", errors="replace")
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = None
        request[_JSON_BODY] = parsed
        if self.record:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    headers=dict(request.headers),
                    json=parsed,
                    text=text,
                )
            )
        if request.path.startswith("/suno/"):
            expected = f"Bearer {self.api_key}".encode()
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return answers.envelope(
                    401, "Invalid API key. Send it as `Authorization: Bearer <AnyInt API key>`."
                )
            if request.method == "POST" and request.match_info.http_exception is None:
                refused = self._admit(request)
                if refused is not None:
                    return refused
        try:
            return await handler(request)
        except Refusal as refusal:
            return answers.refusal(refusal, self.error_style)

    def _admit(self, request: web.Request) -> web.Response | None:
        """Refuse a POST before anything is done, or note its chaos plan and let it through."""
        path = request.path
        counters = self._counters
        # Drawn first and for every POST, so the decisions depend only on the request order.
        draw = self._dice.submit() if self._dice is not None else None
        injected = self._take_submit_failure(path)
        if injected is not None:
            counters.submits_refused["injected"] += 1
            return injected
        if draw is not None and draw.refuse == "503":
            counters.submits_refused["503"] += 1
            return answers.envelope(503, answers.CODE_MESSAGES[503])
        if draw is not None and draw.refuse == "rate":
            counters.submits_refused["rate"] += 1
            return answers.rate_refusal(self.error_style, None)
        if self._rate_limit is not None and path in TASK_ROUTES:
            wait = self._window.admit(*self._rate_limit, time.monotonic())
            if wait is not None:
                counters.submits_refused["rate"] += 1
                counters.submits_rate_limited += 1
                return answers.rate_refusal(self.error_style, wait)
        if draw is not None:
            request[_TASK_CHAOS] = draw.task
        return None

    def _take_submit_failure(self, path: str) -> web.Response | None:
        for rule in self._submit_failures:
            if rule.route in (None, path):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._submit_failures.remove(rule)
                return answers.failure(rule, self.error_style)
        return None

    def _take_lost_answer(self, path: str) -> LostMode | None:
        for rule in self._lost_answers:
            if rule.route in (None, path):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._lost_answers.remove(rule)
                return rule.mode
        return None

    @staticmethod
    def _object(request: web.Request) -> dict[str, Any]:
        body = request[_JSON_BODY]
        if not isinstance(body, dict):
            raise Refusal(400, "Request body must be a JSON object.")
        return body

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        if self._phase != "running":
            coro.close()
            raise Refusal(503, "The gateway is shutting down.")
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._errors.append(exc)

    async def _answer_created(
        self,
        request: web.Request,
        state: TaskState,
        run: _Runner,
    ) -> web.StreamResponse:
        async def timeline() -> None:
            await state.answered.wait()
            await run(state)

        state.timeline = self._spawn(timeline())
        payload = {"code": 200, "msg": "success", "data": {"taskId": state.sim.id}}
        lost = self._take_lost_answer(request.path)
        if lost is not None:
            self._counters.answers_dropped += 1
            state.answered.set()
            return await answers.lose(request, lost, self._closing)
        if self.early_callbacks or (state.chaos is not None and state.chaos.early):
            self._counters.answers_early += 1
            state.answered.set()
            await asyncio.wait([state.timeline])
            if state.last_delivery is not None:
                await asyncio.wait([state.last_delivery])
            return web.json_response(payload)
        # The answer is on the wire before the first stage starts, so a zero stage_delay still
        # delivers callbacks after the submit answer (unless early_callbacks asks otherwise).
        response = web.json_response(payload)
        try:
            await response.prepare(request)
            await response.write_eof()
        finally:
            state.answered.set()
        return response

    # -- task timelines and delivery ----------------------------------------------------------

    def _dropped(self, stage: str) -> bool:
        drop = self.drop_callbacks
        return drop if isinstance(drop, bool) else stage in drop

    def _send(self, state: TaskState, stage: str, body: dict[str, Any]) -> None:
        counters = self._counters
        if self._dropped(stage):
            counters.callbacks_dropped += 1
            return
        delays: list[float] | None = [0.0] * (1 + self.duplicates)
        chaos = self.chaos
        if chaos is not None and state.chaos is not None:
            delays = state.chaos.copies(chaos, 1 + self.duplicates)
        if delays is None:
            counters.callbacks_dropped += 1
            return
        counters.callbacks_duplicated += len(delays) - 1
        for n, delay in enumerate(delays):
            previous = state.last_delivery
            state.last_delivery = self._spawn(
                self._deliver_after(previous, state, stage, body, n, delay)
            )

    def _balance(self, url: str) -> str:
        """``url`` sent to the next of ``receivers`` in turn, as a load balancer would."""
        receivers = self.receivers
        if not receivers:
            return url
        self._next_receiver = (self._next_receiver + 1) % len(receivers)
        parts = urlsplit(url)
        base = urlsplit(receivers[self._next_receiver])
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))

    def _signature(self, task_id: str) -> dict[str, str]:
        assert self.hmac_key is not None
        stamp = str(int(time.time()))
        mac = hmac.new(self.hmac_key, f"{task_id}.{stamp}".encode(), hashlib.sha256)
        return {
            "X-Webhook-Timestamp": stamp,
            "X-Webhook-Signature": base64.b64encode(mac.digest()).decode(),
        }

    def _delivery_timeout(self) -> float:
        chaos = self.chaos
        if chaos is not None and chaos.slow_answer_timeout is not None:
            return chaos.slow_answer_timeout
        return self.callback_timeout

    async def _deliver_after(
        self,
        previous: asyncio.Task[None] | None,
        state: TaskState,
        stage: str,
        body: dict[str, Any],
        n: int,
        delay: float,
    ) -> None:
        # Chaining keeps one task's callbacks in stage order even while one is being retried.
        if previous is not None:
            await asyncio.wait([previous])
        if delay > 0:
            await asyncio.sleep(delay)
        assert self._session is not None
        await deliver(
            self._session,
            lambda: self._balance(state.sim.callback_url),
            body,
            task_id=state.sim.id,
            stage=stage,
            copy=n,
            retry_delays=self.retry_delays,
            timeout=self._delivery_timeout(),
            record=self.callbacks.append if self.record else None,
            counters=self._counters,
            sign=(lambda: self._signature(state.sim.id)) if self.hmac_key is not None else None,
        )

    def _finish(self, sim: SimTask, status: str, failure: tuple[int, str] | None) -> None:
        sim.status = status
        sim.complete_time = datetime.now(UTC)
        if failure is not None:
            sim.error_code, sim.error_message = failure

    async def _run_music(self, state: TaskState) -> None:
        sim = state.sim
        stages = [] if self.skip_stages else ["text"]
        if state.failure is not None:
            stages.append("error")
        else:
            stages += ["complete"] if self.skip_stages else ["first", "complete"]
        # A reordered task sends its callbacks shuffled once it has finished.
        plan = state.chaos
        held: list[tuple[str, dict[str, Any]]] | None = None
        if plan is not None and plan.reorder and len(stages) > 1:
            held = []
        for stage in stages:
            await asyncio.sleep(self.stage_delay)
            sim.stage = stage
            code: int = 200
            msg: str | None = None
            if stage == "text":
                sim.status = "TEXT_SUCCESS"
            elif stage == "first":
                sim.status = "FIRST_SUCCESS"
            elif stage == "complete":
                sim.result = [dict(t) for t in state.tracks]  # flat dicts: a deep copy
                self._finish(sim, "SUCCESS", None)
            else:
                assert state.failure is not None
                self._finish(sim, "GENERATE_AUDIO_FAILED", state.failure)
                code, msg = state.failure
            body = bodies.music_callback(
                stage,
                sim.id,
                state.tracks,
                text_tracks=self.text_tracks,
                unwrapped=self.unwrapped,
                code=code,
                msg=msg,
            )
            if held is None:
                self._send(state, stage, body)
            else:
                held.append((stage, body))
        if plan is not None and held is not None:
            self._counters.callbacks_reordered_tasks += 1
            for index in plan.order(len(held)):
                self._send(state, *held[index])

    async def _run_lyrics(self, state: TaskState) -> None:
        sim = state.sim
        await asyncio.sleep(self.stage_delay)
        sim.stage = "lyrics"
        if state.failure is None:
            sim.result = [dict(v) for v in state.variants]
            self._finish(sim, "SUCCESS", None)
            body = bodies.lyrics_callback(sim.id, state.variants, kie=self.kie_spelling)
        else:
            self._finish(sim, "GENERATE_LYRICS_FAILED", state.failure)
            code, msg = state.failure
            body = bodies.lyrics_callback(sim.id, None, kie=self.kie_spelling, code=code, msg=msg)
        self._send(state, "lyrics", body)

    async def _run_cover(self, state: TaskState) -> None:
        sim = state.sim
        sim.status = "GENERATING"
        await asyncio.sleep(self.stage_delay)
        sim.stage = "cover"
        if state.failure is None:
            sim.result = list(state.images)
            self._finish(sim, "SUCCESS", None)
            body = bodies.cover_callback(sim.id, list(state.images))
        else:
            self._finish(sim, "GENERATE_COVER_FAILED", state.failure)
            code, msg = state.failure
            body = bodies.cover_callback(sim.id, None, code=code, msg=msg)
        self._send(state, "cover", body)

    # -- route handlers -----------------------------------------------------------------------

    async def _on_task_route(self, request: web.Request) -> web.StreamResponse:
        creator, run = self._creators[request.path]
        state = creator(request.path, self._object(request), self.url)
        state.chaos = request.get(_TASK_CHAOS)
        self._counters.tasks_created += 1
        return await self._answer_created(request, state, run)

    async def _on_timestamped(self, request: web.Request) -> web.StreamResponse:
        return answers.ok(self._world.timestamped_lyrics(self._object(request)))

    async def _on_style(self, request: web.Request) -> web.StreamResponse:
        return answers.ok(self._world.style(self._object(request)))

    async def _on_query(self, request: web.Request) -> web.StreamResponse:
        kind = _QUERY_KINDS[request.path]
        return answers.ok(self._world.record(kind, request.query.get("taskId", "")))

    async def _on_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if request.path.startswith("/stream/"):
            found = self._world.stream(name)
        else:
            found = self._world.file(name)
        if found is None:
            raise web.HTTPNotFound()
        body, kind = found
        headers = {"Accept-Ranges": "bytes"}
        try:
            wanted = content.byte_range(request.headers.get("Range"), len(body))
        except ValueError:
            headers["Content-Range"] = f"bytes */{len(body)}"
            return web.Response(status=416, headers=headers)
        if wanted is None:
            return web.Response(body=body, content_type=kind, headers=headers)
        first, last = wanted
        headers["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
        return web.Response(
            status=206, body=body[first : last + 1], content_type=kind, headers=headers
        )
