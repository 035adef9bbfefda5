"""`FakeGateway`: a local simulator of AnyInt's AI Music (``/suno/*``) routes.

It speaks only the wire format of ``PROTOCOL.md`` and ``PROTOCOL-TRANSFORM.md`` (it never imports
the SDK), serves real HTTP on 127.0.0.1 and really POSTs callbacks to each request's
``callBackUrl``, with the documented stages, retries and duplicates. It answers every music
route: generate, extend, lyrics, cover art, timestamped lyrics and style boost; the transforms
upload-cover, upload-extend, add-vocals, add-instrumental and replace-section (music-shaped);
vocal-removal, split-stem, wav-generate and mp4-generate (one callback each); generate-persona;
and the six query routes. Result files (MP3, JPEG, PNG, WAV, MP4) are served by the gateway.
Knobs select the documented variants (unwrapped callbacks, kie.ai spelling, HTTP-status errors)
and inject failures; ``chaos=Chaos(...)`` adds a seeded storm of them, ``rate_limit`` caps
task-creating submits and ``drop_submit_answer`` loses answers. ``inspector=True`` serves a
live page of the tasks and their callbacks at ``/``, with a JSON API under ``/_sim/``.

    async with FakeGateway() as gw:
        client = AnyIntMusic(api_key=gw.api_key, base_url=gw.url)
        ...
        await gw.wait_idle()
        assert gw.callbacks[-1].stage == "complete"
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Literal

import aiohttp
from aiohttp import web

from ._sim_admission import Admission
from ._sim_background import Background
from ._sim_chaos import Chaos, Dice
from ._sim_delivery import Sender
from ._sim_inspector import Inspector
from ._sim_inspector_api import InspectorApi
from ._sim_knobs import SUBMIT_ROUTES, TASK_ROUTES, check_knobs
from ._sim_rate import check_rate_limit
from ._sim_records import DeliveredCallback, RecordedRequest, SimTask
from ._sim_routes import Routes
from ._sim_rules import LostAnswer, LostMode, SubmitFailure, TaskFailure, check_rule
from ._sim_stats import Counters, GatewayStats
from ._sim_timelines import Timelines
from ._sim_uploads import FetchedUpload, Uploader
from ._sim_world import World

__all__ = [
    "Chaos",
    "DeliveredCallback",
    "FakeGateway",
    "FetchedUpload",
    "GatewayStats",
    "RecordedRequest",
    "SimTask",
]


class FakeGateway:
    """A local, faithful simulator of AnyInt's ``/suno/*`` routes that sends real callbacks.

    Every keyword below is also a public attribute that may be changed while the gateway runs;
    a change applies to the stages scheduled after it.

    Args:
        api_key: The key clients must send as ``Authorization: Bearer <api_key>``.
        host: The interface to bind.
        port: The port to bind; 0 picks a free one (read it back from `url`).
        stage_delay: Seconds before each callback stage of a task.
        skip_stages: Music tasks (every music-shaped route) send only ``complete`` (no
            ``text``/``first``).
        unwrapped: Music callbacks use AnyInt's unwrapped example form (no ``code``/``msg``,
            tracks with only the keys AnyInt's example shows). An ``error`` callback then
            carries no failure code; the query record still has it. The one callback of a
            vocal-removal, split-stem, WAV, MP4 or persona task is then its ``data`` object
            alone (a failure shows only as its ``null`` result).
        kie_spelling: Lyrics callbacks use kie.ai's ``task_id``/``error_message`` and kie's
            failure body (``callbackType "complete"``, ``data null``) instead of sunoapi.org's;
            vocal-removal callbacks kie's ``vocal_separation_info`` and message; WAV callbacks
            ``audio_wav_url`` instead of ``audioWavUrl``.
        duplicates: Each callback is delivered ``1 + duplicates`` times.
        early_callbacks: Hold the submit answer back until the task's callbacks were delivered.
        drop_callbacks: ``True`` delivers no callback at all; a collection of stage names
            (``text``, ``first``, ``complete``, ``error``, ``lyrics``, ``cover``, ``vocal``,
            ``wav``, ``mp4``, ``persona``) skips those. The task still finishes in the query
            records.
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
        rate_limit: ``(count, seconds)``: at most `count` submits to the routes that may
            create a task (every POST route but timestamped-lyrics and style-generate; a
            synchronous generate-persona counts too) in any span of `seconds`. An excess
            submit is refused before any task is made with body code 430 (HTTP 200), or with
            ``error_style="http"`` HTTP 429 and AnyInt's ``rate_limit_error`` envelope; both
            carry ``Retry-After`` (whole seconds, rounded up) and ``X-RateLimit-Reset-After``
            (seconds with millisecond precision, e.g. ``"0.350"``). Refused submits do not
            count against the cap. ``None`` (the default): no cap.
        record: Keep every request in `requests`, every delivery attempt in `callbacks` and
            every ``uploadUrl`` fetch in `uploads`. Turn it off for long runs; `stats` counts
            either way.
        hmac_key: Sign every delivery as kie.ai's opt-in scheme does (PROTOCOL.md §8.2):
            ``X-Webhook-Timestamp`` (Unix seconds) and ``X-Webhook-Signature`` (Base64 of
            HMAC-SHA256 over ``"{task_id}.{timestamp}"``). ``None`` (the default): unsigned.
        receivers: Base URLs (``http://host:port``) of several receivers behind one load
            balancer: each delivery attempt goes to the next in turn, keeping the path of the
            request's ``callBackUrl``. ``None`` (the default): the ``callBackUrl`` as sent.
        persona_as_task: ``/suno/generate-persona`` answers ``{taskId}`` and sends the persona
            later as one callback to the request's ``callBackUrl`` (then required):
            ``{code: 200, msg: "success", data: {task_id, personaId, name, description}}``,
            with no query record. This models AnyInt possibly making the synchronous upstream
            route asynchronous (PROTOCOL-TRANSFORM Q6). ``False`` (the default): the answer
            carries ``{personaId, name, description}`` at once.
        inspector: Serve the inspector at the gateway's own address: a live page at ``/``
            (open ``gw.url + "/"`` in a browser) with every task, its request body, its stages
            and each callback delivery attempt with the receiver's answer and latency, plus
            controls for the knobs; and its JSON API under ``/_sim/``: ``GET /_sim/tasks``
            (filters ``route=``, ``status=all|running|done|failed``, ``limit=``),
            ``GET /_sim/tasks/{task_id}``, ``GET``/``POST /_sim/knobs`` (``fail_next``,
            ``duplicates``, ``drop_callbacks``, ``skip_stages``, ``stage_delay``,
            ``chaos_seed``) and ``POST /_sim/tasks/{task_id}/redeliver``. Neither asks for the
            API key nor ever shows it; POSTs must be JSON. The inspector keeps its own records
            (independent of `record`), of the last 1000 tasks, while it is on. ``False`` (the
            default): all of it answers 404.

    Attributes:
        requests: Every request received (`RecordedRequest`), while `record` is on.
        callbacks: Every callback delivery attempt (`DeliveredCallback`), while `record` is on.
        uploads: Every fetch of an ``uploadUrl`` (`FetchedUpload`), in the order they ended,
            while `record` is on. Upload-cover, upload-extend, add-vocals and add-instrumental
            tasks GET their ``uploadUrl`` after the submit was answered and before their first
            stage, within 30 s and 50 MiB; a failed fetch (connection error, a status other
            than 200, an empty or too large body) fails the task with one ``error`` callback,
            code 451.

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
        persona_as_task: bool = False,
        inspector: bool = False,
    ) -> None:
        check_knobs(
            error_style=error_style,
            drop_callbacks=drop_callbacks,
            duplicates=duplicates,
            stage_delay=stage_delay,
            retry_delays=retry_delays,
        )
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
        self.persona_as_task = persona_as_task
        self.inspector = inspector
        self.requests: list[RecordedRequest] = []
        self.callbacks: list[DeliveredCallback] = []
        self.uploads: list[FetchedUpload] = []
        # The parts read the knobs from `self` at each use (see `_sim_knobs.Knobs`).
        self._counters = Counters()
        self._world = World(seed)
        self._admission = Admission(self, self._counters)
        self._background = Background()
        self._inspected = Inspector(self)
        self._sender = Sender(self, self._counters, self._background.spawn, self._inspected)
        self._uploader = Uploader(self)
        self._closing = asyncio.Event()
        self._routes = Routes(
            knobs=self,
            world=self._world,
            admission=self._admission,
            timelines=Timelines(self, self._counters, self._sender.send, self._uploader.fetch),
            counters=self._counters,
            spawn=self._background.spawn,
            closing=self._closing,
            inspector=self._inspected,
            inspector_api=InspectorApi(self, self._world, self._inspected, self._sender),
        )
        self.chaos = chaos
        self.rate_limit = rate_limit
        self._phase: Literal["new", "running", "closed"] = "new"
        self._runner: web.AppRunner | None = None
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
        """Bind the server and open the session used for callbacks and upload fetches.

        Raises:
            RuntimeError: If the gateway was already started or closed.
        """
        if self._phase != "new":
            raise RuntimeError(f"FakeGateway cannot be started twice (it is {self._phase})")
        runner = web.AppRunner(self._routes.app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        self._sender.session = self._uploader.session = aiohttp.ClientSession()
        self._background.open = True
        self._phase = "running"

    async def close(self) -> None:
        """Cancel pending deliveries and fetches, stop the server and close the session.

        Idempotent; a closed gateway cannot be started again.
        """
        if self._phase == "closed":
            return
        self._phase = "closed"
        self._background.open = False
        self._closing.set()  # releases answers held by drop_submit_answer(mode="hang")
        await self._background.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._sender.session is not None:
            await self._sender.session.close()

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
        await self._background.wait(timeout)

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
        check_rule(route, times, SUBMIT_ROUTES, "route")
        if status is None and code is None:
            code = 500
        self._admission.submit_failures.append(SubmitFailure(route, status, code, message, times))

    def fail_tasks(
        self,
        code: int = 501,
        message: str | None = None,
        *,
        times: int = 1,
        route: str | None = None,
    ) -> None:
        """Make the next `times` created tasks finish with a failure callback.

        Music tasks send ``text`` (unless `skip_stages`) and then an ``error`` callback; lyrics,
        cover, vocal, WAV, MP4 and persona tasks send their one callback with its result
        ``null``. The query records show the failure too. A synchronous generate-persona
        creates no task and does not use up a rule.

        Args:
            code: The failure code in the callback and record.
            message: The failure text; "Audio generation failed" (music), "Lyrics generation
                failed", "Cover generation failed", "Vocal separation failed", "WAV generation
                failed", "MP4 generation failed" or "Persona generation failed" by default.
            times: How many tasks fail.
            route: Only tasks created by this route (e.g. ``"/suno/extend"``); ``None`` = any.

        Raises:
            ValueError: For an unknown route or a `times` below 1.
        """
        check_rule(route, times, TASK_ROUTES, "task route")
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
        check_rule(route, times, TASK_ROUTES, "task route")
        if mode not in ("disconnect", "hang"):
            raise ValueError(f"mode must be 'disconnect' or 'hang', not {mode!r}")
        self._admission.lost_answers.append(LostAnswer(route, mode, times))

    @property
    def chaos(self) -> Chaos | None:
        """The current `Chaos` setting, or ``None`` when chaos is off.

        Setting it (even to the same value) restarts the random sequence from its ``seed``.
        Tasks created before keep what was decided at their submit (``early``, ``reorder``);
        their later callbacks follow the new setting.

        Raises:
            TypeError: When set to something that is not a `Chaos` or ``None``.
        """
        dice = self._admission.dice
        return dice.chaos if dice is not None else None

    @chaos.setter
    def chaos(self, value: Chaos | None) -> None:
        if value is not None and not isinstance(value, Chaos):
            raise TypeError(f"chaos must be a Chaos or None, not {type(value).__name__}")
        self._admission.dice = Dice(value) if value is not None else None

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
