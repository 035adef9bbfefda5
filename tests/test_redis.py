"""RedisStore: several workers behind one load balancer share tokens, stages and results."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from _redis_server import RedisServer, free_port

from anyint_music import AnyIntMusic, Model, Stage, StoreError
from anyint_music.stores import RedisStore, TaskStore
from anyint_music.testing import FakeGateway

WORKER = Path(__file__).with_name("_redis_worker.py")


@pytest.fixture
def prefix() -> str:
    return f"test-{secrets.token_hex(4)}:"


def _client(
    gw: FakeGateway, redis_url: str, prefix: str, worker: str, **kwargs: Any
) -> AnyIntMusic:
    return AnyIntMusic(
        api_key=gw.api_key,
        base_url=gw.url,
        store=RedisStore(redis_url, worker_id=worker, prefix=prefix),
        **kwargs,
    )


@pytest.fixture
async def pair(
    anyint_gateway: FakeGateway, redis_server: RedisServer, prefix: str
) -> AsyncIterator[tuple[AnyIntMusic, AnyIntMusic]]:
    """Two workers sharing one Redis; the gateway sprays callbacks across both."""
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(_client(anyint_gateway, redis_server.url, prefix, "a"))
        b = await stack.enter_async_context(_client(anyint_gateway, redis_server.url, prefix, "b"))
        anyint_gateway.receivers = [a.public_url or "", b.public_url or ""]
        yield a, b


def test_redis_store_satisfies_the_protocol() -> None:
    assert isinstance(RedisStore("redis://127.0.0.1:1/0"), TaskStore)
    assert "secret" not in repr(RedisStore("redis://user:secret@127.0.0.1:1/0"))


async def test_callbacks_landing_on_another_worker_wake_the_waiting_one(
    anyint_gateway: FakeGateway, pair: tuple[AnyIntMusic, AnyIntMusic]
) -> None:
    a, b = pair
    songs = await asyncio.gather(
        *(a.generate(f"from a {i}", model=Model.V5) for i in range(10)),
        *(b.generate(f"from b {i}", model=Model.V5) for i in range(10)),
    )
    for song in songs:
        made = anyint_gateway.task(song.task_id)
        assert [t.id for t in song.tracks] == [t["id"] for t in made.result]
    hosts = Counter(c.url.split("/anyint/")[0] for c in anyint_gateway.callbacks)
    assert set(hosts) == {a.public_url, b.public_url}  # both receivers took callbacks


async def test_export_callbacks_landing_on_another_worker_wake_the_waiting_one(
    anyint_gateway: FakeGateway, pair: tuple[AnyIntMusic, AnyIntMusic]
) -> None:
    a, b = pair
    song = await a.generate("to export", model=Model.V5)
    track = song.tracks[0].id
    wav, stems, video, persona = await asyncio.gather(
        a.wav_generate(song.task_id, track),
        b.vocal_removal(song.task_id, track),
        a.mp4_generate(song.task_id, track),
        b.generate_persona(song.task_id, track, name="n", description="d"),
    )
    assert wav.audio_wav_url
    assert stems.vocal_url
    assert video.video_url
    assert persona.persona_id
    hosts = Counter(c.url.split("/anyint/")[0] for c in anyint_gateway.callbacks)
    assert set(hosts) == {a.public_url, b.public_url}


async def test_duplicates_across_workers_resolve_once(
    anyint_gateway: FakeGateway, pair: tuple[AnyIntMusic, AnyIntMusic]
) -> None:
    a, _ = pair
    anyint_gateway.duplicates = 3
    tasks = [await a.submit_generate(f"echo {i}", model=Model.V5) for i in range(5)]
    for task in tasks:
        await task
        assert [e.stage async for e in task.events()] == [Stage.TEXT, Stage.FIRST, Stage.COMPLETE]


async def test_early_callbacks_on_another_worker_are_claimed(
    anyint_gateway: FakeGateway, pair: tuple[AnyIntMusic, AnyIntMusic]
) -> None:
    a, _ = pair
    anyint_gateway.early_callbacks = True
    songs = await asyncio.gather(
        *(a.generate(f"early {i}", model=Model.V5, timeout=20) for i in range(6))
    )
    assert all(len(s.tracks) == 2 for s in songs)


async def test_a_gone_workers_results_are_picked_up_by_another(
    anyint_gateway: FakeGateway, redis_server: RedisServer, prefix: str
) -> None:
    anyint_gateway.stage_delay = 0.2
    async with _client(anyint_gateway, redis_server.url, prefix, "b") as b:
        a = _client(anyint_gateway, redis_server.url, prefix, "a")
        await a.open()
        anyint_gateway.receivers = [a.public_url or "", b.public_url or ""]
        ids = [(await a.submit_generate(f"orphan {i}", model=Model.V5)).id for i in range(4)]
        await a.aclose()  # gone before any callback: they now land on b only
        await anyint_gateway.wait_idle(timeout=20)
        songs = [await b.task(task_id).wait(timeout=10) for task_id in ids]
    for task_id, song in zip(ids, songs, strict=True):
        assert [t.id for t in song.tracks] == [t["id"] for t in anyint_gateway.task(task_id).result]
    assert not any(r.path.startswith("/suno/query") for r in anyint_gateway.requests)  # from Redis


async def test_redis_outage_is_a_clear_error_then_recovers(
    anyint_gateway: FakeGateway, tmp_path: Path, prefix: str
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        anyint_gateway.stage_delay = 0.3
        anyint_gateway.retry_delays = (0.3, 0.6, 1.2, 2.4)
        async with _client(
            anyint_gateway, server.url, prefix, "solo", poll_interval=None
        ) as client:
            task = await client.submit_generate("through the outage", model=Model.V5)
            server.stop()
            with pytest.raises(StoreError, match=r"unavailable.*Nothing was sent"):
                await client.submit_generate("refused while Redis is down", model=Model.V5)
            async with asyncio.timeout(10):  # until a callback met the outage (503, retried)
                while not any(c.status == 503 for c in anyint_gateway.callbacks):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            server.start()
            song = await task.wait(timeout=15)
            assert len(song.tracks) == 2
            assert (await client.generate(prompt="after", model=Model.V5, timeout=10)).tracks
        refused = [c for c in anyint_gateway.callbacks if c.status == 503]
        assert refused  # the outage was seen, answered with "try again", and survived
        assert (
            len([t for t in anyint_gateway.tasks if t.request["prompt"].startswith("refused")]) == 0
        )
    finally:
        server.stop()


async def _spawn(
    gw: FakeGateway, redis_url: str, prefix: str, worker: str, port: int, count: int
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        "--gateway",
        gw.url,
        "--key",
        gw.api_key,
        "--redis",
        redis_url,
        "--prefix",
        prefix,
        "--worker",
        worker,
        "--port",
        str(port),
        "--count",
        str(count),
        stdout=asyncio.subprocess.PIPE,
    )


async def _lines_until(proc: asyncio.subprocess.Process, last: str) -> list[str]:
    assert proc.stdout is not None
    lines = []
    while True:
        line = (await proc.stdout.readline()).decode().strip()
        if not line:
            return lines  # the process ended
        lines.append(line)
        if line == last:
            return lines


async def test_three_worker_processes_1000_tasks_one_killed(
    redis_server: RedisServer, prefix: str
) -> None:
    ports = [free_port() for _ in range(3)]
    counts = [333, 333, 334]
    async with FakeGateway(
        stage_delay=0.5,
        skip_stages=True,
        record=False,
        retry_delays=(0.2, 0.4, 0.8, 1.6),
        receivers=[f"http://127.0.0.1:{p}" for p in ports],
    ) as gw:
        procs = [
            await _spawn(gw, redis_server.url, prefix, f"w{i}", port, count)
            for i, (port, count) in enumerate(zip(ports, counts, strict=True))
        ]
        async with asyncio.timeout(120):
            submitted = [await _lines_until(p, "submitted") for p in procs]
            ids = [
                {line.split()[1] for line in lines if line.startswith("id ")} for lines in submitted
            ]
            victim = procs[2]
            # Half-way: its tasks are submitted, none has finished. On a machine slow enough
            # that it got every result before this line, it has exited: its results are then
            # in Redis all the same, which the rescuer below checks.
            with contextlib.suppress(ProcessLookupError):
                victim.kill()
            await victim.wait()
            finished = [await _lines_until(p, "done") for p in procs[:2]]
            for p in procs[:2]:
                assert await p.wait() == 0
        await gw.wait_idle(timeout=60)
        results: dict[str, list[str]] = {}
        for lines in finished:
            for line in lines:
                if line.startswith("result "):
                    _, task_id, tracks = line.split(" ", 2)
                    assert task_id not in results  # each result reached exactly one waiter once
                    results[task_id] = json.loads(tracks)
        # the killed worker's tasks: results are in Redis for any other worker to pick up
        async with AnyIntMusic(
            api_key=gw.api_key,
            base_url=gw.url,
            store=RedisStore(redis_server.url, worker_id="rescuer", prefix=prefix),
            poll_interval=0.5,
        ) as rescuer:
            for task_id in ids[2]:
                song = await rescuer.task(task_id).wait(timeout=30)
                results[task_id] = [t.id for t in song.tracks]
        made = {t.id: [track["id"] for track in t.result or ()] for t in gw.tasks}
    assert set(results) == ids[0] | ids[1] | ids[2]
    assert len(results) == 1000
    assert results == {task_id: made[task_id] for task_id in results}
    assert gw.stats.tasks_created == 1000


async def test_a_killed_workers_tasks_are_taken_over_at_callback_speed(
    redis_server: RedisServer, prefix: str
) -> None:
    """Three workers behind one balancer; one is SIGKILLed before its callbacks come, and a
    survivor re-attaches to its 40 tasks. Whichever survivor each callback lands on, the adopter
    hears it at once: its only poll is the first read (the next would be 30 s later)."""
    dead_port = free_port()
    async with FakeGateway(stage_delay=2.0, retry_delays=(0.05, 0.1, 0.2, 0.4, 0.8)) as gw:
        async with AsyncExitStack() as stack:
            a = await stack.enter_async_context(
                _client(gw, redis_server.url, prefix, "a", poll_interval=None, timeout=90)
            )
            b = await stack.enter_async_context(
                _client(gw, redis_server.url, prefix, "b", poll_interval=None, timeout=90)
            )
            gw.receivers = [a.public_url or "", b.public_url or "", f"http://127.0.0.1:{dead_port}"]
            victim = await _spawn(gw, redis_server.url, prefix, "c", dead_port, 40)
            async with asyncio.timeout(60):
                lines = await _lines_until(victim, "submitted")
                victim.kill()
                await victim.wait()
            orphans = [line.split()[1] for line in lines if line.startswith("id ")]
            assert len(orphans) == 40
            tasks = [a.task(task_id) for task_id in orphans]
            songs = await asyncio.gather(*(t.wait(timeout=25) for t in tasks))
            results = {
                task.id: [t.id for t in song.tracks]
                for task, song in zip(tasks, songs, strict=True)
            }
        await gw.wait_idle(timeout=30)
        made = {t.id: [track["id"] for track in t.result or ()] for t in gw.tasks}
        polls = Counter(
            r.query.get("taskId") for r in gw.requests if r.path.startswith("/suno/query")
        )
        landed_on_b = {
            c.task_id
            for c in gw.callbacks
            if c.status == 200 and c.url.startswith(b.public_url or "?")
        }
    assert results == {task_id: made[task_id] for task_id in orphans}
    assert landed_on_b & set(orphans)  # the other survivor took some of them
    assert all(polls[task_id] <= 1 for task_id in orphans), polls


class GatedStore(RedisStore):
    """A real RedisStore whose answer to a re-attach reaches the worker only when the test says:
    the moment in which a callback may race the re-attach, held open."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watched = asyncio.Event()
        self.reply = asyncio.Event()
        self.reply.set()

    async def watch_task(self, task_id: str) -> Any:
        found = await super().watch_task(task_id)
        self.watched.set()
        await self.reply.wait()
        return found


@pytest.mark.parametrize(
    "race",
    [
        "callback on the adopter, looked up before the re-attach",
        "callback on a third worker before the adopter reads its re-attach",
        "callback on the adopter before it reads its re-attach",
    ],
)
async def test_a_callback_racing_a_re_attach_reaches_the_adopter(
    redis_server: RedisServer, prefix: str, race: str
) -> None:
    """Workers a (the submitter, gone quiet), b (re-attaches with client.task) and c; no polls:
    whichever moment the final callback comes, b's wait ends from it, once."""
    from anyint_music._models import TaskEvent, TaskKind
    from anyint_music._registry import TaskRegistry

    registries: dict[str, TaskRegistry] = {}
    listeners = []
    stores: list[RedisStore] = []
    for name in ("a", "b", "c"):
        store = GatedStore(redis_server.url, worker_id=name, prefix=prefix)
        await store.open()
        stores.append(store)
        registries[name] = TaskRegistry(store)
        listeners.append(
            asyncio.create_task(store.listen(registries[name].remote, registries[name].resync))
        )
    a, b, c = registries["a"], registries["b"], registries["c"]
    b_store = stores[1]
    try:
        submitted = await a.new(TaskKind.COVER)
        await a.bind(submitted, "cover-task")
        token = submitted.token
        assert token is not None
        final = TaskEvent(
            "cover-task", TaskKind.COVER, Stage.COMPLETE, images=("https://files.test/1.png",)
        )
        if race.startswith("callback on the adopter, looked up"):
            found = await b.lookup(token)  # the receiver reads the store: a's task, for now
            waited = b.attach("cover-task", TaskKind.COVER)
            async with asyncio.timeout(10):
                await b_store.watched.wait()
            assert found is not None
            assert not hasattr(found, "future")  # a record of a's task, not a waiter
            await b.deliver_foreign(found, final)  # type: ignore[arg-type]
        else:
            b_store.reply.clear()
            waited = b.attach("cover-task", TaskKind.COVER)
            async with asyncio.timeout(10):
                await b_store.watched.wait()
            receiver = c if "third" in race else b
            state = receiver.get_token(token) or await receiver.lookup(token)
            assert state is not None
            if hasattr(state, "future"):
                await receiver.deliver(state, final)  # type: ignore[arg-type]
            else:
                await receiver.deliver_foreign(state, final)
            b_store.reply.set()
        async with asyncio.timeout(10):
            result = await waited.future
        assert result.images == ("https://files.test/1.png",)
        assert b.get_token(token) is waited
        assert b.completed == 1
    finally:
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for name in registries:
            registries[name].close()
            await registries[name].background.aclose()
        for store in stores:
            await store.close()
