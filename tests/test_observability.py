"""Observing the client: an event hook, counters, and logs that carry context but no secrets."""

from __future__ import annotations

import logging

import pytest

from anyint_music import AnyIntMusic, Model, Stage, TaskEvent
from anyint_music.testing import FakeGateway


async def test_on_event_sees_every_stage_of_every_task(anyint_gateway: FakeGateway) -> None:
    seen: list[TaskEvent] = []
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, on_event=seen.append
    ) as client:
        songs = [await client.generate(prompt=f"metric {i}", model=Model.V5) for i in range(3)]
        await client.generate_lyrics("words")
    for song in songs:
        stages = [e.stage for e in seen if e.task_id == song.task_id]
        assert stages == [Stage.TEXT, Stage.FIRST, Stage.COMPLETE]
    assert len(seen) == 10


async def test_a_failing_hook_changes_nothing(
    anyint_gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_: TaskEvent) -> None:
        raise RuntimeError("metrics backend down")

    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, on_event=broken
    ) as client:
        song = await client.generate(prompt="still fine", model=Model.V5)
    assert len(song.tracks) == 2
    assert "on_event hook raised" in caplog.text


async def test_stats_count_what_happened(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.duplicates = 1
    anyint_gateway.fail_submit(status=503, times=1)
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, retry_backoff=0.01
    ) as client:
        await client.generate(prompt="one", model=Model.V5)
        anyint_gateway.fail_tasks(code=501)
        with pytest.raises(Exception, match="failed"):
            await client.generate(prompt="two", model=Model.V5)
        await anyint_gateway.wait_idle()
        stats = client.stats()
    assert stats.completed == 1
    assert stats.failed == 1
    assert stats.pending == 0
    assert stats.retries == 1
    assert stats.duplicates >= 3
    assert stats.callbacks >= 8
    assert stats.callbacks_refused == 0


async def test_logs_carry_context_but_no_key_and_no_lyrics_at_info(
    anyint_gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    lyrics = "[Verse]\nA very private line nobody should log"
    caplog.set_level(logging.DEBUG, logger="anyint_music")
    async with AnyIntMusic(api_key=anyint_gateway.api_key, base_url=anyint_gateway.url) as client:
        song = await client.generate(
            lyrics, model=Model.V5, custom_mode=True, style="pop", title="T"
        )
    submitted = [r for r in caplog.records if r.getMessage().startswith("submitted")]
    assert submitted
    assert submitted[0].task_id == song.task_id  # type: ignore[attr-defined]
    assert submitted[0].route == "/suno/generate"  # type: ignore[attr-defined]
    assert isinstance(submitted[0].latency, float)  # type: ignore[attr-defined]
    assert any(getattr(r, "stage", None) == "complete" for r in caplog.records)
    assert anyint_gateway.api_key not in caplog.text
    info = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "private line" not in info
