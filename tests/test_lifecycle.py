"""Client states, task handles, timeouts, close, re-attaching, and secrets kept out of sight."""

from __future__ import annotations

import asyncio
import gc
import logging
import tracemalloc

import pytest
from _helpers import FUTURE_ITER_FREE_LIST, callback_url, complete_body, post, sdk_growth

from anyint_music import (
    AnyIntMusic,
    ClientClosedError,
    ConfigurationError,
    InvalidRequestError,
    Model,
    MusicResult,
    ReceiverClosedError,
    Stage,
    TaskKind,
    TaskTimeoutError,
)
from anyint_music.testing import FakeGateway


def test_no_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANYINT_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="ANYINT_API_KEY"):
        AnyIntMusic()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYINT_API_KEY", "sk-env-secret")
    monkeypatch.setenv("ANYINT_BASE_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("ANYINT_PUBLIC_URL", "https://hooks.example.test")
    client = AnyIntMusic()
    assert client.public_url == "https://hooks.example.test"
    assert "http://127.0.0.1:9" in repr(client)
    assert "sk-env-secret" not in repr(client)


@pytest.mark.parametrize("kwargs", [{"timeout": 0}, {"http_timeout": -1}, {"poll_interval": 0}])
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        AnyIntMusic(api_key="k", **kwargs)


async def test_unopened_and_closed_clients_refuse_work(anyint_gateway: FakeGateway) -> None:
    client = AnyIntMusic(api_key=anyint_gateway.api_key, base_url=anyint_gateway.url)
    with pytest.raises(ClientClosedError, match="async with"):
        await client.generate(prompt="x", model=Model.V5)
    async with client:
        pass
    await client.aclose()  # idempotent
    with pytest.raises(ClientClosedError, match="closed"):
        await client.style_generate("x")
    with pytest.raises(ClientClosedError, match="create a new"):
        await client.open()


async def test_repr_and_logs_never_show_the_api_key(
    anyint_gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="anyint_music")
    async with AnyIntMusic(api_key=anyint_gateway.api_key, base_url=anyint_gateway.url) as client:
        task = await client.submit_generate("x", model=Model.V5)
        await task
        assert anyint_gateway.api_key not in repr(client)
        assert anyint_gateway.api_key not in repr(task)
    assert caplog.records
    assert anyint_gateway.api_key not in caplog.text


async def test_task_handle_id_events_and_await(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.stage_delay = 0.02
    task = await anyint_client.submit_generate("handle me", model=Model.V5)
    assert len(task.id) == 32
    assert task.kind is TaskKind.MUSIC
    seen = []
    async for event in task.events():
        seen.append(event.stage)
        assert event.task_id == task.id
    assert seen == [Stage.TEXT, Stage.FIRST, Stage.COMPLETE]
    result = await task
    assert isinstance(result, MusicResult)
    assert await task.wait(timeout=1) == result
    assert task.done()


async def test_timeout_raises_and_the_task_can_be_awaited_again(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.stage_delay = 0.3
    task = await anyint_client.submit_generate("slow", model=Model.V5)
    with pytest.raises(TaskTimeoutError) as info:
        await task.wait(timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    assert info.value.task_id == task.id
    assert len((await task.wait(timeout=10)).tracks) == 2


async def test_waits_with_mixed_timeouts_each_end_at_their_own_deadline(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_callbacks = True
    silent = await anyint_client.submit_generate("silent", model=Model.V5)
    answered = await anyint_client.submit_generate("answered", model=Model.V5)
    loop = asyncio.get_running_loop()
    long_wait = loop.create_task(silent.wait(timeout=60))
    cancelled = loop.create_task(silent.wait(timeout=30))
    answered_wait = loop.create_task(answered.wait(timeout=90))
    await asyncio.sleep(0)
    # Deadlines earlier than those already pending must not queue behind them.
    with pytest.raises(TaskTimeoutError):
        await asyncio.wait_for(silent.wait(timeout=0.05), 5)
    cancelled.cancel()
    status, _ = await post(callback_url(anyint_gateway), complete_body(answered.id))
    assert status == 200
    result = await asyncio.wait_for(answered_wait, 5)
    assert result.task_id == answered.id
    with pytest.raises(TaskTimeoutError):
        await asyncio.wait_for(silent.wait(timeout=0.01), 5)
    assert not long_wait.done()
    long_wait.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled


async def test_a_short_wait_times_out_after_many_long_ones_resolved_together(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_callbacks = True
    answered = await anyint_client.submit_generate("answered", model=Model.V5)
    silent = await anyint_client.submit_generate("silent", model=Model.V5)
    loop = asyncio.get_running_loop()
    long_waits = [loop.create_task(answered.wait(timeout=600)) for _ in range(100)]
    await asyncio.sleep(0)
    status, _ = await post(callback_url(anyint_gateway, 0), complete_body(answered.id))
    assert status == 200
    assert len(await asyncio.wait_for(asyncio.gather(*long_waits), 5)) == 100
    # Their deadlines, 600 s out, must not hold back a later, shorter one.
    with pytest.raises(TaskTimeoutError):
        await asyncio.wait_for(silent.wait(timeout=0.05), 5)


async def test_waits_that_gave_up_are_let_go_and_the_others_still_wake(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_callbacks = True
    task = await anyint_client.submit_generate("watched", model=Model.V5)
    loop = asyncio.get_running_loop()
    for _ in range(200):  # a poll loop of short waits, as a worker might write
        with pytest.raises(TaskTimeoutError):
            await task.wait(timeout=0)
    cancelled = [loop.create_task(task.wait(timeout=60)) for _ in range(50)]
    await asyncio.sleep(0)
    for waiter in cancelled:
        waiter.cancel()
    await asyncio.gather(*cancelled, return_exceptions=True)
    kept = [loop.create_task(task.wait(timeout=60)) for _ in range(3)]
    await asyncio.sleep(0)
    # The task holds only the waits still waiting (it would grow with every one otherwise).
    waiting = task._state.waiting
    assert isinstance(waiting, list)
    assert len(waiting) == 3
    status, _ = await post(callback_url(anyint_gateway), complete_body(task.id))
    assert status == 200
    results = await asyncio.wait_for(asyncio.gather(*kept), 5)
    assert {r.task_id for r in results} == {task.id}
    assert task._state.waiting is None
    assert all(w.cancelled() for w in cancelled)


async def test_a_nan_timeout_is_refused(anyint_client: AnyIntMusic) -> None:
    task = await anyint_client.submit_generate("x", model=Model.V5)
    with pytest.raises(InvalidRequestError, match="timeout"):
        await task.wait(timeout=float("nan"))


async def test_generate_timeout_argument(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_callbacks = True
    with pytest.raises(TaskTimeoutError, match="wait again"):
        await anyint_client.generate(prompt="never", model=Model.V5, timeout=0.1)


async def test_events_time_out_too(anyint_gateway: FakeGateway, anyint_client: AnyIntMusic) -> None:
    anyint_gateway.drop_callbacks = True
    task = await anyint_client.submit_generate("silent", model=Model.V5)
    with pytest.raises(TaskTimeoutError):
        async for _ in task.events(timeout=0.1):
            pass


async def test_close_fails_pending_waits_instead_of_hanging(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.drop_callbacks = True
    client = AnyIntMusic(api_key=anyint_gateway.api_key, base_url=anyint_gateway.url)
    async with client:
        task = await client.submit_generate("pending forever", model=Model.V5)
        waiter = asyncio.ensure_future(task.wait())
        events = asyncio.ensure_future(anext(task.events()))
        await asyncio.sleep(0)
    with pytest.raises(ReceiverClosedError) as info:
        await asyncio.wait_for(waiter, 5)
    assert info.value.task_id == task.id
    with pytest.raises(ReceiverClosedError):
        await asyncio.wait_for(events, 5)


async def test_task_by_id_reattaches_in_process(anyint_client: AnyIntMusic) -> None:
    task = await anyint_client.submit_generate("find me again", model=Model.V5)
    again = anyint_client.task(task.id)
    assert await again == await task


async def test_task_by_id_of_a_foreign_task_is_resolved_by_polling(
    anyint_gateway: FakeGateway,
) -> None:
    async with AnyIntMusic(api_key=anyint_gateway.api_key, base_url=anyint_gateway.url) as first:
        song = await first.generate(prompt="made elsewhere", model=Model.V5)
        lyrics = await first.generate_lyrics("made elsewhere too")
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, poll_interval=0.05
    ) as second:
        again = await second.task(song.task_id).wait(timeout=5)
        words = await second.task(lyrics.task_id, kind="lyrics").wait(timeout=5)
    assert [t.id for t in again.tracks] == [t.id for t in song.tracks]
    assert [t.audio_url for t in again.tracks] == [t.audio_url for t in song.tracks]
    assert words.variants == lyrics.variants
    assert any(r.path == "/suno/query/task" for r in anyint_gateway.requests)


async def test_public_url_is_sent_as_callback_base(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.drop_callbacks = True
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        public_url="https://hooks.example.test/",
    ) as client:
        await client.submit_lyrics("x")
    sent = anyint_gateway.requests[-1].json
    assert sent is not None
    assert sent["callBackUrl"].startswith("https://hooks.example.test/anyint/callbacks/")


async def test_tokens_are_unique_and_unguessable(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_callbacks = True
    for _ in range(5):
        await anyint_client.submit_lyrics("x")
    tokens = [r.json["callBackUrl"].rsplit("/", 1)[1] for r in anyint_gateway.requests if r.json]
    assert len(set(tokens)) == 5
    assert all(len(t) >= 32 for t in tokens)


async def test_warns_when_the_real_gateway_cannot_reach_the_receiver(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="anyint_music")
    async with AnyIntMusic(api_key="k", base_url="https://gateway.example.test"):
        pass
    assert "set public_url" in caplog.text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "gateway.example.test"},
        {"base_url": "ftp://x"},
        {"public_url": "hooks.example.test"},
    ],
)
def test_urls_are_checked_up_front(kwargs: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="http"):
        AnyIntMusic(api_key="k", **kwargs)


async def test_unreachable_receiver_with_polling_off_is_refused_at_open() -> None:
    client = AnyIntMusic(api_key="k", base_url="https://gateway.example.test", poll_interval=None)
    with pytest.raises(ConfigurationError, match="public_url"):
        await client.open()
    with pytest.raises(ClientClosedError):
        await client.style_generate("x")


def test_results_are_hashable_values() -> None:
    from anyint_music import Track

    a = Track("id-1", "https://x/a.mp3", extra={"new_field": 1})
    b = Track("id-1", "https://x/a.mp3")
    assert a == b
    assert len({a, b}) == 1


async def test_memory_shrinks_back_after_a_peak_of_tasks_is_pruned() -> None:
    async with (
        FakeGateway(skip_stages=True, record=False) as gw,
        AnyIntMusic(api_key=gw.api_key, base_url=gw.url, retention=0.01) as client,
    ):

        async def batch(n: int) -> None:
            results = await asyncio.gather(
                *(client.generate(prompt=f"s{i}", model="V5") for i in range(n))
            )
            assert len(results) == n

        tracemalloc.start()
        try:
            # Every code path once, and the keep-alive connections open (each holds its last
            # request and response).
            await batch(200)
            await gw.wait_idle()
            await asyncio.sleep(0.05)
            client._registry.prune()
            gc.collect()
            base = tracemalloc.take_snapshot()
            await batch(1200)  # a peak far above the base
            await gw.wait_idle()
            await asyncio.sleep(0.05)
            client._registry.prune()  # the housekeeper's job
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        sdk = sdk_growth(base, after)
        assert len(client._registry) == 0
        # Tables left at their peak size keep about 80 KB; shrunk, a few KB remain.
        grown = sum(s.size_diff for s in sdk)
        assert grown < 10_000 + FUTURE_ITER_FREE_LIST, [str(s) for s in sdk[:5]]
