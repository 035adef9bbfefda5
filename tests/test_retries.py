"""Submits are sent again only when no task can exist; reads are retried on transient failures."""

from __future__ import annotations

import logging

import pytest

from anyint_music import (
    AnyIntMusic,
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    Model,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SubmitUncertainError,
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
