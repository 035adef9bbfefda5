"""The edges of a long-lived client: background work that fails, lifecycles used wrongly, polls
the gateway refuses for good, and a loop that keeps its own clock."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from _helpers import callback_url
from _redis_server import RedisServer
from aiohttp import web

from anyint_music import (
    AnyIntMusic,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ClientStateError,
    ConfigurationError,
    Model,
    TaskKind,
)
from anyint_music.stores import MemoryStore, RedisStore, SQLiteStore
from anyint_music.stores._base import EventHandler, ResyncHandler
from anyint_music.testing import FakeGateway


def _client(gateway: FakeGateway, **kwargs: Any) -> AnyIntMusic:
    return AnyIntMusic(api_key=gateway.api_key, base_url=gateway.url, **kwargs)


# --- background work that fails ---


class ListenFailsOnce(MemoryStore):
    """A user's store whose listener fails once, as a network blip would."""

    def __init__(self) -> None:
        self.listens = 0
        self.listening = asyncio.Event()

    async def listen(self, on_event: EventHandler, on_resync: ResyncHandler) -> None:
        self.listens += 1
        if self.listens == 1:
            raise RuntimeError("the listener's connection broke")
        self.listening.set()
        await asyncio.Event().wait()  # listens until the client closes


async def test_a_failed_background_loop_is_logged_and_restarted(
    anyint_gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    store = ListenFailsOnce()
    async with _client(anyint_gateway, store=store) as client:
        async with asyncio.timeout(10):
            await store.listening.wait()
        song = await client.generate("still working", model=Model.V5, timeout=20)
    assert song.tracks
    assert store.listens == 2
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("store listener" in r.getMessage() for r in failures)
    assert any("connection broke" in r.getMessage() for r in failures)


@pytest.fixture
def prefix() -> str:
    return f"edge-{time.monotonic_ns()}:"


async def test_a_damaged_stored_event_does_not_stop_cross_worker_wake_ups(
    anyint_gateway: FakeGateway,
    redis_server: RedisServer,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A re-sync reads every pending task of the worker; one damaged record among them must not
    end the worker's wake-ups for all the others."""

    def worker(name: str) -> AnyIntMusic:
        store = RedisStore(redis_server.url, worker_id=name, prefix=prefix)
        return _client(anyint_gateway, store=store, poll_interval=None)

    anyint_gateway.stage_delay = 1.0
    async with worker("a") as a, worker("b") as b:
        anyint_gateway.receivers = [b.public_url or ""]  # every callback lands on the other
        damaged = await a.submit_generate("damaged", model=Model.V5)
        token = callback_url(anyint_gateway).rsplit("/", 1)[1]
        healthy = await a.submit_generate("healthy", model=Model.V5)
        raw = aioredis.Redis.from_url(redis_server.url)
        try:
            await raw.hset(f"{prefix}ev:{token}", "first", "{not json")
            await raw.rpush(f"{prefix}evo:{token}", "first")
            # drop the subscription: the worker re-subscribes and re-reads its pending tasks
            await raw.client_kill_filter(_type="pubsub")
        finally:
            await raw.aclose()
        song = await healthy.wait(timeout=20)
        assert song.tracks
        assert (await damaged.wait(timeout=20)).tracks  # its complete stage was stored fine
    assert any(
        r.levelno == logging.ERROR and "malformed stored" in r.getMessage() for r in caplog.records
    )


# --- lifecycle ---


class CountingStore(SQLiteStore):
    """A SQLite store that counts how often the client opens and closes it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.opened = 0
        self.closed = 0

    async def open(self) -> None:
        self.opened += 1
        await super().open()

    async def close(self) -> None:
        self.closed += 1
        await super().close()


async def test_entering_a_client_twice_is_refused_and_leaves_it_open(
    anyint_gateway: FakeGateway,
) -> None:
    async with _client(anyint_gateway) as client:
        with pytest.raises(ClientStateError, match="already in an 'async with'"):
            async with client:
                pass
        assert (await client.generate("after", model=Model.V5, timeout=20)).tracks


async def test_concurrent_opens_start_the_client_once(
    anyint_gateway: FakeGateway, tmp_path: Path
) -> None:
    store = CountingStore(tmp_path / "tasks.db")
    client = _client(anyint_gateway, store=store)
    try:
        first, second = await asyncio.gather(client.open(), client.open())
        assert first is second is client
        assert store.opened == 1
        assert (await client.generate("once", model=Model.V5, timeout=20)).tracks
    finally:
        await client.aclose()
    assert store.closed == 1


@pytest.mark.parametrize("failure", ["port in use", "unreachable with polling off"])
async def test_a_failed_open_releases_what_it_opened(tmp_path: Path, failure: str) -> None:
    store = CountingStore(tmp_path / "tasks.db")
    if failure == "port in use":
        async with FakeGateway() as gateway, _client(gateway) as holder:
            assert holder.public_url is not None
            port = int(holder.public_url.rsplit(":", 1)[1])
            client = _client(gateway, store=store, callback_port=port)
            with pytest.raises(OSError, match="address already in use"):
                await client.open()
    else:
        client = AnyIntMusic(
            api_key="k", base_url="https://gateway.example.test", poll_interval=None, store=store
        )
        with pytest.raises(ValueError, match="public_url"):
            await client.open()
    assert store.opened == store.closed == 1
    await client.aclose()


# --- polls refused for good ---


async def test_a_poll_for_an_unknown_task_ends_the_wait_with_that_error(
    anyint_gateway: FakeGateway,
) -> None:
    async with _client(anyint_gateway, poll_interval=None) as client:
        with pytest.raises(BadRequestError, match="not found"):
            await client.task("no-such-task").wait(timeout=20)
        assert client.stats().polls == 1
        assert client.stats().failed == 1


async def test_a_poll_refused_for_its_key_ends_the_wait_with_that_error(
    anyint_gateway: FakeGateway,
) -> None:
    async with AnyIntMusic(api_key="wrong", base_url=anyint_gateway.url) as client:
        with pytest.raises(AuthenticationError):
            await client.task("any-task", kind=TaskKind.LYRICS).wait(timeout=20)
        assert client.stats().polls == 1


# --- one clock ---


class BehindLoop(asyncio.SelectorEventLoop):
    """A loop whose clock started long after the system's monotonic clock, as loops with a
    clock of their own (virtual time, a host framework's) do."""

    def time(self) -> float:
        return super().time() - 1_000_000.0


def test_task_ages_are_judged_on_the_loop_clock(tmp_path: Path) -> None:
    async def run() -> list[int]:
        async with (
            FakeGateway(stage_delay=2.0) as gateway,  # "first" ends 6 s in
            _client(gateway, max_task_age=30) as client,  # tasks swept every 3 s
        ):
            first = await client.submit_generate("first", model=Model.V5)
            await asyncio.sleep(3.1)  # the next submit sweeps: "first" is 3 s old, not 30
            second = await client.submit_generate("second", model=Model.V5)
            songs = [await first.wait(timeout=20), await second.wait(timeout=20)]
            return [len(song.tracks) for song in songs]

    with asyncio.Runner(loop_factory=BehindLoop) as runner:
        assert runner.run(run()) == [2, 2]


@pytest.mark.parametrize(
    "setting",
    [
        {"callback_max_connections": 0},
        {"callback_read_timeout": 0.0},
        {"poll_concurrency": 0},
        {"poll_concurrency": 2.5},
    ],
)
def test_receiver_and_poll_limits_are_checked_up_front(setting: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(setting)).split("_", 1)[1]):
        AnyIntMusic(api_key="k", **setting)


async def test_a_proxy_error_page_on_a_poll_does_not_end_the_wait(
    anyint_gateway: FakeGateway,
) -> None:
    """A load balancer in front of the gateway answers one poll with its own bare 404 page:
    that says nothing of the task, so the wait goes on and a later poll brings the result."""
    anyint_gateway.drop_callbacks = True
    anyint_gateway.stage_delay = 0.2
    pages = 0

    async def balancer(request: web.Request) -> web.StreamResponse:
        nonlocal pages
        if request.path.startswith("/suno/query") and pages == 0:
            pages += 1
            return web.Response(status=404, text="<html>404 Not Found</html>")
        async with aiohttp.ClientSession() as session:
            upstream = await session.request(
                request.method,
                anyint_gateway.url + request.path_qs,
                headers={"Authorization": request.headers.get("Authorization", "")},
                data=await request.read(),
            )
            body = await upstream.read()
            return web.Response(status=upstream.status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", balancer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with AnyIntMusic(
            api_key=anyint_gateway.api_key, base_url=f"http://{host}:{port}", poll_interval=0.2
        ) as client:
            task = await client.submit_generate("behind a balancer", model=Model.V5)
            song = await task.wait(timeout=20)
            assert client.stats().polls >= 2
    finally:
        await runner.cleanup()
    assert pages == 1
    assert [t.id for t in song.tracks] == [
        t["id"] for t in anyint_gateway.task(task.id).result or ()
    ]


class SlowOpenStore(SQLiteStore):
    """A store that takes its time to open, as a remote one does."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.opening = asyncio.Event()
        self.proceed = asyncio.Event()
        self.closed = 0

    async def open(self) -> None:
        self.opening.set()
        await self.proceed.wait()
        await super().open()

    async def close(self) -> None:
        self.closed += 1
        await super().close()


async def test_closing_while_opening_leaves_the_client_closed(
    anyint_gateway: FakeGateway, tmp_path: Path
) -> None:
    store = SlowOpenStore(tmp_path / "tasks.db")
    client = _client(anyint_gateway, store=store)
    opening = asyncio.create_task(client.open())
    await store.opening.wait()
    await client.aclose()  # a shutdown hook while startup still runs
    store.proceed.set()
    with pytest.raises(ClientClosedError, match="closed while it opened"):
        await opening
    assert store.closed == 1
    with pytest.raises(ClientClosedError):
        await client.generate("after", model=Model.V5)


async def test_a_deadline_does_not_follow_work_started_inside_the_call(
    anyint_gateway: FakeGateway,
) -> None:
    """A hook that starts more work while a waiting call submits must not hand that work the
    call's deadline."""
    anyint_gateway.early_callbacks = True  # the hook runs inside the submit
    later: list[asyncio.Task[Any]] = []

    async def follow_up() -> Any:
        await asyncio.sleep(1.2)  # past the first call's deadline
        task = await client.submit_lyrics("a follow-up")  # no deadline of its own
        return await task.wait(timeout=20)

    def hook(event: Any) -> None:
        if not later:
            later.append(asyncio.get_running_loop().create_task(follow_up()))

    async with _client(anyint_gateway, on_event=hook) as client:
        await client.generate("quick", model=Model.V5, timeout=1)
        assert later
        lyrics = await later[0]
    assert lyrics.variants
