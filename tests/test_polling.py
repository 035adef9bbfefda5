"""The polling fallback: a late or lost callback costs time, never the result."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from anyint_music import AnyIntMusic, Model, Stage, TaskEvent, TaskFailedError, TaskTimeoutError
from anyint_music.stores import SQLiteStore
from anyint_music.testing import FakeGateway


@pytest.fixture
async def polling_client(anyint_gateway: FakeGateway) -> AsyncIterator[AnyIntMusic]:
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, poll_interval=0.05, timeout=10
    ) as client:
        yield client


def _polls(gateway: FakeGateway) -> int:
    return sum(1 for r in gateway.requests if r.path.startswith("/suno/query/"))


async def test_lost_callbacks_are_recovered_by_polling(
    anyint_gateway: FakeGateway, polling_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_callbacks = True
    song = await polling_client.generate(prompt="nobody calls back", model=Model.V5)
    assert len(song.tracks) == 2
    assert all(t.audio_url and t.stream_audio_url for t in song.tracks)
    assert _polls(anyint_gateway) >= 1
    made = anyint_gateway.task(song.task_id).result
    assert [t.id for t in song.tracks] == [track["id"] for track in made]


async def test_only_the_final_callback_lost(
    anyint_gateway: FakeGateway, polling_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_callbacks = {"complete"}
    task = await polling_client.submit_generate("almost", model=Model.V5)
    song = await task
    assert len(song.tracks) == 2
    assert [e.stage for e in [e async for e in task.events()]][-1] is Stage.COMPLETE


async def test_callback_and_poll_both_deliver_and_the_wait_resolves_once(
    anyint_gateway: FakeGateway, polling_client: AnyIntMusic
) -> None:
    anyint_gateway.stage_delay = 0.08  # the poll sees stages while callbacks are still coming
    task = await polling_client.submit_generate("both ways", model=Model.V5)
    song = await task
    await anyint_gateway.wait_idle()
    stages = [e.stage async for e in task.events()]
    assert stages.count(Stage.COMPLETE) == 1
    assert await task == song
    assert _polls(anyint_gateway) >= 1


async def test_polling_off_means_a_lost_callback_times_out(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.drop_callbacks = True
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, poll_interval=None
    ) as client:
        with pytest.raises(TaskTimeoutError):
            await client.generate(prompt="x", model=Model.V5, timeout=0.3)
    assert _polls(anyint_gateway) == 0


async def test_a_failure_seen_by_polling_fails_the_wait(
    anyint_gateway: FakeGateway, polling_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_callbacks = True
    anyint_gateway.fail_tasks(code=501, message="Audio generation failed")
    with pytest.raises(TaskFailedError) as info:
        await polling_client.generate(prompt="doomed", model=Model.V5)
    assert info.value.code == 501


async def test_lyrics_and_cover_by_polling(
    anyint_gateway: FakeGateway, polling_client: AnyIntMusic
) -> None:
    song = await polling_client.generate(prompt="with art", model=Model.V5)
    anyint_gateway.drop_callbacks = True
    lyrics = await polling_client.generate_lyrics("polled words")
    cover = await polling_client.generate_cover(song.task_id)
    assert len(lyrics.variants) >= 2
    assert all(v.ok for v in lyrics.variants)
    assert len(cover.images) == 2
    paths = {r.path for r in anyint_gateway.requests}
    assert {"/suno/query/lyrics", "/suno/query/cover"} <= paths


async def test_unreachable_receiver_still_gets_results(anyint_gateway: FakeGateway) -> None:
    with socket.socket() as sock:  # a port with nothing listening: every callback fails
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        public_url=dead,
        poll_interval=0.05,
    ) as client:
        song = await client.generate(prompt="behind a firewall", model=Model.V5, timeout=10)
    assert len(song.tracks) == 2
    assert not any(c.status == 200 for c in anyint_gateway.callbacks)


async def test_a_failed_store_write_during_a_poll_is_retried(
    anyint_gateway: FakeGateway, tmp_path: Path
) -> None:
    class FlakyStore(SQLiteStore):
        """A real SQLite store whose first event write fails, as a full disk would."""

        failures = 1

        async def add_event(self, token: str, event: TaskEvent) -> bool:
            if event.is_final and self.failures:
                self.failures -= 1
                raise OSError("disk full")
            return await super().add_event(token, event)

    anyint_gateway.drop_callbacks = True
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        poll_interval=0.05,
        store=FlakyStore(tmp_path / "t.db"),
    ) as client:
        song = await client.generate(prompt="try twice", model=Model.V5, timeout=10)
    assert len(song.tracks) == 2
