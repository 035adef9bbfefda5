"""When the polling fallback polls: only when callbacks stop coming, at times it learns.

Counts, not clocks: each test compares polls with polls of the same run, with margins that a
loaded machine cannot eat (the poll interval is many times a stage's delay).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from anyint_music import AnyIntMusic, LyricsResult, Model
from anyint_music.testing import FakeGateway


def _polls(gateway: FakeGateway) -> Counter[str]:
    """Polls at the gateway, by task id."""
    return Counter(
        r.query.get("taskId", "") for r in gateway.requests if r.path.startswith("/suno/query/")
    )


def _client(gateway: FakeGateway, poll_interval: float) -> AnyIntMusic:
    return AnyIntMusic(
        api_key=gateway.api_key,
        base_url=gateway.url,
        poll_interval=poll_interval,
        timeout=60,
    )


# A song takes three stages, 1.5 s, so a fixed schedule would poll each at least once; the
# first stage's callback (0.5 s) shows callbacks work well before the first look (1 s).
@pytest.mark.anyint(stage_delay=0.5)
async def test_healthy_callbacks_cost_no_polls(anyint_gateway: FakeGateway) -> None:
    async with _client(anyint_gateway, poll_interval=1.0) as client:
        songs = await asyncio.gather(
            *(client.generate(f"song {i}", model=Model.V5) for i in range(20))
        )
        lyrics = await client.generate_lyrics("words")
        assert client.stats().polls == 0
    assert all(len(s.tracks) == 2 for s in songs)
    assert isinstance(lyrics, LyricsResult)
    assert sum(_polls(anyint_gateway).values()) == 0


@pytest.mark.anyint(stage_delay=0.1, drop_callbacks=True)
async def test_with_callbacks_lost_polls_start_when_tasks_of_the_kind_usually_end(
    anyint_gateway: FakeGateway,
) -> None:
    # A song takes three stages (0.3 s); polled every 0.03 s from the start, the first one
    # costs about ten polls. Later ones, once the client has seen how long songs take, are
    # first polled near their end.
    async with _client(anyint_gateway, poll_interval=0.03) as client:
        ids = [(await client.generate(f"song {i}", model=Model.V5)).task_id for i in range(5)]
    polls = _polls(anyint_gateway)
    first, later = polls[ids[0]], [polls[i] for i in ids[1:]]
    assert first >= 5
    assert all(n >= 1 for n in later)
    assert sum(later) / len(later) <= first / 2, (first, later)


@pytest.mark.anyint(stage_delay=0.5)
async def test_polling_follows_the_callbacks_as_they_stop_and_come_back(
    anyint_gateway: FakeGateway,
) -> None:
    async with _client(anyint_gateway, poll_interval=1.0) as client:
        healthy = await client.generate("callbacks come", model=Model.V5)
        anyint_gateway.drop_callbacks = True  # the tunnel went down: results only by polling
        lost = await asyncio.gather(
            *(client.generate(f"lost {i}", model=Model.V5) for i in range(3))
        )
        anyint_gateway.drop_callbacks = False
        back = await asyncio.gather(
            *(client.generate(f"back {i}", model=Model.V5) for i in range(5))
        )
    polls = _polls(anyint_gateway)
    assert polls[healthy.task_id] == 0
    assert all(polls[s.task_id] >= 1 for s in lost)
    # The first callback after the outage shows they work again: nothing more is polled.
    assert [polls[s.task_id] for s in back] == [0] * 5


@pytest.mark.anyint(stage_delay=0.05, drop_callbacks={"complete"})
async def test_a_lost_final_callback_is_polled_though_the_other_stages_came(
    anyint_gateway: FakeGateway,
) -> None:
    async with _client(anyint_gateway, poll_interval=0.05) as client:
        task = await client.submit_generate("almost", model=Model.V5)
        song = await task
    assert len(song.tracks) == 2
    assert _polls(anyint_gateway)[song.task_id] >= 1
