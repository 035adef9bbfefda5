"""FakeGateway's chaos mode, rate cap, lost submit answers and stats, over real sockets.

Like ``test_gateway.py`` these tests speak plain HTTP to the simulator and receive its callbacks
on a small aiohttp server of their own, so they check the simulator without the SDK.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _gateway_helpers import Receiver as BaseReceiver
from _gateway_helpers import call_with_headers as post
from _gateway_helpers import submit

from anyint_music.testing._gateway import Chaos, FakeGateway, GatewayStats

MUSIC_ORDER = ("text", "first", "complete")
LYRICS = {"prompt": "rain on the window"}


def song(n: int) -> dict[str, Any]:
    """A custom-mode generate body whose title tells the tasks apart."""
    return {
        "customMode": True,
        "instrumental": True,
        "model": "V5",
        "title": f"Song {n}",
        "style": "ambient",
    }


def stage_of(body: dict[str, Any]) -> tuple[str, str]:
    """The (task id, stage) of any callback body the gateway sends."""
    data = body.get("data", body)
    if "images" in data:
        return data["taskId"], "cover"
    task_id = data.get("task_id") or data.get("taskId")
    return task_id, data["callbackType"]


class Receiver(BaseReceiver):
    """The shared receiver, which also notes the (task id, stage) of each callback in ``got``."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[tuple[str, str]] = []

    def record(self, body: dict[str, Any]) -> None:
        super().record(body)
        self.got.append(stage_of(body))

    def stages(self, task_id: str) -> list[str]:
        return [stage for tid, stage in self.got if tid == task_id]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as rec:
        yield rec


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def query_status(http: aiohttp.ClientSession, gw: FakeGateway, task_id: str) -> str:
    headers = {"Authorization": f"Bearer {gw.api_key}"}
    url = f"{gw.url}/suno/query/task"
    async with http.get(url, params={"taskId": task_id}, headers=headers) as resp:
        status = (await resp.json())["data"]["status"]
    assert isinstance(status, str)
    return status


# -- the Chaos setting ------------------------------------------------------------------------


def test_chaos_defaults_are_a_storm_and_only_turns_on_just_the_given_knobs() -> None:
    storm = Chaos()
    assert storm.seed == 0
    for knob in ("duplicate", "reorder", "early", "drop", "submit_503", "rate_answer", "late"):
        assert 0 < getattr(storm, knob) < 1
    assert storm.max_delay > 0
    assert storm.slow_answer_timeout is None

    quiet = Chaos.only(drop=1.0, seed=4)
    assert (quiet.drop, quiet.seed, quiet.duplicate, quiet.submit_503) == (1.0, 4, 0.0, 0.0)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"drop": 1.5}, ValueError),
        ({"duplicate": -0.1}, ValueError),
        ({"late": float("nan")}, ValueError),
        ({"max_delay": -1.0}, ValueError),
        ({"slow_answer_timeout": 0.0}, ValueError),
        ({"reorder": "often"}, TypeError),
        ({"seed": 1.5}, TypeError),
    ],
)
def test_chaos_refuses_values_out_of_range(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        Chaos(**changes)


async def test_chaos_is_off_by_default_and_settable() -> None:
    async with FakeGateway() as gw:
        assert gw.chaos is None
        gw.chaos = Chaos(seed=3)
        assert gw.chaos == Chaos(seed=3)
        with pytest.raises(TypeError):
            gw.chaos = 0.5  # type: ignore[assignment]
        gw.chaos = None
        assert gw.chaos is None


# -- each knob alone --------------------------------------------------------------------------


async def test_duplicate_delivers_each_callback_two_or_three_times_in_stage_order(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(chaos=Chaos.only(duplicate=1.0, seed=1)) as gw:
        ids = [await submit(http, gw, receiver, "/suno/generate", song(n)) for n in range(5)]
        await gw.wait_idle()

    copies = Counter(receiver.got)
    assert set(copies) == {(i, s) for i in ids for s in MUSIC_ORDER}
    assert set(copies.values()) == {2, 3}
    assert gw.stats.callbacks_duplicated == len(receiver.got) - 15
    for task_id in ids:
        stages = receiver.stages(task_id)
        assert stages == sorted(stages, key=MUSIC_ORDER.index)
    text_copies = [c.copy for c in gw.callbacks if c.task_id == ids[0] and c.stage == "text"]
    assert text_copies in ([0, 1], [0, 1, 2])


async def test_reorder_shuffles_the_stages_of_music_tasks_only(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(chaos=Chaos.only(reorder=1.0, seed=2)) as gw:
        ids = [await submit(http, gw, receiver, "/suno/generate", song(n)) for n in range(6)]
        lyrics_id = await submit(http, gw, receiver, "/suno/generate-lyrics", LYRICS)
        await gw.wait_idle()
        assert [await query_status(http, gw, i) for i in ids] == ["SUCCESS"] * 6

    orders = [receiver.stages(i) for i in ids]
    assert all(sorted(o) == sorted(MUSIC_ORDER) for o in orders)
    assert all(tuple(o) != MUSIC_ORDER for o in orders)
    assert any(o.index("complete") < o.index("first") for o in orders)
    assert receiver.stages(lyrics_id) == ["complete"]
    assert gw.stats.callbacks_reordered_tasks == 6


async def test_reorder_also_shuffles_text_and_error_of_a_failed_task(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(chaos=Chaos.only(reorder=1.0)) as gw:
        gw.fail_tasks()
        task_id = await submit(http, gw, receiver, "/suno/generate", song(0))
        await gw.wait_idle()

    assert receiver.stages(task_id) == ["error", "text"]


async def test_early_holds_the_submit_answer_until_the_callbacks_were_delivered(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(chaos=Chaos.only(early=1.0)) as gw:
        task_id = await submit(http, gw, receiver, "/suno/generate", song(0))

        # No waiting: the callbacks were delivered before the submit was answered.
        assert receiver.stages(task_id) == list(MUSIC_ORDER)
        assert gw.stats.answers_early == 1


async def test_drop_delivers_nothing_and_the_record_still_finishes(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(chaos=Chaos.only(drop=1.0)) as gw:
        task_id = await submit(http, gw, receiver, "/suno/generate", song(0))
        await gw.wait_idle()
        assert await query_status(http, gw, task_id) == "SUCCESS"

    assert receiver.got == []
    assert gw.callbacks == []
    assert gw.stats.callbacks_dropped == 3


async def test_drop_with_a_probability_drops_some_callbacks_and_delivers_the_rest(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(chaos=Chaos.only(drop=0.5, seed=3)) as gw:
        for n in range(10):
            await submit(http, gw, receiver, "/suno/generate", song(n))
        await gw.wait_idle()

    dropped = gw.stats.callbacks_dropped
    assert 0 < dropped < 30
    assert len(set(receiver.got)) == len(receiver.got) == 30 - dropped


@pytest.mark.parametrize("style", ["body", "http"])
async def test_submit_503_refuses_with_http_503_and_the_envelope_before_any_task(
    receiver: Receiver, http: aiohttp.ClientSession, style: Any
) -> None:
    async with FakeGateway(chaos=Chaos.only(submit_503=1.0), error_style=style) as gw:
        status, answer, _ = await post(
            http, gw, "/suno/generate", {**song(0), "callBackUrl": receiver.url()}
        )
        sync_status, _, _ = await post(http, gw, "/suno/style-generate", {"content": "jazz"})

        assert (status, sync_status) == (503, 503)
        assert answer["error"]["type"] == "api_error"
        assert answer["error"]["message"]
        assert gw.tasks == []
        stats = gw.stats
        assert stats.submits_refused == {"503": 2, "rate": 0, "injected": 0}
        assert stats.tasks_created == 0


@pytest.mark.parametrize(
    ("style", "status", "code"),
    [("body", 200, 430), ("http", 429, 429)],
)
async def test_rate_answer_refuses_with_a_rate_code_and_no_retry_after(
    receiver: Receiver, http: aiohttp.ClientSession, style: Any, status: int, code: int
) -> None:
    async with FakeGateway(chaos=Chaos.only(rate_answer=1.0), error_style=style) as gw:
        got, answer, headers = await post(
            http, gw, "/suno/generate-lyrics", {**LYRICS, "callBackUrl": receiver.url()}
        )

        assert got == status
        if style == "body":
            assert answer == {"code": code, "msg": answer["msg"], "data": None}
        else:
            assert answer["error"]["type"] == "rate_limit_error"
            assert answer["error"]["code"] == "rate_limit_exceeded"
        assert "Retry-After" not in headers
        assert "X-RateLimit-Reset-After" not in headers
        assert gw.tasks == []
        assert gw.stats.submits_refused["rate"] == 1
        assert gw.stats.submits_rate_limited == 0


async def test_late_spaces_out_the_callbacks_but_keeps_their_order(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(chaos=Chaos.only(late=1.0, max_delay=0.15, seed=5)) as gw:
        ids = [await submit(http, gw, receiver, "/suno/generate", song(n)) for n in range(4)]
        await gw.wait_idle()

    gaps = []
    for task_id in ids:
        assert receiver.stages(task_id) == list(MUSIC_ORDER)
        times = [c.time for c in gw.callbacks if c.task_id == task_id]
        gaps += [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) > 0.03


async def test_slow_answer_timeout_makes_a_slow_receiver_get_a_redelivery(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    receiver.delay, receiver.delay_count = 0.5, 1
    chaos = Chaos.only(slow_answer_timeout=0.05)
    async with FakeGateway(chaos=chaos, retry_delays=(0.01,)) as gw:
        assert gw.callback_timeout == 15.0
        await submit(http, gw, receiver, "/suno/generate-lyrics", LYRICS)
        await gw.wait_idle()

    assert [(c.attempt, c.status) for c in gw.callbacks] == [(1, None), (2, 200)]
    assert receiver.bodies[0] == receiver.bodies[1]
    assert (gw.stats.redeliveries, gw.stats.callbacks_ok) == (1, 1)


# -- reproducibility ---------------------------------------------------------------------------


async def _storm_run(
    http: aiohttp.ClientSession, receiver: Receiver, seed: int
) -> tuple[list[tuple[int, Any]], dict[str, list[str]], GatewayStats]:
    receiver.got.clear()
    chaos = Chaos(seed=seed, max_delay=0.01)
    async with FakeGateway(chaos=chaos, seed=1) as gw:
        outcomes = []
        for n in range(30):
            status, answer, _ = await post(
                http, gw, "/suno/generate", {**song(n), "callBackUrl": receiver.url()}
            )
            outcomes.append((status, answer.get("code")))
        await gw.wait_idle()
    per_task: dict[str, list[str]] = defaultdict(list)
    for task_id, stage in receiver.got:
        per_task[task_id].append(stage)
    return outcomes, dict(per_task), gw.stats


async def test_the_same_seed_and_requests_give_the_same_decisions(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    first = await _storm_run(http, receiver, seed=9)
    again = await _storm_run(http, receiver, seed=9)
    other = await _storm_run(http, receiver, seed=10)

    assert first == again
    assert first != other
    refused = first[2].submits_refused
    assert refused["503"] + refused["rate"] > 0


# -- rate cap ----------------------------------------------------------------------------------


async def test_rate_limit_refuses_the_21st_submit_in_a_window_and_accepts_after_it(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(rate_limit=(20, 1.0)) as gw:
        body = {**LYRICS, "callBackUrl": receiver.url()}
        first = await asyncio.gather(
            *(post(http, gw, "/suno/generate-lyrics", body) for _ in range(20))
        )
        status, answer, headers = await post(http, gw, "/suno/generate", {**song(0), **body})
        sync = await post(http, gw, "/suno/style-generate", {"content": "jazz"})

        assert all((s, a["code"]) == (200, 200) for s, a, _ in first)
        assert (status, answer) == (
            200,
            {"code": 430, "msg": "call frequency too high, try later", "data": None},
        )
        reset_after = float(headers["X-RateLimit-Reset-After"])
        assert 0 < reset_after <= 1.0
        assert headers["X-RateLimit-Reset-After"] == f"{reset_after:.3f}"
        assert headers["Retry-After"] == str(max(1, math.ceil(reset_after)))
        assert sync[0:2][0] == 200
        assert sync[1]["code"] == 200  # synchronous routes are not capped
        assert len(gw.tasks) == 20
        assert (gw.stats.submits_refused["rate"], gw.stats.submits_rate_limited) == (1, 1)

        await asyncio.sleep(reset_after)
        await submit(http, gw, receiver, "/suno/generate", song(0))
        assert len(gw.tasks) == 21
        await gw.wait_idle()


async def test_rate_limit_in_http_style_is_429_with_the_rate_envelope_and_headers(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(rate_limit=(2, 30.0), error_style="http") as gw:
        for n in range(2):
            await submit(http, gw, receiver, "/suno/generate", song(n))
        status, answer, headers = await post(
            http, gw, "/suno/generate", {**song(2), "callBackUrl": receiver.url()}
        )
        await gw.wait_idle()

    assert status == 429
    assert answer["error"]["type"] == "rate_limit_error"
    assert answer["error"]["code"] == "rate_limit_exceeded"
    assert 29 < float(headers["X-RateLimit-Reset-After"]) <= 30
    assert headers["Retry-After"] == "30"
    assert len(gw.tasks) == 2


async def test_a_burst_against_the_cap_creates_each_task_once_and_never_exceeds_it(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    limit, window = 10, 0.1
    async with FakeGateway(rate_limit=(limit, window), record=False) as gw:

        async def one(n: int) -> str:
            body = {**song(n), "callBackUrl": receiver.url()}
            for _ in range(100):
                _, answer, headers = await post(http, gw, "/suno/generate", body)
                if answer["code"] == 200:
                    return str(answer["data"]["taskId"])
                assert answer["code"] == 430
                await asyncio.sleep(float(headers["X-RateLimit-Reset-After"]))
            raise AssertionError("never admitted")

        ids = await asyncio.gather(*(one(n) for n in range(60)))
        await gw.wait_idle()

    assert len(set(ids)) == len(gw.tasks) == 60
    assert sorted(t.request["title"] for t in gw.tasks) == sorted(f"Song {n}" for n in range(60))
    assert gw.stats.submits_rate_limited > 0
    created = sorted(t.create_time.timestamp() for t in gw.tasks)
    spans = [b - a for a, b in zip(created, created[limit:], strict=False)]
    assert min(spans) > window - 0.01


@pytest.mark.parametrize("value", [(0, 1.0), (1, 0.0), (1, -2.0), (1, math.inf), [1, 1.0]])
def test_invalid_rate_limits_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        FakeGateway(rate_limit=value)


# -- lost submit answers -----------------------------------------------------------------------


async def test_drop_submit_answer_disconnects_but_the_task_and_its_callbacks_exist(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway() as gw:
        gw.drop_submit_answer()
        body = {**song(0), "callBackUrl": receiver.url()}
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await post(http, gw, "/suno/generate", body)
        await gw.wait_idle()

        (task,) = gw.tasks
        assert receiver.stages(task.id) == list(MUSIC_ORDER)
        assert gw.stats.answers_dropped == 1
        await submit(http, gw, receiver, "/suno/generate", song(1))  # the next is answered again
        assert len(gw.tasks) == 2
        await gw.wait_idle()


async def test_drop_submit_answer_hang_times_the_client_out_but_makes_the_task(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway() as gw:
        gw.drop_submit_answer("/suno/generate-lyrics", mode="hang")
        await submit(http, gw, receiver, "/suno/generate", song(0))  # another route: answered
        body = {**LYRICS, "callBackUrl": receiver.url()}
        with pytest.raises(TimeoutError):
            await post(http, gw, "/suno/generate-lyrics", body, timeout=0.3)
        await gw.wait_idle()

        lyrics = [t for t in gw.tasks if t.kind == "lyrics"]
        assert len(lyrics) == 1
        assert receiver.stages(lyrics[0].id) == ["complete"]


async def test_a_hanging_answer_does_not_hold_up_close(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw = FakeGateway()
    await gw.start()
    gw.drop_submit_answer(mode="hang")
    body = {**LYRICS, "callBackUrl": receiver.url()}
    hung = asyncio.create_task(post(http, gw, "/suno/generate-lyrics", body, timeout=30))
    await receiver.wait_for(1)

    started = time.monotonic()
    await gw.close()

    assert time.monotonic() - started < 1.0
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await hung


async def test_a_refused_submit_does_not_use_up_a_lost_answer(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway() as gw:
        gw.drop_submit_answer()
        status, answer, _ = await post(http, gw, "/suno/generate", song(0))  # no callBackUrl
        assert (status, answer["code"]) == (200, 400)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await post(http, gw, "/suno/generate", {**song(0), "callBackUrl": receiver.url()})
        await gw.wait_idle()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"route": "/suno/style-generate"}, "route"),
        ({"times": 0}, "times"),
        ({"mode": "x"}, "mode"),
    ],
)
def test_drop_submit_answer_refuses_unknown_options(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        FakeGateway().drop_submit_answer(**kwargs)


# -- stats and recording -----------------------------------------------------------------------


async def test_stats_count_tasks_refusals_and_deliveries(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(duplicates=1) as gw:
        gw.fail_submit(code=455)
        _, answer, _ = await post(http, gw, "/suno/generate", song(0))
        assert answer["code"] == 455
        await submit(http, gw, receiver, "/suno/generate", song(0))
        await gw.wait_idle()
        stats = gw.stats

    assert stats == GatewayStats(
        tasks_created=1,
        submits_refused={"503": 0, "rate": 0, "injected": 1},
        submits_rate_limited=0,
        callbacks_sent=6,
        callbacks_ok=6,
        callbacks_dropped=0,
        callbacks_duplicated=3,
        callbacks_reordered_tasks=0,
        redeliveries=0,
        deliveries_failed=0,
        answers_dropped=0,
        answers_early=0,
    )


async def test_record_false_keeps_no_requests_or_callbacks_but_still_counts(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(record=False) as gw:
        await submit(http, gw, receiver, "/suno/generate", song(0))
        await gw.wait_idle()

    assert (gw.requests, gw.callbacks) == ([], [])
    assert len(receiver.got) == gw.stats.callbacks_ok == 3


# -- a storm -----------------------------------------------------------------------------------


async def test_a_storm_makes_each_task_once_and_routes_every_callback_to_it(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    count = 600  # the SDK's own storm test and benchmark run 2,000 and 20,000
    chaos = Chaos(seed=11, max_delay=0.05)
    async with FakeGateway(chaos=chaos, retry_delays=(0.01, 0.05, 0.1), record=False) as gw:
        gate = asyncio.Semaphore(100)

        async def one(n: int) -> str:
            body = {**song(n), "callBackUrl": receiver.url()}
            async with gate:
                for _ in range(50):
                    status, answer, _ = await post(http, gw, "/suno/generate", body)
                    if status == 503 or answer["code"] == 430:
                        continue  # refused before any task was made: safe to send again
                    assert (status, answer["code"]) == (200, 200)
                    return str(answer["data"]["taskId"])
            raise AssertionError("never accepted")

        ids = await asyncio.gather(*(one(n) for n in range(count)))
        await gw.wait_idle(timeout=30)
        tasks = {t.id: t for t in gw.tasks}
        stats = gw.stats

    # Each submit made exactly one task, its own.
    assert len(set(ids)) == len(tasks) == stats.tasks_created == count
    assert all(tasks[i].request["title"] == f"Song {n}" for n, i in enumerate(ids))
    assert all(t.status == "SUCCESS" for t in tasks.values())
    # Every callback belongs to a task that was made and carries that task's own tracks.
    for body, (task_id, stage) in zip(receiver.bodies, receiver.got, strict=True):
        assert stage in MUSIC_ORDER
        tracks = body["data"]["data"]
        assert all(t["title"] == tasks[task_id].request["title"] for t in tracks)
    # Nothing lost but what chaos dropped on purpose; copies only where chaos duplicated.
    distinct = set(receiver.got)
    assert len(distinct) == 3 * count - stats.callbacks_dropped
    assert len(receiver.got) == len(distinct) + stats.callbacks_duplicated
    assert len(receiver.got) == stats.callbacks_ok == stats.callbacks_sent
    assert (
        min(
            stats.callbacks_dropped,
            stats.callbacks_duplicated,
            stats.callbacks_reordered_tasks,
            stats.answers_early,
            stats.submits_refused["503"],
            stats.submits_refused["rate"],
        )
        > 0
    )
