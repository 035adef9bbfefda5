"""Gateway refusals map to the error tree, whatever envelope they come in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from anyint_music import (
    AnyIntMusic,
    APIConnectionError,
    APIError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    MalformedResponseError,
    Model,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from anyint_music.testing import FakeGateway


@pytest.fixture
async def strict_client(anyint_gateway: FakeGateway) -> AsyncIterator[AnyIntMusic]:
    """A client that never retries, so each refusal surfaces as it was mapped."""
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, retry_max_time=0
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (405, RateLimitError),
        (413, BadRequestError),
        (429, InsufficientCreditsError),  # AnyInt's music table: body 429 = quota exhausted
        (430, RateLimitError),
        (455, ServerError),
        (500, ServerError),
    ],
)
async def test_body_codes_inside_http_200(
    anyint_gateway: FakeGateway, strict_client: AnyIntMusic, code: int, error: type[APIError]
) -> None:
    anyint_gateway.fail_submit("/suno/generate", code=code, message=f"refused with {code}")
    with pytest.raises(error) as info:
        await strict_client.generate(prompt="x", model=Model.V5)
    assert (info.value.status, info.value.code) == (200, code)
    assert info.value.message == f"refused with {code}"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (429, RateLimitError),  # the gateway's own HTTP 429 is a limit, not credits
        (503, ServerError),
    ],
)
async def test_http_statuses_with_anyint_error_envelope(
    anyint_gateway: FakeGateway, strict_client: AnyIntMusic, status: int, error: type[APIError]
) -> None:
    anyint_gateway.fail_submit(status=status, message="no")
    with pytest.raises(error) as info:
        await strict_client.generate(prompt="x", model=Model.V5)
    assert info.value.status == status
    assert info.value.message == "no"


async def test_refusal_times_then_success(
    anyint_gateway: FakeGateway, strict_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_submit(code=400, times=2)
    for _ in range(2):
        with pytest.raises(BadRequestError, match="unchanged it will fail again"):
            await strict_client.generate(prompt="x", model=Model.V5)
    assert len((await strict_client.generate(prompt="x", model=Model.V5)).tracks) == 2


async def test_wrong_api_key_says_what_to_check(anyint_gateway: FakeGateway) -> None:
    async with AnyIntMusic(api_key="sk-wrong", base_url=anyint_gateway.url) as client:
        with pytest.raises(AuthenticationError, match="ANYINT_API_KEY") as info:
            await client.style_generate("pop")
    assert info.value.status == 401
    assert "sk-wrong" not in str(info.value)


async def test_gateway_validation_refusal_is_a_bad_request(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    with pytest.raises(BadRequestError):
        await anyint_client.timestamped_lyrics("0" * 32, "no-such-audio")


async def test_cover_of_an_unknown_task_is_refused(anyint_client: AnyIntMusic) -> None:
    with pytest.raises(BadRequestError):
        await anyint_client.generate_cover("f" * 32)


async def test_unreachable_gateway_is_a_connection_error_that_sent_nothing() -> None:
    async with FakeGateway() as gw:
        url, key = gw.url, gw.api_key
    async with AnyIntMusic(api_key=key, base_url=url, retry_max_time=0) as client:
        with pytest.raises(APIConnectionError, match="Nothing was sent") as info:
            await client.generate(prompt="x", model=Model.V5)
    assert info.value.sent is False


async def test_non_json_answer_is_malformed(anyint_gateway: FakeGateway) -> None:
    # a path the gateway does not serve as JSON: its file route answers bytes
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url + "/files"
    ) as client:
        with pytest.raises((MalformedResponseError, BadRequestError)):
            await client.style_generate("x")


async def test_http_429_with_a_credits_body_is_insufficient_credits(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_submit(status=429, code=429, message="insufficient credits")
    with pytest.raises(InsufficientCreditsError, match="Top up"):
        await anyint_client.generate(prompt="x", model=Model.V5)
    assert sum(1 for r in anyint_gateway.requests if r.path == "/suno/generate") == 1
