"""Stores: results outlive a restart, a killed worker is taken over, memory stays bounded."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import sqlite3
import sys
import tracemalloc
from pathlib import Path

import pytest
from _helpers import FUTURE_ITER_FREE_LIST, callback_url, complete_body, post, sdk_growth

from anyint_music import (
    AnyIntMusic,
    Model,
    MusicResult,
    Stage,
    TaskEvent,
    TaskKind,
    TaskTimeoutError,
    Track,
)
from anyint_music._kinds import parse_callback
from anyint_music._registry import TaskRegistry
from anyint_music.stores import MemoryStore, SQLiteStore, TaskStore
from anyint_music.stores._base import keeps_bodies
from anyint_music.testing import FakeGateway

WORKER = Path(__file__).with_name("_worker.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_stores_satisfy_the_protocol(tmp_path: Path) -> None:
    assert isinstance(MemoryStore(), TaskStore)
    assert isinstance(SQLiteStore(tmp_path / "x.db"), TaskStore)


async def test_results_outlive_the_client(anyint_gateway: FakeGateway, tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    options = {"api_key": anyint_gateway.api_key, "base_url": anyint_gateway.url}
    async with AnyIntMusic(**options, store=SQLiteStore(path)) as first:
        song = await first.generate(prompt="keep me", model=Model.V5)
        lyrics = await first.generate_lyrics("keep these words")
    queries_before = [r for r in anyint_gateway.requests if r.path.startswith("/suno/query")]
    async with AnyIntMusic(**options, store=SQLiteStore(path)) as second:
        assert await second.task(song.task_id).wait(timeout=5) == song
        assert await second.task(lyrics.task_id, kind="lyrics").wait(timeout=5) == lyrics
        assert await second.pending() == []
    queries_after = [r for r in anyint_gateway.requests if r.path.startswith("/suno/query")]
    assert queries_after == queries_before  # answered from the store, not by polling


class _OwnStore(SQLiteStore):
    """A store of the user's own whose ``add_event`` takes no ``source``."""

    async def add_event(self, token: str, event: TaskEvent) -> bool:
        return await super().add_event(token, event)


class _Positional:
    async def add_event(self, token: str, event: TaskEvent, source: bytes, /) -> bool: ...


class _Required:
    async def add_event(self, token: str, event: TaskEvent, *, source: bytes) -> bool: ...


def test_only_a_store_that_takes_source_by_keyword_and_can_do_without_it_gets_bodies(
    tmp_path: Path,
) -> None:
    assert keeps_bodies(SQLiteStore(tmp_path / "x.db"))
    for store in (_OwnStore(tmp_path / "x.db"), _Positional(), _Required(), MemoryStore()):
        assert not keeps_bodies(store), store


@pytest.mark.parametrize(("store_class", "stored_as"), [(SQLiteStore, "blob"), (_OwnStore, "text")])
async def test_callbacks_are_stored_as_received_by_a_store_that_takes_the_body(
    anyint_gateway: FakeGateway, tmp_path: Path, store_class: type[SQLiteStore], stored_as: str
) -> None:
    path = tmp_path / "tasks.db"
    options = {"api_key": anyint_gateway.api_key, "base_url": anyint_gateway.url}
    async with AnyIntMusic(**options, store=store_class(path)) as client:
        song = await client.generate(prompt="keep the body", model=Model.V5)
    sent = {c.stage: c.body for c in anyint_gateway.callbacks}
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT stage, typeof(body), body FROM events ORDER BY seq").fetchall()
    assert [(stage, kind) for stage, kind, _ in rows] == [
        (stage, stored_as) for stage in ("text", "first", "complete")
    ]
    if stored_as == "blob":
        assert {stage: json.loads(body) for stage, _, body in rows} == sent  # as sent
    async with AnyIntMusic(**options, store=SQLiteStore(path)) as again:
        assert await again.task(song.task_id).wait(timeout=5) == song


async def test_events_stored_either_way_read_back_in_order(tmp_path: Path) -> None:
    # A body in any encoding JSON may come in, beside an event stored as JSON (a poll's, or
    # one in a file of an earlier version).
    body = complete_body("id-tok")
    complete = parse_callback(TaskKind.MUSIC, body)
    store = SQLiteStore(tmp_path / "mixed.db")
    await store.open()
    try:
        await store.save_token("tok", TaskKind.MUSIC, 0.0)
        text = _event("tok", Stage.TEXT, "polled")
        assert await store.add_event("tok", text) is True
        utf16 = json.dumps(body, ensure_ascii=False).encode("utf-16")
        assert await store.add_event("tok", complete, source=utf16) is True
        record = await store.load_token("tok")
        assert record is not None
        assert record.events == (text, complete)
        assert len(complete.tracks) == 2
    finally:
        await store.close()


async def test_late_duplicate_to_a_restarted_client_gets_200(
    anyint_gateway: FakeGateway, tmp_path: Path
) -> None:
    path, port = tmp_path / "tasks.db", free_port()
    options = {
        "api_key": anyint_gateway.api_key,
        "base_url": anyint_gateway.url,
        "callback_port": port,
    }
    async with AnyIntMusic(**options, store=SQLiteStore(path)) as first:
        song = await first.generate(prompt="done before", model=Model.V5)
    url = callback_url(anyint_gateway)
    body = anyint_gateway.callbacks[-1].body
    async with AnyIntMusic(**options, store=SQLiteStore(path)):
        assert (await post(url, body))[0] == 200
        assert (await post(url.rsplit("/", 1)[0] + "/never-issued", body))[0] == 404
    assert song.task_id == body["data"]["task_id"]


async def _spawn_worker(
    gw: FakeGateway, store: Path, port: int, count: int
) -> tuple[asyncio.subprocess.Process, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        "--gateway",
        gw.url,
        "--key",
        gw.api_key,
        "--store",
        str(store),
        "--port",
        str(port),
        "--count",
        str(count),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    ids = []
    async with asyncio.timeout(30):
        for _ in range(count):
            ids.append((await proc.stdout.readline()).decode().strip())
    return proc, ids


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.kill()  # SIGKILL: no clean-up of any kind runs
    await proc.wait()


async def test_killed_worker_is_taken_over_through_retried_callbacks(tmp_path: Path) -> None:
    store, port, count = tmp_path / "tasks.db", free_port(), 20
    async with FakeGateway(stage_delay=0.3, retry_delays=(0.3, 0.6, 1.2, 2.4, 4.8)) as gw:
        proc, ids = await _spawn_worker(gw, store, port, count)
        await _kill(proc)
        async with AnyIntMusic(
            api_key=gw.api_key,
            base_url=gw.url,
            store=SQLiteStore(store),
            callback_port=port,
            public_url=f"http://127.0.0.1:{port}",
            poll_interval=None,
        ) as client:
            resumed = await client.pending()
            assert {t.id for t in resumed} <= set(ids)
            results = {i: await client.task(i).wait(timeout=20) for i in ids}
        await gw.wait_idle(timeout=20)
    for task_id, song in results.items():
        assert [t.id for t in song.tracks] == [t["id"] for t in gw.task(task_id).result]
    # every callback sent to the old tokens after the restart was accepted, none refused
    assert not [c for c in gw.callbacks if c.status is not None and c.status != 200]


async def test_killed_worker_whose_callbacks_were_given_up_is_resumed_by_polling(
    tmp_path: Path,
) -> None:
    store, port, count = tmp_path / "tasks.db", free_port(), 10
    async with FakeGateway(stage_delay=0.2, retry_delays=(0.05,)) as gw:
        proc, ids = await _spawn_worker(gw, store, port, count)
        await _kill(proc)
        await gw.wait_idle(timeout=20)  # every delivery failed and was given up
        async with AnyIntMusic(
            api_key=gw.api_key, base_url=gw.url, store=SQLiteStore(store), poll_interval=0.05
        ) as client:
            resumed = await client.pending()
            assert {t.id for t in resumed} == set(ids)
            songs = await asyncio.gather(*(t.wait(timeout=20) for t in resumed))
    assert {s.task_id for s in songs} == set(ids)
    assert all(len(s.tracks) == 2 for s in songs)


async def test_kill_during_writes_leaves_a_sound_database(tmp_path: Path) -> None:
    store, port = tmp_path / "tasks.db", free_port()
    async with FakeGateway(stage_delay=0.01) as gw:
        proc, _ = await _spawn_worker(gw, store, port, 40)
        # callbacks are being written while the submits go on; kill in the middle of it
        await _kill(proc)
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT token, task_id FROM tasks").fetchall()
        bodies = db.execute("SELECT body FROM events").fetchall()
    assert rows
    for (body,) in bodies:
        json.loads(body)
    reopened = SQLiteStore(store)
    await reopened.open()
    try:
        for token, _ in rows:
            record = await reopened.load_token(token)
            assert record is not None
            assert all(e.task_id == record.task_id for e in record.events)
    finally:
        await reopened.close()


async def test_tasks_past_max_age_are_given_up(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.drop_callbacks = True
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        poll_interval=None,
        max_task_age=0.05,
    ) as client:
        task = await client.submit_generate("forgotten", model=Model.V5)
        await asyncio.sleep(0.1)
        await client.submit_lyrics("the next submit sweeps the old one")
        with pytest.raises(TaskTimeoutError):
            await task.wait(timeout=5)
        assert task.id not in {t.id for t in await client.pending()}


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
async def test_memory_returns_to_base_after_many_tasks(tmp_path: Path, store_kind: str) -> None:
    async with FakeGateway(skip_stages=True, record=False) as gw:
        store = SQLiteStore(tmp_path / "m.db") if store_kind == "sqlite" else MemoryStore()
        async with AnyIntMusic(
            api_key=gw.api_key, base_url=gw.url, store=store, retention=0.01
        ) as client:

            async def batch(n: int) -> None:
                results = await asyncio.gather(
                    *(client.generate(prompt=f"s{i}", model="V5") for i in range(n))
                )
                assert len(results) == n

            tracemalloc.start()
            # A first round grows dicts and pools to the peak they need (they do not shrink);
            # a second round of the same size must then leave nothing behind.
            await batch(600)
            await asyncio.sleep(0.05)
            client._registry.prune()
            gc.collect()
            base = tracemalloc.take_snapshot()
            await batch(600)
            await asyncio.sleep(0.05)
            client._registry.prune()
            await gw.wait_idle()
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            sdk = sdk_growth(base, after, "filename")
            grown = sum(s.size_diff for s in sdk)
            assert len(client._registry) == 0
            # < 20 bytes a task left, beside asyncio's free list
            assert grown < 600 * 20 + FUTURE_ITER_FREE_LIST, [str(s) for s in sdk[:5]]


def _event(token: str, stage: Stage, message: str = "") -> TaskEvent:
    return TaskEvent(f"id-{token}", TaskKind.MUSIC, stage, message=message)


async def _write_concurrently(
    store: SQLiteStore, tokens: list[str], stages: list[Stage]
) -> tuple[list[tuple[str, TaskEvent]], list[bool]]:
    """Save ``tokens``, then write ``stages`` for each (message ``#n``) all at once: the first
    write commits alone, and all the others queue behind it and share the next commit."""
    await asyncio.gather(*(store.save_token(t, TaskKind.MUSIC, 0.0) for t in tokens))
    writes = [(t, _event(t, s, f"#{n}")) for t in tokens for n, s in enumerate(stages)]
    async with asyncio.timeout(10):
        added = await asyncio.gather(*(store.add_event(t, e) for t, e in writes))
    return writes, added


async def _assert_stored(store: SQLiteStore, tokens: list[str], expected: list[str]) -> None:
    """Each token holds the stages ``expected`` (by message) in arrival order, and its final
    event marked it finished."""
    for token in tokens:
        # bind reads what add_event committed, in arrival order
        events = await store.bind(token, f"id-{token}")
        assert [e.message for e in events] == expected, token
    assert await store.pending() == []  # every final event marked its task finished


async def test_concurrent_event_writes_keep_the_first_per_stage_in_order(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tasks.db")
    await store.open()
    try:
        # 600 tasks: their final events share a commit, more than one UPDATE's worth of them;
        # both copies of a token's `first` race inside one transaction.
        tokens = [f"t{i}" for i in range(600)]
        stages = [Stage.TEXT, Stage.FIRST, Stage.FIRST, Stage.COMPLETE]
        writes, added = await _write_concurrently(store, tokens, stages)
        assert added == [e.message != "#2" for _, e in writes]
        assert await store.add_event("never-saved", _event("never-saved", Stage.TEXT)) is False
        await _assert_stored(store, tokens, ["#0", "#1", "#3"])
    finally:
        await store.close()


async def test_event_writes_sharing_a_commit_come_back_in_arrival_order(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tasks.db")
    await store.open()
    try:
        # No duplicate: the writes that share a commit are stored many to a statement, a
        # token's stages side by side and across the statements' boundaries, in an order
        # that is not the alphabetical one.
        tokens = [f"t{i}" for i in range(400)]
        writes, added = await _write_concurrently(
            store, tokens, [Stage.TEXT, Stage.FIRST, Stage.COMPLETE]
        )
        assert added == [True] * len(writes)
        # A later event of a token comes after those stored in earlier commits.
        assert await store.add_event("t1", _event("t1", Stage.ERROR, "#3")) is True
        await _assert_stored(store, tokens[2:], ["#0", "#1", "#2"])
        await _assert_stored(store, ["t1"], ["#0", "#1", "#2", "#3"])
    finally:
        await store.close()


async def test_a_row_the_database_refuses_fails_only_its_own_caller(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tasks.db"
    store = SQLiteStore(path)
    await store.open()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        for token in "abcd":
            await store.save_token(token, TaskKind.MUSIC, 0.0)
        # A real SQLite error from inside the transaction: another connection makes the
        # database refuse any event for token c.
        other.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.token = 'c' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        async with asyncio.timeout(10):
            # a commits alone; b, c and d queue behind it and share a commit that c fails
            results = await asyncio.gather(
                *(store.add_event(t, _event(t, Stage.COMPLETE)) for t in "abcd"),
                return_exceptions=True,
            )
        assert results[0] is True
        assert results[1] is True
        assert isinstance(results[2], sqlite3.IntegrityError), results[2]
        assert results[3] is True
        for token, kept in zip("abcd", [1, 1, 0, 1], strict=True):
            record = await store.load_token(token)
            assert record is not None
            assert len(record.events) == kept
        other.execute("DROP TRIGGER refuse")
        async with asyncio.timeout(10):
            retried = await store.add_event("c", _event("c", Stage.COMPLETE))
        assert retried is True
    finally:
        other.close()
        await store.close()


async def test_close_commits_the_event_writes_queued_before_it(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    store = SQLiteStore(path)
    await store.open()
    tokens = [f"t{i}" for i in range(50)]
    for token in tokens:
        await store.save_token(token, TaskKind.MUSIC, 0.0)
    writes = [asyncio.create_task(store.add_event(t, _event(t, Stage.COMPLETE))) for t in tokens]
    await asyncio.sleep(0)  # every write queued, the first one's commit under way
    writes[-1].cancel()  # a caller gone while queued: its write is dropped, nobody else's
    async with asyncio.timeout(10):
        await store.close()
    assert [w.result() for w in writes[:-1]] == [True] * (len(tokens) - 1)
    assert writes[-1].cancelled()
    reopened = SQLiteStore(path)
    await reopened.open()
    try:
        for token in tokens:
            record = await reopened.load_token(token)
            assert record is not None
            assert len(record.events) == (0 if token == tokens[-1] else 1)
    finally:
        await reopened.close()


async def test_an_early_callback_stored_while_the_submit_answers_still_ends_the_wait(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tasks.db"
    store = SQLiteStore(path)
    await store.open()
    registry = TaskRegistry(store)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        other = await registry.new(TaskKind.MUSIC)
        await registry.bind(other, "task-other")
        state = await registry.new(TaskKind.MUSIC)
        track = Track("a1", audio_url="https://files.example.test/a1.mp3")
        complete = TaskEvent("task-x", TaskKind.MUSIC, Stage.COMPLETE, tracks=(track,))
        blocker.execute("BEGIN IMMEDIATE")  # the store's next commit waits for this lock
        loop = asyncio.get_running_loop()
        text = TaskEvent("task-other", TaskKind.MUSIC, Stage.TEXT)
        first = loop.create_task(registry.deliver(other, text))
        await asyncio.sleep(0)  # its commit is under way (waiting for the lock)
        early = loop.create_task(registry.deliver(state, complete))  # queued for the next one
        await asyncio.sleep(0)
        # The submit answers now: bind's read of the store runs before the early event's commit.
        bound = loop.create_task(registry.bind(state, "task-x"))
        await asyncio.sleep(0)
        blocker.execute("COMMIT")
        async with asyncio.timeout(10):
            await asyncio.gather(first, early, bound)
            result = await asyncio.shield(state.future)
        assert isinstance(result, MusicResult)
        assert result.task_id == "task-x"
    finally:
        blocker.close()
        registry.close()
        await store.close()


async def test_a_poll_finds_a_final_stage_another_process_stored_and_resolves(
    anyint_gateway: FakeGateway, tmp_path: Path
) -> None:
    """Two processes on one SQLite file: the watcher's poll brings a stage the other already
    stored. The store's copy is the truth, and the watcher's wait ends with it."""
    anyint_gateway.drop_callbacks = True
    anyint_gateway.stage_delay = 0.3
    anyint_gateway.skip_stages = True

    def client(**kwargs: float) -> AnyIntMusic:
        return AnyIntMusic(
            api_key=anyint_gateway.api_key,
            base_url=anyint_gateway.url,
            store=SQLiteStore(tmp_path / "shared.db"),
            **kwargs,
        )

    async with client(poll_interval=60) as owner, client(poll_interval=3.0) as watcher:
        task = await owner.submit_generate("shared", model=Model.V5)
        watched = watcher.task(task.id)  # its first poll comes now, while the task is running
        async with asyncio.timeout(10):
            while anyint_gateway.task(task.id).status != "SUCCESS":  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        stored = complete_body(task.id, prefix="stored")
        assert (await post(callback_url(anyint_gateway), stored))[0] == 200
        song = await watched.wait(timeout=20)  # the watcher's next poll, 3 s in
        assert (await task.wait(timeout=1)) == song
    assert [t.id for t in song.tracks] == [t["id"] for t in stored["data"]["data"]]
    polls = [r for r in anyint_gateway.requests if r.path == "/suno/query/task"]
    assert len(polls) >= 2
