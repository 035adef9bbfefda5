"""Submits are sent again only when no task can exist; reads are retried on transient failures."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import aiohttp
import pytest
from aiohttp import web

from anyint_music import (
    AnyIntMusic,
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    InsufficientCreditsError,
    Model,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
    TaskTimeoutError,
)
from anyint_music.testing import FakeGateway


def _submits(gateway: FakeGateway, route: str = "/suno/generate") -> int:
    return sum(1 for r in gateway.requests if r.method == "POST" and r.path == route)


@pytest.mark.parametrize(
    "refusal",
    [{"status": 503}, {"code": 430}, {"code": 405}, {"code": 455}, {"status": 429}],
    ids=["http-503", "body-430", "body-405", "body-455", "http-429"],
)
async def test_refusals_that_create_no_task_are_retried(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, refusal: dict[str, int]
) -> None:
    anyint_gateway.fail_submit("/suno/generate", times=2, **refusal)
    song = await anyint_client.generate(prompt="persistent", model=Model.V5)
    assert len(song.tracks) == 2
    assert _submits(anyint_gateway) == 3
    assert len(anyint_gateway.tasks) == 1


@pytest.mark.parametrize(
    ("refusal", "error"),
    [
        ({"code": 400}, BadRequestError),
        ({"status": 401}, AuthenticationError),
        ({"status": 403}, PermissionDeniedError),
        ({"code": 413}, BadRequestError),
        ({"code": 429}, InsufficientCreditsError),
        ({"code": 500}, ServerError),  # the service's own "no"
        ({"status": 502}, SubmitUncertainError),  # a task may have been created: never resent
        ({"status": 500}, SubmitUncertainError),
    ],
)
async def test_refusals_that_may_have_created_a_task_or_will_fail_again_are_not_retried(
    anyint_gateway: FakeGateway,
    anyint_client: AnyIntMusic,
    refusal: dict[str, int],
    error: type[Exception],
) -> None:
    anyint_gateway.fail_submit("/suno/generate", times=1, **refusal)
    with pytest.raises(error):
        await anyint_client.generate(prompt="once only", model=Model.V5)
    assert _submits(anyint_gateway) == 1


async def test_retries_are_bounded_by_attempts(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.fail_submit(status=503, times=10)
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        max_attempts=3,
        retry_backoff=0.001,
    ) as client:
        with pytest.raises(ServerError) as info:
            await client.generate(prompt="x", model=Model.V5)
    assert info.value.status == 503
    assert _submits(anyint_gateway) == 3


async def test_retries_are_bounded_by_total_time(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.fail_submit(code=430, times=1000)
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        retry_backoff=0.01,
        retry_max_time=0.3,
    ) as client:
        with pytest.raises(RateLimitError, match="wait a little"):
            await client.generate(prompt="x", model=Model.V5)
    assert 1 < _submits(anyint_gateway) < 1000


async def test_sync_reads_are_retried_after_a_server_error(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_submit("/suno/style-generate", status=500, times=2)
    style = await anyint_client.style_generate("sad piano")
    assert "sad piano" in style.text
    assert _submits(anyint_gateway, "/suno/style-generate") == 3


async def test_connection_refused_is_retried_then_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="anyint_music")
    async with FakeGateway() as gw:
        url, key = gw.url, gw.api_key
    async with AnyIntMusic(
        api_key=key, base_url=url, max_attempts=3, retry_backoff=0.001
    ) as client:
        with pytest.raises(APIConnectionError, match="Nothing was sent") as info:
            await client.generate(prompt="x", model=Model.V5)
    assert info.value.sent is False
    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert [getattr(r, "attempt", None) for r in retries] == [1, 2]


async def test_a_burst_against_a_rate_cap_creates_every_task_once_without_errors(
    anyint_gateway: FakeGateway,
) -> None:
    anyint_gateway.rate_limit = (20, 0.1)  # upstream's 20 per 10 s, a hundred times faster
    anyint_gateway.skip_stages = True
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, timeout=120
    ) as client:
        tasks = await asyncio.gather(
            *(client.submit_generate(f"burst {i}", model=Model.V5) for i in range(1000))
        )
        songs = await asyncio.gather(*tasks)
    prompts = Counter(t.request["prompt"] for t in anyint_gateway.tasks)
    assert len(prompts) == 1000
    assert set(prompts.values()) == {1}
    assert {s.task_id for s in songs} == {t.id for t in tasks}
    assert anyint_gateway.stats.tasks_created == 1000


async def test_a_client_side_rate_limit_keeps_under_the_cap(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.rate_limit = (10, 0.2)
    anyint_gateway.skip_stages = True
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, rate_limit=(10, 0.25)
    ) as client:
        songs = await asyncio.gather(
            *(client.generate(f"paced {i}", model=Model.V5) for i in range(40))
        )
    assert len(songs) == 40
    assert anyint_gateway.stats.submits_rate_limited == 0


async def test_a_client_side_rate_limit_holds_when_requests_reach_the_gateway_late(
    anyint_gateway: FakeGateway,
) -> None:
    # A loaded machine (or a slow network) may deliver the first submits late and the next
    # ones on time; the gateway must still never see more than the limit in its window.
    anyint_gateway.rate_limit = (5, 0.25)
    anyint_gateway.skip_stages = True
    forwarded = 0

    async def late_first_five(request: web.Request) -> web.Response:
        nonlocal forwarded
        forwarded += 1
        if request.method == "POST" and forwarded <= 5:
            await asyncio.sleep(0.3)
        async with session.request(
            request.method,
            f"{anyint_gateway.url}{request.path_qs}",
            data=await request.read(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        ) as answer:
            return web.Response(
                status=answer.status, body=await answer.read(), content_type="application/json"
            )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", late_first_five)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as session,
            AnyIntMusic(
                api_key=anyint_gateway.api_key,
                base_url=f"http://127.0.0.1:{port}",
                rate_limit=(5, 0.25),
            ) as client,
        ):
            songs = await asyncio.gather(
                *(client.generate(f"late {i}", model=Model.V5) for i in range(10))
            )
    finally:
        await runner.cleanup()
    assert len(songs) == 10
    assert anyint_gateway.stats.submits_rate_limited == 0


async def test_closing_the_client_ends_a_submit_waiting_for_its_rate_window(
    anyint_gateway: FakeGateway,
) -> None:
    anyint_gateway.skip_stages = True
    client = AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, rate_limit=(1, 3600.0)
    )
    async with client:
        await client.generate("first", model=Model.V5)
        second = asyncio.ensure_future(client.submit_generate("second", model=Model.V5))
        await asyncio.sleep(0)  # let it reach the window
    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(second, timeout=30)
    assert len(anyint_gateway.tasks) == 1


async def test_a_lost_submit_answer_is_not_resent_and_can_be_recovered(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_submit_answer("/suno/generate", mode="disconnect")
    with pytest.raises(SubmitUncertainError, match="recover") as info:
        await anyint_client.generate(prompt="answer lost", model=Model.V5)
    assert isinstance(info.value.cause, APIConnectionError)
    assert info.value.cause.sent is True
    assert _submits(anyint_gateway) == 1
    task = await anyint_client.recover(info.value, timeout=10)
    song = await task.wait(timeout=10)
    made = anyint_gateway.task(task.id)
    assert made.request["prompt"] == "answer lost"
    assert [t.id for t in song.tracks] == [t["id"] for t in made.result]
    assert len(anyint_gateway.tasks) == 1


async def test_recover_times_out_when_no_task_was_made(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_submit(status=502)
    with pytest.raises(SubmitUncertainError) as info:
        await anyint_client.generate(prompt="x", model=Model.V5)
    with pytest.raises(TaskTimeoutError, match="no task id"):
        await anyint_client.recover(info.value, timeout=0.2)


async def test_a_deadline_while_the_submit_is_unanswered_can_be_recovered(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.drop_submit_answer(mode="hang")
    with pytest.raises(SubmitUncertainError, match="timeout ran out before its answer") as caught:
        await anyint_client.generate(prompt="hung", model=Model.V5, timeout=0.3)
    # the task was made and may be paid for: the error leads to it
    task = await anyint_client.recover(caught.value, timeout=20)
    song = await task.wait(timeout=20)
    made = anyint_gateway.task(task.id)
    assert made.request["prompt"] == "hung"
    assert [t.id for t in song.tracks] == [t["id"] for t in made.result or ()]
    assert anyint_gateway.stats.tasks_created == 1


async def test_a_deadline_while_retrying_refusals_raises_the_last_refusal(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_submit("/suno/generate", code=430, times=1_000_000)
    async with asyncio.timeout(20):  # the call ends at its own timeout, not this one
        with pytest.raises(RateLimitError, match=r"gave up after \d+ attempts.*timeout ran out"):
            await anyint_client.generate(prompt="never admitted", model=Model.V5, timeout=1)
    assert _submits(anyint_gateway) > 1  # it did retry
    assert anyint_gateway.stats.tasks_created == 0


async def test_a_deadline_before_the_submit_could_be_sent_says_nothing_was_made(
    anyint_gateway: FakeGateway,
) -> None:
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, rate_limit=(1, 60.0)
    ) as client:
        await client.generate(prompt="first", model=Model.V5, timeout=20)
        with pytest.raises(TaskTimeoutError, match="no task was created") as caught:
            await client.generate(prompt="second", model=Model.V5, timeout=0.3)
        assert caught.value.task_id is None
    assert _submits(anyint_gateway) == 1
    assert anyint_gateway.stats.tasks_created == 1


async def test_cancelled_requests_do_not_stall_the_client(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_submit("/suno/generate", code=430, times=1)
    await anyint_client.generate(prompt="slowed down", model=Model.V5)  # halves the limit
    anyint_gateway.drop_submit_answer(mode="hang", times=3)
    for i in range(3):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anyint_client.submit_generate(f"hung {i}", model=Model.V5), 0.2)
    async with asyncio.timeout(10):
        assert (await anyint_client.style_generate("still moving")).text


async def test_close_during_a_rate_pause_ends_the_waiting_call(anyint_gateway: FakeGateway) -> None:
    anyint_gateway.rate_limit = (1, 30.0)
    client = AnyIntMusic(api_key=anyint_gateway.api_key, base_url=anyint_gateway.url)
    await client.open()
    await client.submit_lyrics("first")
    pending = asyncio.ensure_future(client.submit_lyrics("second: paused ~30 s by the gateway"))
    async with asyncio.timeout(5):  # the gateway's counter has no event to wait on
        while anyint_gateway.stats.submits_rate_limited == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await asyncio.wait_for(pending, 5)
