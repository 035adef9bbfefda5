"""The simulator's inspector API (``/_sim/``) without a browser, over real sockets: the SDK
makes the tasks through the plugin's fixtures (the ``anyint`` mark turns the inspector on) and
plain aiohttp asks the inspector what happened."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _gateway_helpers import Receiver, submit

from anyint_music import AnyIntMusic, Model, TaskFailedError
from anyint_music.testing import Chaos, FakeGateway, _sim_inspector

pytestmark = pytest.mark.anyint(inspector=True)

SIMPLE = {"customMode": False, "instrumental": False, "model": "V5", "prompt": "x"}
HOSTILE = '<script>alert("x")</script></pre><img src=x onerror=alert(1)>'
INSPECTOR_FILES = ("/", "/_sim/static/inspector.js", "/_sim/static/inspector.css")
DEFAULT_KNOBS = {
    "duplicates": 0,
    "drop_callbacks": False,
    "skip_stages": False,
    "stage_delay": 0.0,
    "chaos_seed": None,
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, gw: FakeGateway, path: str) -> tuple[int, Any]:
    async with http.get(gw.url + path) as response:
        return response.status, await response.json()


async def post(
    http: aiohttp.ClientSession, gw: FakeGateway, path: str, body: Any = None
) -> tuple[int, Any]:
    async with http.post(gw.url + path, json=body) as response:
        return response.status, await response.json()


async def knobs_now(http: aiohttp.ClientSession, gw: FakeGateway) -> dict[str, Any]:
    status, knobs = await get(http, gw, "/_sim/knobs")
    assert status == 200
    return {name: knobs[name] for name in DEFAULT_KNOBS} | {"fail_next": knobs["fail_next"]}


# -- tasks ----------------------------------------------------------------------------------


async def test_a_song_is_listed_with_its_stages_and_answers(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, http: aiohttp.ClientSession
) -> None:
    song = await anyint_client.generate(prompt="a song about trains", model=Model.V5)
    await anyint_gateway.wait_idle()

    status, listing = await get(http, anyint_gateway, "/_sim/tasks")

    assert status == 200
    assert listing["total"] == 1
    (task,) = listing["tasks"]
    assert (task["id"], task["route"], task["kind"]) == (song.task_id, "/suno/generate", "music")
    assert (task["status"], task["phase"]) == ("SUCCESS", "done")
    assert task["request"]["prompt"] == "a song about trains"
    assert [(s["stage"], s["sent"]) for s in task["stages"]] == [
        ("text", True),
        ("first", True),
        ("complete", True),
    ]
    times = [s["time"] for s in task["stages"]]
    assert times == sorted(times)
    assert times[0] >= task["created"]
    assert task["delivery_counts"] == {"attempts": 3, "ok": 3, "failed": 0, "last_status": 200}


async def test_one_task_in_full_has_each_delivery_and_the_result_files(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, http: aiohttp.ClientSession
) -> None:
    song = await anyint_client.generate(prompt="a song about trains", model=Model.V5)
    await anyint_gateway.wait_idle()

    status, task = await get(http, anyint_gateway, f"/_sim/tasks/{song.task_id}")

    assert status == 200
    deliveries = task["deliveries"]
    assert [d["stage"] for d in deliveries] == ["text", "first", "complete"]
    for sent in deliveries:
        assert sent["url"] == task["callback_url"]
        assert (sent["status"], sent["ok"], sent["attempt"], sent["copy"]) == (200, True, 1, 0)
        assert isinstance(sent["latency_ms"], float)
        assert 0 <= sent["latency_ms"] < 30_000
        assert sent["time"] >= task["created"]
        assert sent["error"] is None
        assert sent["body"]["data"]["task_id"] == song.task_id
        assert sent["manual"] is False
    audio = [m["url"] for m in task["media"] if m["kind"] == "audio"]
    images = [m for m in task["media"] if m["kind"] == "image"]
    assert audio == [track.audio_url for track in song.tracks]
    assert [m["url"] for m in images] == [track.image_url for track in song.tracks]
    assert all(m["label"].startswith("Cover of ") for m in images)


async def test_the_list_filters_by_route_and_status(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, http: aiohttp.ClientSession
) -> None:
    song = await anyint_client.generate(prompt="fine", model=Model.V5)
    lyrics = await anyint_client.generate_lyrics("a lyric")
    anyint_gateway.fail_tasks(code=531)
    with pytest.raises(TaskFailedError) as failed:
        await anyint_client.generate(prompt="doomed", model=Model.V5)
    await anyint_gateway.wait_idle()

    async def ids(query: str) -> list[str]:
        status, listing = await get(http, anyint_gateway, "/_sim/tasks" + query)
        assert status == 200, listing
        return [task["id"] for task in listing["tasks"]]

    doomed = failed.value.task_id
    assert await ids("") == [doomed, lyrics.task_id, song.task_id]  # newest first
    assert await ids("?route=/suno/generate-lyrics") == [lyrics.task_id]
    assert await ids("?status=failed") == [doomed]
    assert await ids("?status=done") == [lyrics.task_id, song.task_id]
    assert await ids("?status=done&route=/suno/generate") == [song.task_id]
    assert await ids("?status=running") == []
    assert await ids("?limit=1") == [doomed]
    _, listing = await get(http, anyint_gateway, "/_sim/tasks?status=failed")
    assert listing["tasks"][0]["error"]["code"] == 531
    assert listing["routes"] == ["/suno/generate", "/suno/generate-lyrics"]
    for query in ("?status=broken", "?route=/suno/nope", "?limit=0", "?limit=x"):
        status, answer = await get(http, anyint_gateway, "/_sim/tasks" + query)
        assert (status, bool(answer["error"])) == (400, True), query


async def test_an_unknown_task_is_a_404_with_a_json_error(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    status, answer = await get(http, anyint_gateway, "/_sim/tasks/" + "0" * 32)
    assert status == 404
    assert "0" * 32 in answer["error"]
    status, answer = await post(http, anyint_gateway, f"/_sim/tasks/{'0' * 32}/redeliver", {})
    assert status == 404


async def test_any_other_inspector_path_or_method_is_a_404_with_a_json_error(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    for method, path in (("GET", "/_sim/nope"), ("DELETE", "/_sim/knobs"), ("POST", "/")):
        async with http.request(method, anyint_gateway.url + path) as response:
            assert response.status == 404, (method, path)
            assert path in (await response.json())["error"]
    status, _ = await get(http, anyint_gateway, "/_sim/static/secrets.txt")
    assert status == 404


async def test_a_hostile_request_body_comes_back_as_json_data(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, http: aiohttp.ClientSession
) -> None:
    song = await anyint_client.generate(
        HOSTILE, model=Model.V5, custom_mode=True, style="x</style>", title="</title><b>t"
    )
    await anyint_gateway.wait_idle()

    async with http.get(f"{anyint_gateway.url}/_sim/tasks/{song.task_id}") as response:
        assert response.content_type == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        task = await response.json()
    assert task["request"]["prompt"] == HOSTILE
    assert task["request"]["title"] == "</title><b>t"
    assert task["deliveries"][-1]["body"]["data"]["data"][0]["prompt"] == HOSTILE


async def test_the_page_inserts_text_only_as_text_and_loads_nothing_from_elsewhere(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    async with http.get(anyint_gateway.url + "/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        policy = response.headers["Content-Security-Policy"]
        page = await response.text()
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    files = []
    for path in INSPECTOR_FILES[1:]:
        async with http.get(anyint_gateway.url + path) as response:
            assert response.status == 200
            files.append(await response.text())
    script, style = files
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert risky not in script
    assert "textContent" in script
    assert "http" not in page
    assert "@import" not in style
    assert "url(" not in style


async def test_the_api_key_never_shows_in_any_inspector_answer(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, http: aiohttp.ClientSession
) -> None:
    key = anyint_gateway.api_key
    song = await anyint_client.generate(prompt=f"my key is {key}", model=Model.V5)
    await anyint_gateway.wait_idle()
    status, _ = await post(http, anyint_gateway, f"/_sim/tasks/{song.task_id}/redeliver")
    assert status == 200

    texts = []
    for path in (*INSPECTOR_FILES, "/_sim/tasks", f"/_sim/tasks/{song.task_id}", "/_sim/knobs"):
        async with http.get(anyint_gateway.url + path) as response:
            assert response.status == 200, path
            texts.append(await response.text())
    for body in ({"duplicates": key}, {"fail_next": {"count": 1, "message": key}}):
        async with http.post(f"{anyint_gateway.url}/_sim/knobs", json=body) as response:
            texts.append(await response.text())

    assert all(key not in text for text in texts)
    assert "my key is <redacted>" in texts[4]


async def test_inspector_requests_are_not_recorded_and_need_no_key(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    for path in (*INSPECTOR_FILES, "/_sim/tasks", "/_sim/knobs"):
        async with http.get(anyint_gateway.url + path) as response:
            assert response.status == 200, path
    assert anyint_gateway.requests == []


# -- knobs ----------------------------------------------------------------------------------


async def test_knobs_are_set_and_read_back(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    changes = {
        "duplicates": 2,
        "drop_callbacks": ["first", "text"],
        "skip_stages": True,
        "stage_delay": 0.25,
        "chaos_seed": 7,
        "fail_next": {"count": 2, "code": 533, "message": "no luck"},
    }
    status, knobs = await post(http, anyint_gateway, "/_sim/knobs", changes)

    assert status == 200
    gw = anyint_gateway
    assert (gw.duplicates, set(gw.drop_callbacks), gw.skip_stages) == (2, {"first", "text"}, True)
    assert gw.stage_delay == 0.25
    assert gw.chaos == Chaos(seed=7)
    assert await get(http, gw, "/_sim/knobs") == (200, knobs)
    assert knobs["drop_callbacks"] == ["first", "text"]
    assert knobs["chaos_seed"] == 7
    assert knobs["fail_next"] == {
        "count": 2,
        "rules": [{"route": None, "code": 533, "message": "no luck", "remaining": 2}],
    }
    status, knobs = await post(
        http, gw, "/_sim/knobs", {"drop_callbacks": True, "chaos_seed": None, "fail_next": None}
    )
    assert status == 200
    assert (gw.drop_callbacks, gw.chaos) == (True, None)
    assert knobs["fail_next"] == {"count": 0, "rules": []}


async def test_a_new_chaos_seed_keeps_the_storm_set_in_python(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    anyint_gateway.chaos = Chaos.only(drop=0.5, seed=1)
    status, _ = await post(http, anyint_gateway, "/_sim/knobs", {"chaos_seed": 9})
    assert status == 200
    assert anyint_gateway.chaos == Chaos.only(drop=0.5, seed=9)


@pytest.mark.parametrize(
    "body",
    [
        {"bogus": 1},
        {"duplicates": -1},
        {"duplicates": True},
        {"duplicates": 1.5},
        {"duplicates": 2, "stage_delay": -1},  # one bad value: nothing changes
        {"stage_delay": "1"},
        {"stage_delay": 1e9},
        {"skip_stages": "yes"},
        {"drop_callbacks": ["first", "never"]},
        {"drop_callbacks": "first"},
        {"chaos_seed": "7"},
        {"chaos_seed": -1},
        {"fail_next": 3},
        {"fail_next": {"code": 501}},
        {"fail_next": {"count": 1, "code": 5}},
        {"fail_next": {"count": 1, "when": "now"}},
        {"fail_next": {"count": 1, "route": "/suno/nope"}},
        {"fail_next": {"count": 1, "message": 5}},
        ["duplicates", 1],
    ],
)
async def test_a_bad_knob_change_is_a_400_and_changes_nothing(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession, body: Any
) -> None:
    before = await knobs_now(http, anyint_gateway)

    status, answer = await post(http, anyint_gateway, "/_sim/knobs", body)

    assert status == 400
    assert isinstance(answer["error"], str)
    assert answer["error"]
    assert await knobs_now(http, anyint_gateway) == before
    assert before == {**DEFAULT_KNOBS, "fail_next": {"count": 0, "rules": []}}


async def test_a_post_must_be_json_from_the_page_itself(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    url = f"{anyint_gateway.url}/_sim/knobs"
    async with http.post(url, data="duplicates=3") as response:
        assert response.status == 415
    async with http.post(url, data="{", headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
    async with http.post(
        url, json={"duplicates": 3}, headers={"Origin": "http://evil.example"}
    ) as response:
        assert response.status == 403
    async with http.post(
        url, json={"duplicates": 3}, headers={"Origin": anyint_gateway.url}
    ) as response:
        assert response.status == 200
    assert anyint_gateway.duplicates == 3


async def test_fail_next_makes_the_next_sdk_task_fail(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, http: aiohttp.ClientSession
) -> None:
    body = {"fail_next": {"count": 1, "code": 533, "message": "the band broke up"}}
    status, _ = await post(http, anyint_gateway, "/_sim/knobs", body)
    assert status == 200

    with pytest.raises(TaskFailedError) as failed:
        await anyint_client.generate(prompt="doomed", model=Model.V5)
    song = await anyint_client.generate(prompt="fine again", model=Model.V5)

    assert (failed.value.code, failed.value.message) == (533, "the band broke up")
    assert len(song.tracks) == 2
    _, task = await get(http, anyint_gateway, f"/_sim/tasks/{failed.value.task_id}")
    assert (task["phase"], task["error"]["code"]) == ("failed", 533)
    assert [s["stage"] for s in task["stages"]] == ["text", "error"]


# -- redeliver ------------------------------------------------------------------------------


async def test_redeliver_sends_the_last_callback_again_and_records_it(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, http: aiohttp.ClientSession
) -> None:
    song = await anyint_client.generate(prompt="once more", model=Model.V5)
    await anyint_gateway.wait_idle()

    status, answer = await post(http, anyint_gateway, f"/_sim/tasks/{song.task_id}/redeliver")

    assert status == 200
    assert answer["status"] == 200  # the SDK's receiver takes a duplicate with 200
    again = answer["delivery"]
    assert (again["stage"], again["copy"]) == ("complete", 1)
    assert (again["manual"], again["ok"]) == (True, True)
    first = anyint_gateway.callbacks[2]
    assert again["url"] == first.url
    assert again["body"] == first.body
    gw = anyint_gateway
    assert [(c.stage, c.copy, c.status) for c in gw.callbacks[2:]] == [
        ("complete", 0, 200),
        ("complete", 1, 200),
    ]
    _, task = await get(http, anyint_gateway, f"/_sim/tasks/{song.task_id}")
    assert [d["manual"] for d in task["deliveries"]] == [False, False, False, True]
    assert task["delivery_counts"]["attempts"] == 4
    assert anyint_gateway.stats.callbacks_duplicated == 1


async def test_redeliver_a_chosen_stage_even_one_that_was_dropped(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    anyint_gateway.drop_callbacks = {"first"}
    async with Receiver() as receiver:
        task_id = await submit(http, anyint_gateway, receiver, "/suno/generate", SIMPLE)
        await anyint_gateway.wait_idle()
        _, task = await get(http, anyint_gateway, f"/_sim/tasks/{task_id}")
        assert [(s["stage"], s["note"]) for s in task["stages"]] == [
            ("text", None),
            ("first", "dropped"),
            ("complete", None),
        ]

        status, answer = await post(
            http, anyint_gateway, f"/_sim/tasks/{task_id}/redeliver", {"stage": "first"}
        )

        assert (status, answer["status"], answer["delivery"]["copy"]) == (200, 200, 0)
        assert [b["data"]["callbackType"] for b in receiver.bodies] == ["text", "complete", "first"]
        receiver.answers.append(500)
        status, answer = await post(
            http, anyint_gateway, f"/_sim/tasks/{task_id}/redeliver", {"stage": "text"}
        )
        assert (status, answer["status"], answer["delivery"]["ok"]) == (200, 500, False)
    _, task = await get(http, anyint_gateway, f"/_sim/tasks/{task_id}")
    assert task["delivery_counts"] == {"attempts": 4, "ok": 3, "failed": 1, "last_status": 500}


async def test_redeliver_refuses_what_cannot_be_sent(
    anyint_gateway: FakeGateway, http: aiohttp.ClientSession
) -> None:
    anyint_gateway.stage_delay = 30  # the task reaches no stage during the test
    async with Receiver() as receiver:
        task_id = await submit(http, anyint_gateway, receiver, "/suno/generate", SIMPLE)
        path = f"/_sim/tasks/{task_id}/redeliver"

        status, answer = await post(http, anyint_gateway, path, {})
        assert status == 409
        assert "not reached" in answer["error"]
        status, _ = await post(http, anyint_gateway, path, {"stage": "lyrics"})
        assert status == 409
        for bad in ({"stage": "bogus"}, {"stage": "text", "x": 1}, ["text"]):
            status, _ = await post(http, anyint_gateway, path, bad)
            assert status == 400, bad
    assert receiver.bodies == []


# -- on, off and bounded --------------------------------------------------------------------


async def test_the_anyint_mark_turns_the_inspector_on(anyint_gateway: FakeGateway) -> None:
    assert anyint_gateway.inspector is True


async def test_without_the_inspector_everything_of_it_is_a_404(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeGateway() as gw:
        for path in (*INSPECTOR_FILES, "/_sim/tasks", "/_sim/knobs", "/_sim/tasks/x/redeliver"):
            async with http.get(gw.url + path) as response:
                assert response.status == 404, path
        status, _ = await post(http, gw, "/_sim/knobs", {"duplicates": 3})
        assert status == 404
        assert gw.duplicates == 0

        gw.inspector = True  # a knob like the others: on while running

        status, listing = await get(http, gw, "/_sim/tasks")
        assert (status, listing["tasks"]) == (200, [])


async def test_the_records_do_not_depend_on_record_or_on_the_callbacks_list(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeGateway(inspector=True, record=False) as gw, Receiver() as receiver:
        task_id = await submit(http, gw, receiver, "/suno/generate", SIMPLE)
        await gw.wait_idle()
        assert gw.callbacks == []
        assert gw.requests == []

        _, task = await get(http, gw, f"/_sim/tasks/{task_id}")

    assert [d["status"] for d in task["deliveries"]] == [200, 200, 200]


async def test_the_records_are_bounded(
    http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sim_inspector, "MAX_TASKS", 3)
    monkeypatch.setattr(_sim_inspector, "MAX_DELIVERIES", 2)
    async with FakeGateway(inspector=True, record=False) as gw, Receiver() as receiver:
        made = [await submit(http, gw, receiver, "/suno/generate", SIMPLE) for _ in range(5)]
        await gw.wait_idle()

        _, listing = await get(http, gw, "/_sim/tasks")
        status, _ = await get(http, gw, f"/_sim/tasks/{made[0]}")
        _, newest = await get(http, gw, f"/_sim/tasks/{made[-1]}")

    assert [task["id"] for task in listing["tasks"]] == made[:1:-1]
    assert (listing["total"], listing["kept_at_most"], status) == (3, 3, 404)
    assert [d["stage"] for d in newest["deliveries"]] == ["first", "complete"]
    assert (newest["deliveries_not_kept"], newest["delivery_counts"]["attempts"]) == (1, 3)


def test_redact_hides_the_key_and_secret_fields() -> None:
    data = {"a": ["sk-long-secret-key!", {"Authorization": "x"}], "b": 3, "c": "key"}
    assert _sim_inspector.redact(data, "sk-long-secret-key") == {
        "a": ["<redacted>!", {"Authorization": "<redacted>"}],
        "b": 3,
        "c": "key",
    }
    assert _sim_inspector.redact(["k", "keep"], "k") == ["<redacted>", "keep"]
    assert json.dumps(_sim_inspector.redact({"x": None}, "")) == '{"x": null}'
