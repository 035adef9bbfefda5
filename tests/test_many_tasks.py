"""Many tasks at once: each handled as it ends, a failure stops nothing, the overall timeout
names what is still running, and closing the client ends the iteration instead of hanging."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from anyint_music import (
    AnyIntMusic,
    LyricsResult,
    Model,
    MusicResult,
    ReceiverClosedError,
    Task,
    TaskFailedError,
    TaskTimeoutError,
)
from anyint_music.testing import FakeGateway


async def test_tasks_come_as_they_end_and_a_failure_stops_nothing(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.stage_delay = 0.05
    songs = [await anyint_client.submit_generate(f"song {i}", model=Model.V5) for i in range(4)]
    anyint_gateway.fail_tasks()
    failing = await anyint_client.submit_generate("this one fails", model=Model.V5)
    lyrics = await anyint_client.submit_lyrics("quick words")  # one stage: ends first
    given: list[Task[Any]] = [*songs, failing, lyrics]
    seen: list[str] = []
    results: dict[str, object] = {}
    async with asyncio.timeout(30):
        async for task in anyint_client.as_completed(given):
            assert task.done()
            seen.append(task.id)
            try:
                results[task.id] = await task
            except TaskFailedError as exc:
                results[task.id] = exc
    assert sorted(seen) == sorted(t.id for t in given)
    assert seen.index(lyrics.id) < min(seen.index(s.id) for s in songs)
    assert isinstance(results[lyrics.id], LyricsResult)
    assert isinstance(results[failing.id], TaskFailedError)
    assert all(isinstance(results[s.id], MusicResult) for s in songs)


async def test_the_overall_timeout_names_the_tasks_still_running(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    quick = await anyint_client.submit_lyrics("quick")
    await quick
    anyint_gateway.stage_delay = 60.0
    slow = [await anyint_client.submit_lyrics(f"slow {i}") for i in range(3)]
    seen: list[str] = []

    async def follow() -> None:
        async for task in anyint_client.as_completed([quick, *slow], timeout=0.3):
            seen.append(task.id)

    with pytest.raises(TaskTimeoutError) as ran_out:
        await asyncio.wait_for(follow(), timeout=30)
    assert seen == [quick.id]
    assert set(ran_out.value.pending) == {t.id for t in slow}
    assert slow[0].id in str(ran_out.value)


async def test_closing_the_client_ends_the_iteration(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.stage_delay = 60.0
    client = AnyIntMusic(api_key=anyint_gateway.api_key, base_url=anyint_gateway.url)
    async with client:
        tasks = [await client.submit_lyrics(f"never {i}") for i in range(3)]
        seen: list[BaseException | None] = []

        async def follow() -> None:
            async for task in client.as_completed(tasks):
                try:
                    await task
                except ReceiverClosedError as exc:
                    seen.append(exc)

        following = asyncio.ensure_future(follow())
        await asyncio.sleep(0)
    await asyncio.wait_for(following, timeout=30)
    assert len(seen) == 3


async def test_a_bad_timeout_is_refused_before_anything_is_waited_for(
    anyint_client: AnyIntMusic,
) -> None:
    task = await anyint_client.submit_lyrics("x")
    iterator = anyint_client.as_completed([task], timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        await anext(iterator)


async def test_peek_reads_a_tasks_record_once_without_waiting(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.stage_delay = 60.0
    slow = await anyint_client.submit_generate("still going", model=Model.V5)
    before = len(anyint_gateway.requests)
    now = await anyint_client.peek(slow.id)
    assert now is None or not now.is_final
    assert len(anyint_gateway.requests) == before + 1  # one read, nothing more
    anyint_gateway.stage_delay = 0.0
    done = await anyint_client.submit_lyrics("done soon")
    await done
    seen = await anyint_client.peek(done.id, kind="lyrics")
    assert seen is not None
    assert seen.is_final
    assert seen.variants
    with pytest.raises(ValueError, match="cannot be read back"):
        await anyint_client.peek("made-elsewhere", kind="persona")
