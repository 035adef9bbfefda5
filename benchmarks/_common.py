"""Shared by the benchmarks: the callback body, token minting, waiters, the bare reference
receiver, the separate load process, and the figures' statistics and output.

Every benchmark prints exactly one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import math
import os
import random
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from anyint_music import AnyIntMusic, Model, MusicResult, Task, TaskKind
from anyint_music.testing import FakeGateway

HERE = Path(__file__).resolve().parent
LOADGEN = HERE / "_loadgen.py"
CALLBACK_PREFIX = "/anyint/callbacks/"  # the documented callback path
HOST = "127.0.0.1"

# --- output ------------------------------------------------------------------------------


def say(message: str) -> None:
    """Progress, on stderr (stdout carries only the JSON line)."""
    print(message, file=sys.stderr, flush=True)


def emit(benchmark: str, figures: dict[str, Any]) -> None:
    """The one JSON line of figures, on stdout."""
    print(json.dumps({"benchmark": benchmark, **figures}, separators=(", ", ": ")), flush=True)


def median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def r(value: float, digits: int = 3) -> float:
    """Rounded for the JSON line (NaN stays NaN-free: None is not used, 0.0 is not faked)."""
    return round(value, digits)


def medians(rounds: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per key, the median over rounds."""
    keys = rounds[0].keys() if rounds else ()
    return {k: median(rd[k] for rd in rounds) for k in keys}


# --- the callback body (PROTOCOL.md §1.3, upstream wrapped form, 2 tracks) ----------------

LYRICS = (
    "[Verse]\nPacked my bags before the sunrise, left the city in the rain\n"
    "Every mile a little lighter, every station a new name\n"
    "Postcards from the coastline, salt and sun upon my skin\n"
    "I don't know where I'm going but I know where I have been\n\n"
    "[Chorus]\nSo let the highway hum, let the summer come\n"
    "We are chasing the horizon till the day is done\n"
    "Open windows, open road, every song we ever wrote\n"
    "Singing louder than the engine, we are never going home\n\n"
    "[Verse 2]\nMidnight in a border town, neon flickers in the bay\n"
    "Strangers turning into friends before the break of day\n"
)
PLACEHOLDERS = ["__TASK_ID__", "__AUDIO_1__", "__AUDIO_2__"]


def task_id_for(n: int, salt: str) -> str:
    """A task id in the upstream form: 32 lowercase hex characters."""
    return hashlib.md5(f"{salt}:{n}".encode()).hexdigest()


def bare_token(n: int, salt: str) -> str:
    """A token for the bare receiver, as long as the SDK's (``token_urlsafe(24)``: 32 chars)."""
    return hashlib.md5(f"bare:{salt}:{n}".encode()).hexdigest()


def audio_id_for(task_id: str, n: int) -> str:
    """A UUID-shaped audio id, distinct per task and track."""
    h = hashlib.md5(f"{task_id}/{n}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def complete_body(task_id: str, audio_ids: tuple[str, str]) -> dict[str, Any]:
    """A realistic ``complete`` callback: wrapped, snake_case, two finished tracks."""

    def track(audio: str, n: int) -> dict[str, Any]:
        return {
            "id": audio,
            "audio_url": f"https://musicfile.removeai.ai/{audio}.mp3",
            "stream_audio_url": f"https://mfile.erweima.ai/{audio}",
            "image_url": f"https://musicfile.removeai.ai/s_{audio}.jpeg",
            "prompt": LYRICS,
            "model_name": "chirp-crow",
            "title": "Chasing the Horizon" + (" (Alt)" if n == 2 else ""),
            "tags": "upbeat summer pop, acoustic guitar, handclaps, female vocals",
            "createTime": "2025-07-14 09:31:27",
            "duration": 198.44 if n == 1 else 211.2,
        }

    return {
        "code": 200,
        "msg": "All generated successfully.",
        "data": {
            "callbackType": "complete",
            "task_id": task_id,
            "data": [track(audio_ids[0], 1), track(audio_ids[1], 2)],
        },
    }


def body_template() -> str:
    return json.dumps(complete_body(PLACEHOLDERS[0], (PLACEHOLDERS[1], PLACEHOLDERS[2])))


def body_for(task_id: str) -> dict[str, Any]:
    return complete_body(task_id, (audio_id_for(task_id, 1), audio_id_for(task_id, 2)))


def body_bytes() -> int:
    return len(json.dumps(body_for(task_id_for(0, "size"))).encode())


@dataclasses.dataclass
class Target:
    """One pending callback: the path to POST to and the task id its body carries."""

    path: str
    task_id: str

    def job_entry(self) -> list[Any]:
        tid = self.task_id
        return [self.path, [tid, audio_id_for(tid, 1), audio_id_for(tid, 2)]]

    @property
    def token(self) -> str:
        return self.path.rsplit("/", 1)[-1]


# --- SDK side: clients, minting, waiters ---------------------------------------------------

# Polling on, as by default, but far enough out that it never fires inside a benchmark: the
# poller's bookkeeping (one entry per bound task) is part of what is measured.
QUIET_POLL = 3600.0


def bench_client(**options: Any) -> AnyIntMusic:
    """A client whose gateway is never contacted (tokens are minted in its registry)."""
    options.setdefault("poll_interval", QUIET_POLL)
    return AnyIntMusic(api_key="sk-bench", base_url="http://127.0.0.1:9", **options)


async def mint_registry(client: AnyIntMusic, count: int, salt: str) -> list[Target]:
    """Tokens minted and bound to task ids through the SDK's own registry, as a submit does
    (``registry.new`` then ``registry.bind``), without the submit's HTTP round trip.

    Internal API, on purpose: the benchmarks measure the callback path, not the submit.
    """
    registry = client._registry
    targets: list[Target] = []
    for i in range(count):
        state = await registry.new(TaskKind.MUSIC)
        task_id = task_id_for(i, salt)
        await registry.bind(state, task_id)
        assert state.token is not None
        targets.append(Target(CALLBACK_PREFIX + state.token, task_id))
    return targets


async def mint_submit(
    client: AnyIntMusic, gw: FakeGateway, count: int, salt: str, concurrency: int = 64
) -> list[Target]:
    """Tokens minted by real ``submit_generate`` calls to a gateway that sends no callbacks
    (``drop_callbacks=True``); the callback path is read from the gateway's task record."""
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Target:
        async with slots:
            task = await client.submit_generate(f"benchmark song {salt} {i}", model=Model.V5)
        url = gw.task(task.id).callback_url
        return Target(url[url.index(CALLBACK_PREFIX) :], task.id)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


class Waiters:
    """One coroutine per pending task, awaiting its result as a user would; each notes the
    moment it runs again (``time.monotonic_ns``) and whether the result is right."""

    def __init__(self) -> None:
        self.resumed: dict[str, int] = {}
        self.ok = 0
        self.bad = 0
        self._tasks: list[asyncio.Task[None]] = []

    def await_sdk(self, client: AnyIntMusic, targets: Sequence[Target]) -> None:
        loop = asyncio.get_running_loop()
        for target in targets:
            handle = client.task(target.task_id)
            self._tasks.append(loop.create_task(self._sdk(handle, target.token, target.task_id)))

    def await_futures(
        self, futures: dict[str, asyncio.Future[Any]], targets: Sequence[Target]
    ) -> None:
        loop = asyncio.get_running_loop()
        for target in targets:
            fut: asyncio.Future[Any] = loop.create_future()
            futures[target.token] = fut
            self._tasks.append(loop.create_task(self._bare(fut, target.token, target.task_id)))

    async def _sdk(self, handle: Task[MusicResult], token: str, task_id: str) -> None:
        result = await handle.wait()
        self.resumed[token] = time.monotonic_ns()
        good = result.task_id == task_id and len(result.tracks) == 2
        self.ok += good
        self.bad += not good

    async def _bare(self, fut: asyncio.Future[Any], token: str, task_id: str) -> None:
        body = await fut
        self.resumed[token] = time.monotonic_ns()
        good = body["data"]["task_id"] == task_id and len(body["data"]["data"]) == 2
        self.ok += good
        self.bad += not good

    async def join(self, timeout: float) -> int:
        """Wait (at most ``timeout``) for every waiter; cancel the rest; return how many ran."""
        if not self._tasks:
            return 0
        done, pending = await asyncio.wait(self._tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()  # a waiter that raised is a broken benchmark
        return len(done)


# --- the bare reference receiver -----------------------------------------------------------


def arrival_stamp(arrivals: dict[str, int]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware noting when each callback request reaches its server (by token)."""

    @web.middleware
    async def stamp(request: web.Request, handler: Handler) -> web.StreamResponse:
        arrivals[request.match_info.get("token", "")] = time.monotonic_ns()
        return await handler(request)

    return stamp


class VariableDelayGateway(FakeGateway):
    """A ``FakeGateway`` whose ``stage_delay`` is drawn afresh (seeded, uniform between ``low``
    and ``high``) each time a stage waits."""

    def __init__(self, low: float, high: float, seed: int, **options: Any) -> None:
        self._low, self._high = low, high
        self._rng = random.Random(seed)
        super().__init__(**options)

    @property
    def stage_delay(self) -> float:
        return self._rng.uniform(self._low, self._high)

    @stage_delay.setter
    def stage_delay(self, value: float) -> None:
        pass  # the distribution above replaces the fixed delay


class BareReceiver:
    """The bare stack: an aiohttp handler that only parses the JSON and sets a future in a
    dict. Same path shape, same access-log setting as the SDK's receiver."""

    def __init__(self) -> None:
        self.futures: dict[str, asyncio.Future[Any]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        fut = self.futures.get(request.match_info["token"])
        if fut is None:
            return web.json_response({"status": "unknown"}, status=404)
        if not fut.done():
            fut.set_result(body)
        return web.json_response({"status": "received"})

    def round(self, count: int, salt: str) -> tuple[list[Target], Waiters]:
        """Fresh targets for one round, with a waiter on each one's future."""
        self.futures.clear()
        targets = [
            Target(CALLBACK_PREFIX + bare_token(i, salt), task_id_for(i, salt))
            for i in range(count)
        ]
        waiters = Waiters()
        waiters.await_futures(self.futures, targets)
        return targets, waiters

    async def start(self, middlewares: Sequence[Any] = ()) -> int:
        app = web.Application(middlewares=list(middlewares))
        app.router.add_post(CALLBACK_PREFIX + "{token}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, 0).start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def serve_routes(
    routes: Sequence[web.RouteDef], middlewares: Sequence[Any] = ()
) -> tuple[web.AppRunner, int]:
    """Serve ``routes`` (e.g. ``client.callback_routes()``) on a free 127.0.0.1 port."""
    app = web.Application(middlewares=list(middlewares))
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, HOST, 0).start()
    return runner, int(runner.addresses[0][1])


def port_of(url: str | None) -> int:
    assert url is not None
    return int(url.rsplit(":", 1)[1])


# --- the separate load process -------------------------------------------------------------


@dataclasses.dataclass
class LoadResult:
    requests: int
    completed: int
    errors: int
    timed_out: bool
    statuses: dict[str, int]
    seconds: float
    rate: float
    cpu_seconds: float
    late: int
    sent_ns: list[int]
    done_ns: list[int]
    server_cpu: float  # this process's CPU seconds per wall second while the load ran
    server_cpu_seconds: float  # this process's CPU seconds while the load ran

    @property
    def ok(self) -> int:
        return self.statuses.get("200", 0)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def run_load(
    port: int,
    targets: Sequence[Target],
    *,
    mode: str = "closed",
    concurrency: int = 32,
    rate: float | None = None,
    record: bool = False,
    timeout: float = 120.0,
) -> LoadResult:
    """POST each target's ``complete`` body once from a separate process; wait for it."""
    assert targets, "no requests"
    job = {
        "host": HOST,
        "port": port,
        "template": body_template(),
        "placeholders": PLACEHOLDERS,
        "requests": [t.job_entry() for t in targets],
        "mode": mode,
        "concurrency": concurrency,
        "rate": rate,
        "record": record,
        "timeout": timeout,
    }
    with tempfile.TemporaryDirectory(prefix="anyint-bench-") as tmp:
        job_file, out_file = Path(tmp) / "job.json", Path(tmp) / "out.json"
        _write_json(job_file, job)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(LOADGEN),
            str(job_file),
            str(out_file),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stdin is not None
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if line.strip() != b"ready":
                raise RuntimeError(f"the load process did not start: {line!r}")
            cpu0, wall0 = time.process_time(), time.monotonic()
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
            line = await asyncio.wait_for(proc.stdout.readline(), timeout + 30)
            cpu1, wall1 = time.process_time(), time.monotonic()
            if line.strip() != b"done":
                raise RuntimeError(f"the load process failed: {line!r}")
            if await asyncio.wait_for(proc.wait(), 60) != 0:
                raise RuntimeError("the load process exited with an error")
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        out = _read_json(out_file)
    return LoadResult(
        **out,
        server_cpu=(cpu1 - cpu0) / max(wall1 - wall0, 1e-9),
        server_cpu_seconds=cpu1 - cpu0,
    )


# --- other processes and resources ---------------------------------------------------------


@contextlib.asynccontextmanager
async def gateway_process(*, drop_callbacks: bool = True) -> AsyncIterator[str]:
    """A ``FakeGateway`` in a separate process; yields its URL."""
    args = [str(HERE / "_gateway_proc.py"), "--max-seconds", "900"]
    if drop_callbacks:
        args.append("--drop-callbacks")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        url = line.decode().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the gateway process did not start: {line!r}")
        yield url
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def rss_bytes() -> int:
    """This process's resident set size (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
