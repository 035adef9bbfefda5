"""Testing your own code with the pytest plugin: three lines a test.

Your app code (here a tiny function) takes an AnyIntMusic client; the fixtures give it one that
talks to the simulator over real HTTP, callbacks included.

    pytest examples/testing_your_app   # the plugin loads by itself once the package is installed
"""

from __future__ import annotations

import pytest

from anyint_music import AnyIntMusic, Model, TaskFailedError
from anyint_music.testing import FakeGateway


async def make_jingle(client: AnyIntMusic, brand: str) -> list[str]:
    """The app code under test: a jingle for a brand, returning its MP3 URLs."""
    try:
        song = await client.generate(prompt=f"a catchy jingle for {brand}", model=Model.V5)
    except TaskFailedError:
        return []
    return [track.audio_url for track in song.tracks]


@pytest.mark.asyncio
async def test_make_jingle_returns_two_urls(anyint_client: AnyIntMusic) -> None:
    urls = await make_jingle(anyint_client, "Acme Tea")
    assert len(urls) == 2


@pytest.mark.asyncio
async def test_make_jingle_survives_a_failed_generation(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_tasks(code=501, message="Audio generation failed")
    assert await make_jingle(anyint_client, "Acme Tea") == []


@pytest.mark.asyncio
async def test_make_jingle_sends_the_brand(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    await make_jingle(anyint_client, "Acme Tea")
    sent = [r.json for r in anyint_gateway.requests if r.path == "/suno/generate"]
    assert sent
    assert sent[0] is not None
    assert "Acme Tea" in sent[0]["prompt"]
