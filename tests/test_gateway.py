"""FakeGateway against the wire format of PROTOCOL.md, over real sockets.

The tests speak plain HTTP to the simulator with aiohttp and receive its callbacks on a tiny
aiohttp server of their own, so they check the simulator independently of the SDK.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _gateway_helpers import Receiver, call, submit

from anyint_music.testing._gateway import FakeGateway

HEX32 = re.compile(r"^[0-9a-f]{32}$")
LYRICS = "[Verse]\nNeon lights are calling\nOn the empty road\n\n[Chorus]\nDrive all night"
CUSTOM = {
    "customMode": True,
    "instrumental": False,
    "model": "V5",
    "title": "Night Drive",
    "style": "synthwave, retro",
    "prompt": LYRICS,
}
SIMPLE = {
    "customMode": False,
    "instrumental": False,
    "model": "V4_5",
    "prompt": "a bright summer song",
}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as rec:
        yield rec


@pytest.fixture
async def gw() -> AsyncIterator[FakeGateway]:
    async with FakeGateway() as gateway:
        yield gateway


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def finished_music(
    http: aiohttp.ClientSession, gw: FakeGateway, rec: Receiver, body: dict[str, Any] = CUSTOM
) -> tuple[str, list[dict[str, Any]]]:
    task_id = await submit(http, gw, rec, "/suno/generate", body)
    await gw.wait_idle()
    result = gw.task(task_id).result
    assert result is not None
    return task_id, result


# -- music stages ---------------------------------------------------------------------------


async def test_music_task_calls_back_text_first_complete_in_order_with_two_tracks(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    task_id = await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    stages = [b["data"]["callbackType"] for b in receiver.bodies]
    assert stages == ["text", "first", "complete"]
    text, first, complete = receiver.bodies
    assert all(b["code"] == 200 and b["data"]["task_id"] == task_id for b in receiver.bodies)
    assert text["data"]["data"] == []
    assert len(first["data"]["data"]) == 1
    tracks = complete["data"]["data"]
    assert len(tracks) == 2
    assert first["data"]["data"][0] == tracks[0]
    for track in tracks:
        assert track["title"] == "Night Drive"
        assert track["tags"] == "synthwave, retro"
        assert track["prompt"] == LYRICS
        assert track["model_name"].startswith("chirp-")
        assert 60 <= track["duration"] < 240
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", track["createTime"])
        assert track["audio_url"] == f"{gw.url}/files/{track['id']}.mp3"
        assert track["image_url"] == f"{gw.url}/files/{track['id']}.jpeg"
        assert track["stream_audio_url"] == f"{gw.url}/stream/{track['id']}"
        assert uuid.UUID(track["id"])
    assert [c.stage for c in gw.callbacks] == ["text", "first", "complete"]


async def test_task_and_audio_ids_are_hex_unique_and_audio_ids_are_uuids(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    ids = [await submit(http, gw, receiver, "/suno/generate", CUSTOM) for _ in range(3)]
    await gw.wait_idle()

    assert all(HEX32.match(i) for i in ids)
    assert len(set(ids)) == 3
    audio = [t["id"] for i in ids for t in gw.task(i).result or []]
    assert len(set(audio)) == 6
    assert all(str(uuid.UUID(a)) == a for a in audio)


async def test_simple_mode_derives_title_style_and_lyrics_from_the_prompt(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    _, tracks = await finished_music(http, gw, receiver, SIMPLE)

    assert tracks[0]["title"] == "A Bright Summer Song"
    assert "a bright summer song" in tracks[0]["prompt"]
    assert "[Verse]" in tracks[0]["prompt"]
    assert tracks[0]["tags"]
    assert tracks[0]["model_name"] == "chirp-auk"


async def test_skip_stages_sends_only_complete(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.skip_stages = True
    await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    assert [b["data"]["callbackType"] for b in receiver.bodies] == ["complete"]
    assert len(receiver.bodies[0]["data"]["data"]) == 2


async def test_text_tracks_sends_tracks_with_empty_audio_url_in_the_text_stage(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.text_tracks = True
    await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    text_tracks = receiver.bodies[0]["data"]["data"]
    assert len(text_tracks) == 2
    assert all(t["audio_url"] == "" for t in text_tracks)


async def test_unwrapped_callbacks_have_no_envelope_and_only_anyint_track_keys(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.unwrapped = True
    task_id = await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    complete = receiver.bodies[-1]
    assert set(complete) == {"callbackType", "task_id", "data"}
    assert complete["callbackType"] == "complete"
    assert complete["task_id"] == task_id
    assert set(complete["data"][0]) == {
        "id",
        "audio_url",
        "stream_audio_url",
        "image_url",
        "title",
        "tags",
        "duration",
    }


async def test_duplicates_deliver_each_callback_again(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.duplicates = 1
    await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    stages = [b["data"]["callbackType"] for b in receiver.bodies]
    assert stages == ["text", "text", "first", "first", "complete", "complete"]
    assert [c.copy for c in gw.callbacks] == [0, 1, 0, 1, 0, 1]


async def test_early_callbacks_arrive_before_the_submit_answer(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.early_callbacks = True
    task_id = await submit(http, gw, receiver, "/suno/generate", CUSTOM)

    # No waiting: everything was delivered before the submit POST answered.
    assert [b["data"]["callbackType"] for b in receiver.bodies] == ["text", "first", "complete"]
    assert receiver.bodies[0]["data"]["task_id"] == task_id


async def test_stage_delay_spaces_the_stages_and_the_record_shows_progress(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(stage_delay=0.1) as gw:
        task_id = await submit(http, gw, receiver, "/suno/generate", CUSTOM)
        assert gw.task(task_id).status == "PENDING"
        await receiver.wait_for(1)
        _, answer = await call(
            http, gw, "/suno/query/task", method="GET", params={"taskId": task_id}
        )
        assert answer["data"]["status"] == "TEXT_SUCCESS"
        assert not receiver.bodies[1:]
        await gw.wait_idle()
        assert gw.task(task_id).status == "SUCCESS"


# -- dropping, failing ----------------------------------------------------------------------


async def test_drop_callbacks_true_delivers_nothing_but_the_record_reaches_success(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.drop_callbacks = True
    task_id = await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    assert receiver.bodies == []
    assert gw.callbacks == []
    _, answer = await call(http, gw, "/suno/query/task", method="GET", params={"taskId": task_id})
    assert answer["data"]["status"] == "SUCCESS"
    assert len(answer["data"]["response"]["sunoData"]) == 2


async def test_drop_callbacks_with_stage_names_skips_only_those(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.drop_callbacks = {"text", "complete"}
    await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    assert [b["data"]["callbackType"] for b in receiver.bodies] == ["first"]


async def test_fail_tasks_sends_text_then_error_and_marks_the_record_failed(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.fail_tasks(531, "Generation failed, credits refunded")
    task_id = await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    assert [b["data"]["callbackType"] for b in receiver.bodies] == ["text", "error"]
    error = receiver.bodies[-1]
    assert error == {
        "code": 531,
        "msg": "Generation failed, credits refunded",
        "data": {"callbackType": "error", "task_id": task_id, "data": None},
    }
    _, answer = await call(http, gw, "/suno/query/task", method="GET", params={"taskId": task_id})
    record = answer["data"]
    assert (record["status"], record["errorCode"]) == ("GENERATE_AUDIO_FAILED", 531)
    assert record["response"]["sunoData"] == []


async def test_fail_tasks_applies_to_the_next_times_tasks_only(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.fail_tasks(times=2)
    ids = [await submit(http, gw, receiver, "/suno/generate", CUSTOM) for _ in range(3)]
    await gw.wait_idle()

    statuses = [gw.task(i).status for i in ids]
    assert statuses == ["GENERATE_AUDIO_FAILED", "GENERATE_AUDIO_FAILED", "SUCCESS"]
    assert gw.task(ids[0]).error_code == 501


async def test_fail_tasks_on_lyrics_sends_the_sunoapi_failure_body(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.fail_tasks(400, "Prompt rejected", route="/suno/generate-lyrics")
    task_id = await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rain"})
    await gw.wait_idle()

    assert receiver.bodies == [
        {
            "code": 400,
            "msg": "Prompt rejected",
            "data": {"callbackType": "error", "taskId": task_id, "data": None},
        }
    ]
    assert gw.task(task_id).status == "GENERATE_LYRICS_FAILED"


async def test_fail_tasks_on_lyrics_with_kie_spelling_sends_kie_failure_body(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.kie_spelling = True
    gw.fail_tasks(400, "Prompt rejected")
    task_id = await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rain"})
    await gw.wait_idle()

    body = receiver.bodies[0]
    assert body["data"] == {"callbackType": "complete", "task_id": task_id, "data": None}
    assert body["code"] == 400


async def test_fail_tasks_on_cover_sends_null_images(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    music_id, _ = await finished_music(http, gw, receiver)
    gw.fail_tasks(route="/suno/generate-cover")
    cover_id = await submit(http, gw, receiver, "/suno/generate-cover", {"taskId": music_id})
    await gw.wait_idle()

    assert receiver.bodies[-1] == {
        "code": 501,
        "msg": "Cover generation failed",
        "data": {"taskId": cover_id, "images": None},
    }
    _, answer = await call(http, gw, "/suno/query/cover", method="GET", params={"taskId": cover_id})
    assert answer["data"]["successFlag"] == 3


async def test_fail_submit_body_style_answers_http_200_with_the_code(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.fail_submit("/suno/generate", code=430, message="Too fast")
    status, answer = await call(
        http, gw, "/suno/generate", {**CUSTOM, "callBackUrl": receiver.url()}
    )

    assert (status, answer) == (200, {"code": 430, "msg": "Too fast", "data": None})
    assert gw.tasks == []


async def test_fail_submit_http_style_uses_the_code_as_status_with_anyint_envelope(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(error_style="http") as gw:
        gw.fail_submit(code=429)
        status, answer = await call(
            http, gw, "/suno/generate", {**CUSTOM, "callBackUrl": receiver.url()}
        )

    assert status == 429
    assert answer["error"]["type"] == "rate_limit_error"
    assert answer["error"]["code"] == "rate_limit_exceeded"
    assert answer["error"]["message"]


async def test_fail_submit_with_status_answers_that_status_and_envelope(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.fail_submit(status=503)
    status, answer = await call(
        http, gw, "/suno/generate", {**CUSTOM, "callBackUrl": receiver.url()}
    )

    assert status == 503
    assert set(answer["error"]) == {"message", "type", "code"}


async def test_fail_submit_times_then_service_resumes(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.fail_submit("/suno/generate", code=455, times=2)
    body = {**CUSTOM, "callBackUrl": receiver.url()}
    codes = [(await call(http, gw, "/suno/generate", body))[1]["code"] for _ in range(3)]

    assert codes == [455, 455, 200]


async def test_fail_submit_for_one_route_leaves_other_routes_alone(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.fail_submit("/suno/extend", code=500)
    _, answer = await call(http, gw, "/suno/generate", {**CUSTOM, "callBackUrl": receiver.url()})

    assert answer["code"] == 200


# -- auth and validation --------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "sk-wrong"])
async def test_missing_or_wrong_key_is_http_401_with_anyint_envelope(
    gw: FakeGateway, http: aiohttp.ClientSession, key: str
) -> None:
    status, answer = await call(http, gw, "/suno/generate", CUSTOM, key=key)

    assert status == 401
    assert answer["error"]["type"] == "authentication_error"
    assert answer["error"]["code"] == "invalid_api_key"
    assert gw.api_key not in answer["error"]["message"]


async def test_unknown_path_is_404(gw: FakeGateway, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {gw.api_key}"}
    async with http.post(gw.url + "/suno/nope", json={}, headers=headers) as resp:
        assert resp.status == 404


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("/suno/generate", {**CUSTOM, "model": "V9"}, 400),
        ("/suno/generate", {**CUSTOM, "title": ""}, 400),
        ("/suno/generate", {**CUSTOM, "style": None}, 400),
        ("/suno/generate", {**CUSTOM, "prompt": ""}, 400),
        ("/suno/generate", {**SIMPLE, "prompt": "x" * 501}, 413),
        ("/suno/generate", {**CUSTOM, "model": "V4", "prompt": "x" * 3001}, 413),
        ("/suno/generate", {**CUSTOM, "model": "V4", "style": "x" * 201}, 413),
        ("/suno/generate", {**CUSTOM, "model": "V4_5ALL", "title": "x" * 81}, 413),
        ("/suno/generate", {**CUSTOM, "styleWeight": 2}, 400),
        ("/suno/generate-lyrics", {}, 400),
        ("/suno/generate-cover", {}, 400),
        ("/suno/generate-cover", {"taskId": "0" * 32}, 404),
        (
            "/suno/extend",
            {"audioId": str(uuid.UUID(int=1)), "defaultParamFlag": False, "model": "V5"},
            404,
        ),
        ("/suno/timestamped-lyrics", {"taskId": "0" * 32, "audioId": "x"}, 404),
        ("/suno/style-generate", {"content": ""}, 400),
    ],
)
async def test_invalid_bodies_are_refused_with_the_documented_code(
    gw: FakeGateway,
    receiver: Receiver,
    http: aiohttp.ClientSession,
    path: str,
    body: dict[str, Any],
    code: int,
) -> None:
    status, answer = await call(http, gw, path, {**body, "callBackUrl": receiver.url()})

    assert status == 200
    assert answer["code"] == code, answer
    assert answer["data"] is None
    assert gw.tasks == []


async def test_missing_callback_url_is_refused_with_please_enter_callbackurl(
    gw: FakeGateway, http: aiohttp.ClientSession
) -> None:
    status, answer = await call(http, gw, "/suno/generate", CUSTOM)

    assert (status, answer) == (
        200,
        {"code": 400, "msg": "Please enter callBackUrl.", "data": None},
    )


@pytest.mark.parametrize("raw", [b"[1, 2]", b"not json", b""])
async def test_bodies_that_are_not_json_objects_are_code_400(
    gw: FakeGateway, http: aiohttp.ClientSession, raw: bytes
) -> None:
    _, answer = await call(http, gw, "/suno/generate", data=raw)

    assert answer["code"] == 400


async def test_validation_in_http_style_answers_a_real_status(
    http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    async with FakeGateway(error_style="http") as gw:
        body = {**SIMPLE, "prompt": "x" * 501, "callBackUrl": receiver.url()}
        status, answer = await call(http, gw, "/suno/generate", body)

    assert status == 413
    assert answer["error"]["type"] == "invalid_request_error"


# -- extend ---------------------------------------------------------------------------------


async def test_extend_with_default_params_false_inherits_the_source_track(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    music_id, tracks = await finished_music(http, gw, receiver)
    body = {"audioId": tracks[1]["id"], "defaultParamFlag": False, "model": "V5"}
    task_id = await submit(http, gw, receiver, "/suno/extend", body)
    await gw.wait_idle()

    result = gw.task(task_id).result or []
    assert [t["title"] for t in result] == ["Night Drive", "Night Drive"]
    assert result[0]["prompt"] == LYRICS
    assert gw.task(task_id).parent_task_id == music_id
    _, answer = await call(http, gw, "/suno/query/task", method="GET", params={"taskId": task_id})
    assert answer["data"]["parentMusicId"] == tracks[1]["id"]
    assert answer["data"]["operationType"] == "extend"


async def test_extend_with_default_params_true_uses_the_request(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    _, tracks = await finished_music(http, gw, receiver)
    body = {
        "audioId": tracks[0]["id"],
        "defaultParamFlag": True,
        "model": "V5",
        "prompt": "[Outro]\nFading out",
        "style": "ambient",
        "title": "Night Drive II",
        "continueAt": 30,
    }
    task_id = await submit(http, gw, receiver, "/suno/extend", body)
    await gw.wait_idle()

    track = (gw.task(task_id).result or [])[0]
    assert (track["title"], track["tags"], track["prompt"]) == (
        "Night Drive II",
        "ambient",
        "[Outro]\nFading out",
    )


@pytest.mark.parametrize("continue_at", [0, 10_000])
async def test_extend_refuses_continue_at_outside_the_source_duration(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession, continue_at: float
) -> None:
    _, tracks = await finished_music(http, gw, receiver)
    body = {
        "audioId": tracks[0]["id"],
        "defaultParamFlag": True,
        "model": "V5",
        "prompt": "more",
        "style": "pop",
        "title": "More",
        "continueAt": continue_at,
        "callBackUrl": receiver.url(),
    }
    _, answer = await call(http, gw, "/suno/extend", body)

    assert answer["code"] == 400


async def test_extend_refuses_a_model_other_than_the_source_tracks(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    _, tracks = await finished_music(http, gw, receiver)
    body = {"audioId": tracks[0]["id"], "defaultParamFlag": False, "model": "V4"}
    _, answer = await call(http, gw, "/suno/extend", {**body, "callBackUrl": receiver.url()})

    assert answer["code"] == 400


# -- lyrics, cover, timestamped lyrics, style -----------------------------------------------


async def test_lyrics_callback_uses_sunoapi_spelling_by_default(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    task_id = await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rainy city"})
    await gw.wait_idle()

    (body,) = receiver.bodies
    assert body["code"] == 200
    assert body["data"]["callbackType"] == "complete"
    assert body["data"]["taskId"] == task_id
    variants = body["data"]["data"]
    assert len(variants) >= 2
    for variant in variants:
        assert set(variant) == {"text", "title", "status", "errorMessage"}
        assert variant["status"] == "complete"
        assert variant["errorMessage"] == ""
        assert "[Verse]\n" in variant["text"]
        assert "[Chorus]\n" in variant["text"]
        assert "rainy city" in variant["text"]


async def test_lyrics_callback_uses_kie_spelling_when_asked(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.kie_spelling = True
    task_id = await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rainy city"})
    await gw.wait_idle()

    data = receiver.bodies[0]["data"]
    assert data["task_id"] == task_id
    assert "taskId" not in data
    assert all(v["error_message"] == "" and "errorMessage" not in v for v in data["data"])


async def test_cover_callback_carries_two_images_served_by_the_gateway(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    music_id, _ = await finished_music(http, gw, receiver)
    cover_id = await submit(http, gw, receiver, "/suno/generate-cover", {"taskId": music_id})
    await gw.wait_idle()

    body = receiver.bodies[-1]
    assert (body["code"], body["data"]["taskId"]) == (200, cover_id)
    images = body["data"]["images"]
    assert len(images) == 2
    for url in images:
        assert url.startswith(f"{gw.url}/files/")
        assert url.endswith(".png")
        async with http.get(url) as resp:
            assert resp.status == 200
            assert resp.content_type == "image/png"


async def test_cover_is_made_once_per_music_task(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    music_id, _ = await finished_music(http, gw, receiver)
    cover_id = await submit(http, gw, receiver, "/suno/generate-cover", {"taskId": music_id})
    _, answer = await call(
        http, gw, "/suno/generate-cover", {"taskId": music_id, "callBackUrl": receiver.url()}
    )

    assert answer["code"] == 400
    assert "already" in answer["msg"]
    assert answer["data"] == {"taskId": cover_id}


async def test_cover_requires_a_finished_music_task(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(stage_delay=5.0) as gw:
        music_id = await submit(http, gw, receiver, "/suno/generate", CUSTOM)
        body = {"taskId": music_id, "callBackUrl": receiver.url()}
        _, answer = await call(http, gw, "/suno/generate-cover", body)

    assert answer["code"] == 400


async def test_timestamped_lyrics_align_each_word_within_the_track(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    task_id, tracks = await finished_music(http, gw, receiver)
    body = {"taskId": task_id, "audioId": tracks[0]["id"]}
    status, answer = await call(http, gw, "/suno/timestamped-lyrics", body)

    assert (status, answer["code"]) == (200, 200)
    data = answer["data"]
    words = data["alignedWords"]
    assert [w["word"] for w in words[:5]] == [
        "[Verse]\nNeon ",
        "lights ",
        "are ",
        "calling\n",
        "On ",
    ]
    assert words[7]["word"] == "road\n"
    assert words[8]["word"] == "[Chorus]\nDrive "
    assert "".join(w["word"] for w in words).split() == LYRICS.split()
    starts = [w["startS"] for w in words]
    assert starts == sorted(set(starts))
    assert all(w["startS"] < w["endS"] <= tracks[0]["duration"] for w in words)
    assert all(w["success"] is True and w["palign"] == 0 for w in words)
    assert data["waveformData"]
    assert all(0 <= v <= 1 for v in data["waveformData"])
    assert isinstance(data["hootCer"], float)
    assert data["isStreamed"] is False


async def test_timestamped_lyrics_of_an_instrumental_track_are_empty(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    body = {**CUSTOM, "instrumental": True, "prompt": ""}
    task_id, tracks = await finished_music(http, gw, receiver, body)
    _, answer = await call(
        http, gw, "/suno/timestamped-lyrics", {"taskId": task_id, "audioId": tracks[1]["id"]}
    )

    assert answer["data"]["alignedWords"] == []


async def test_timestamped_lyrics_refuse_an_audio_id_of_another_task(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    first_id, _ = await finished_music(http, gw, receiver)
    _, other_tracks = await finished_music(http, gw, receiver)
    body = {"taskId": first_id, "audioId": other_tracks[0]["id"]}
    _, answer = await call(http, gw, "/suno/timestamped-lyrics", body)

    assert answer["code"] == 400


async def test_style_generate_answers_a_richer_style_synchronously(
    gw: FakeGateway, http: aiohttp.ClientSession
) -> None:
    status, answer = await call(http, gw, "/suno/style-generate", {"content": "lofi, rainy"})

    assert (status, answer["code"]) == (200, 200)
    data = answer["data"]
    assert "lofi, rainy" in data["result"]
    assert len(data["result"]) > len("lofi, rainy")
    assert data["successFlag"] == "1"
    assert HEX32.match(data["taskId"])
    assert isinstance(data["creditsConsumed"], float)
    assert isinstance(data["creditsRemaining"], float)
    again = await call(http, gw, "/suno/style-generate", {"content": "lofi, rainy"})
    assert again[1]["data"]["result"] == data["result"]


# -- query records --------------------------------------------------------------------------


async def test_music_record_uses_camel_case_tracks_and_the_request_as_param(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    task_id, tracks = await finished_music(http, gw, receiver)
    _, answer = await call(http, gw, "/suno/query/task", method="GET", params={"taskId": task_id})

    record = answer["data"]
    assert (record["taskId"], record["status"], record["type"]) == (task_id, "SUCCESS", "GENERATE")
    assert '"customMode":true' in record["param"]
    data = record["response"]["sunoData"]
    assert [t["id"] for t in data] == [t["id"] for t in tracks]
    assert data[0]["audioUrl"] == tracks[0]["audio_url"]
    assert {"streamAudioUrl", "imageUrl", "modelName", "createTime"} <= set(data[0])
    assert "audio_url" not in data[0]


async def test_lyrics_record_lives_only_on_the_lyrics_query_route(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    task_id = await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rain"})
    await gw.wait_idle()
    params = {"taskId": task_id}
    _, lyrics = await call(http, gw, "/suno/query/lyrics", method="GET", params=params)
    _, music = await call(http, gw, "/suno/query/task", method="GET", params=params)

    assert lyrics["data"]["status"] == "SUCCESS"
    assert lyrics["data"]["type"] == "LYRICS"
    assert len(lyrics["data"]["response"]["data"]) == 2
    assert music["code"] == 404


async def test_cover_record_reports_an_integer_success_flag(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    music_id, _ = await finished_music(http, gw, receiver)
    cover_id = await submit(http, gw, receiver, "/suno/generate-cover", {"taskId": music_id})
    await gw.wait_idle()
    _, answer = await call(http, gw, "/suno/query/cover", method="GET", params={"taskId": cover_id})

    record = answer["data"]
    assert record["successFlag"] == 1
    assert record["parentTaskId"] == music_id
    assert len(record["response"]["images"]) == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["completeTime"])


async def test_query_of_an_unknown_task_is_code_404(
    gw: FakeGateway, http: aiohttp.ClientSession
) -> None:
    _, answer = await call(http, gw, "/suno/query/task", method="GET", params={"taskId": "f" * 32})

    assert answer["code"] == 404


# -- delivery -------------------------------------------------------------------------------


async def test_callback_answered_500_is_redelivered(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    receiver.answers = [500]
    await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rain"})
    await gw.wait_idle()

    assert [(c.attempt, c.status) for c in gw.callbacks] == [(1, 500), (2, 200)]
    assert receiver.bodies[0] == receiver.bodies[1]


async def test_redelivery_stops_after_the_last_retry(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    receiver.answers = [500] * 10
    async with FakeGateway(retry_delays=(0.01, 0.01, 0.01)) as gw:
        await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rain"})
        await gw.wait_idle()

    assert [c.attempt for c in gw.callbacks] == [1, 2, 3, 4]
    assert not any(c.ok for c in gw.callbacks)


async def test_unreachable_callback_url_is_recorded_with_no_status(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw.retry_delays = ()
    body = {"prompt": "rain", "callBackUrl": f"{receiver.base}/cb/x"}
    await receiver.close()
    await receiver.start()  # a fresh port; the old one refuses connections
    _, answer = await call(http, gw, "/suno/generate-lyrics", body)
    await gw.wait_idle()

    assert answer["code"] == 200
    (attempt,) = gw.callbacks
    assert attempt.status is None
    assert attempt.error


async def test_slow_receiver_times_out_and_is_retried(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    receiver.delay = 0.3
    async with FakeGateway(callback_timeout=0.05, retry_delays=(0.01,)) as gw:
        await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rain"})
        await gw.wait_idle()

    assert [(c.attempt, c.status) for c in gw.callbacks] == [(1, None), (2, None)]


async def test_a_retried_stage_still_arrives_before_the_next_stage(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    receiver.answers = [500, 500]
    await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    await gw.wait_idle()

    stages = [b["data"]["callbackType"] for b in receiver.bodies]
    assert stages == ["text", "text", "text", "first", "complete"]


async def test_wait_idle_raises_timeout_error_while_stages_are_pending(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    async with FakeGateway(stage_delay=5.0) as gw:
        await submit(http, gw, receiver, "/suno/generate", CUSTOM)
        with pytest.raises(TimeoutError):
            await gw.wait_idle(timeout=0.05)


async def test_close_with_pending_deliveries_cancels_them_cleanly(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    gw = FakeGateway(stage_delay=5.0)
    await gw.start()
    await submit(http, gw, receiver, "/suno/generate", CUSTOM)
    receiver.delay = 5.0
    gw.stage_delay = 0.0
    await submit(http, gw, receiver, "/suno/generate-lyrics", {"prompt": "rain"})
    await receiver.wait_for(1)  # one delivery is now in flight, one stage is sleeping

    await gw.close()
    await gw.close()

    assert receiver.bodies[0]["data"]["taskId"]
    await gw.wait_idle(timeout=0.1)


# -- records, files, lifecycle ----------------------------------------------------------------


async def test_requests_are_recorded_and_their_repr_hides_the_key(
    gw: FakeGateway, http: aiohttp.ClientSession
) -> None:
    await call(http, gw, "/suno/style-generate", {"content": "jazz"})
    await call(http, gw, "/suno/query/task", method="GET", params={"taskId": "abc"})

    post, get = gw.requests
    assert (post.method, post.path, post.json) == (
        "POST",
        "/suno/style-generate",
        {"content": "jazz"},
    )
    assert post.text == '{"content": "jazz"}'
    assert post.headers["Authorization"] == f"Bearer {gw.api_key}"
    assert (get.method, get.query, get.json) == ("GET", {"taskId": "abc"}, None)
    assert gw.api_key not in repr(post)
    assert gw.api_key not in repr(gw)


async def test_track_files_and_streams_are_served(
    gw: FakeGateway, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    _, tracks = await finished_music(http, gw, receiver)
    for url, kind in [
        (tracks[0]["audio_url"], "audio/mpeg"),
        (tracks[0]["image_url"], "image/jpeg"),
        (tracks[0]["stream_audio_url"], "audio/mpeg"),
    ]:
        async with http.get(url) as resp:
            assert (resp.status, resp.content_type) == (200, kind)
            assert 100 < len(await resp.read()) < 1000
    async with http.get(f"{gw.url}/files/unknown.mp3") as resp:
        assert resp.status == 404


async def test_same_seed_gives_the_same_task_ids(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    ids = []
    for _ in range(2):
        async with FakeGateway(seed=7, drop_callbacks=True) as gw:
            ids.append(await submit(http, gw, receiver, "/suno/generate", CUSTOM))
            await gw.wait_idle()

    assert ids[0] == ids[1]


async def test_task_of_an_unknown_id_raises_key_error(gw: FakeGateway) -> None:
    with pytest.raises(KeyError):
        gw.task("nope")


async def test_a_closed_gateway_cannot_start_again() -> None:
    gw = FakeGateway()
    await gw.start()
    await gw.close()
    with pytest.raises(RuntimeError):
        await gw.start()


def test_unknown_options_are_refused() -> None:
    with pytest.raises(ValueError, match="error_style"):
        FakeGateway(error_style="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="drop_callbacks"):
        FakeGateway(drop_callbacks={"txt"})


async def test_close_releases_a_submit_held_back_for_early_callbacks(
    receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    receiver.delay = 5.0
    gw = FakeGateway(early_callbacks=True)
    await gw.start()
    body = {**CUSTOM, "callBackUrl": receiver.url()}
    held = asyncio.create_task(call(http, gw, "/suno/generate", body))
    await receiver.wait_for(1)  # the text callback is in flight, so the submit is held back

    await gw.close()

    status, answer = await held
    assert (status, answer["code"]) == (200, 200)
    assert len(receiver.bodies) == 1
