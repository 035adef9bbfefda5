"""Testing your own code with the pytest plugin: three lines a test, no configuration.

Your app code (here a tiny function) takes an AnyIntMusic client; the fixtures give it one that
talks to the simulator over real HTTP, callbacks included. Install the plugin's needs with
``pip install 'anyint-music[testing]'`` and run

    pytest examples/testing_your_app   # the plugin loads by itself; no pytest.ini, no marks

- ``anyint_client``: an AnyIntMusic client talking to the simulator.
- ``anyint_gateway``: the simulator itself (a FakeGateway): inject failures, change knobs, and
  read what it received and sent (``requests``, ``callbacks`` with the receiver's answers,
  ``tasks``, ``stats``).
- ``@pytest.mark.anyint(knob=value, ...)``: FakeGateway knobs for one test (or a class, or a
  module through ``pytestmark``).

When a test that used the simulator fails, pytest's report shows what the simulator saw.
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


async def test_make_jingle_returns_two_urls(anyint_client: AnyIntMusic) -> None:
    urls = await make_jingle(anyint_client, "Acme Tea")
    assert len(urls) == 2


async def test_make_jingle_survives_a_failed_generation(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_tasks(code=501, message="Audio generation failed")
    assert await make_jingle(anyint_client, "Acme Tea") == []


async def test_make_jingle_sends_the_brand(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    await make_jingle(anyint_client, "Acme Tea")
    sent = [r.json for r in anyint_gateway.requests if r.path == "/suno/generate"]
    assert len(sent) == 1
    assert "Acme Tea" in sent[0]["prompt"]


@pytest.mark.anyint(duplicates=1)  # every callback is delivered twice
async def test_make_jingle_accepts_each_callback_once(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    assert len(await make_jingle(anyint_client, "Acme Tea")) == 2
    await anyint_gateway.wait_idle()  # the last deliveries may still be in flight
    # What the simulator sent, and what the receiver answered: text, first and complete, each
    # twice, all accepted with HTTP 200 (a duplicate too, so the gateway stops redelivering).
    assert [c.stage for c in anyint_gateway.callbacks if c.copy == 0] == [
        "text",
        "first",
        "complete",
    ]
    assert len(anyint_gateway.callbacks) == 6
    assert all(c.status == 200 for c in anyint_gateway.callbacks)
    assert anyint_gateway.stats.tasks_created == 1


@pytest.mark.anyint(skip_stages=True, stage_delay=0.05)
async def test_make_jingle_with_only_the_final_callback(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    assert len(await make_jingle(anyint_client, "Acme Tea")) == 2
    await anyint_gateway.wait_idle()
    assert [c.stage for c in anyint_gateway.callbacks] == ["complete"]
    assert [t.status for t in anyint_gateway.tasks] == ["SUCCESS"]
