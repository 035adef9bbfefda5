"""FakeGateway's transform and export routes (PROTOCOL-TRANSFORM.md) over real sockets.

Like ``test_gateway.py`` these tests speak plain HTTP to the simulator, receive its callbacks on
a tiny aiohttp server and serve the ``uploadUrl`` sources from another, without the SDK.
"""

from __future__ import annotations

import hashlib
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from _gateway_helpers import Receiver, call, submit
from aiohttp import web

from anyint_music.testing import FakeGateway, FetchedUpload

LYRICS = "[Verse]\nLine one\n[Chorus]\nLine two"
SONG = {"customMode": True, "instrumental": False, "model": "V5", "title": "T", "style": "pop"}
AUDIO = bytes(range(256)) * 64
FILES = {"song.mp3": AUDIO, "empty.mp3": b""}  # what the source host serves; the rest is 404
STEMS = [
    *("origin_url", "vocal_url", "backing_vocals_url", "drums_url", "bass_url", "guitar_url"),
    *("keyboard_url", "percussion_url", "strings_url", "synth_url", "fx_url", "brass_url"),
    "woodwinds_url",
]
UNKNOWN = {"taskId": "0" * 32, "audioId": "11111111-2222-4333-8444-555555555555"}


@attrs.define
class Env:
    """A running gateway, a callback receiver, a client session and a source-audio host."""

    gw: FakeGateway
    rec: Receiver
    http: aiohttp.ClientSession
    host: str

    async def submit(self, route: str, body: dict[str, Any]) -> str:
        return await submit(self.http, self.gw, self.rec, route, body)

    async def call(self, route: str, body: dict[str, Any]) -> Any:
        status, answer = await call(self.http, self.gw, route, body)
        assert status == 200
        return answer

    async def record(self, kind: str, task_id: str) -> Any:
        params = {"taskId": task_id}
        _, answer = await call(
            self.http, self.gw, f"/suno/query/{kind}", method="GET", params=params
        )
        return answer

    async def file(self, url: str) -> tuple[bytes, str]:
        async with self.http.get(url) as resp:
            assert resp.status == 200
            return await resp.read(), resp.content_type

    async def track(self) -> dict[str, str]:
        """A finished generate task's id and its first track's id, as ``{taskId, audioId}``."""
        task_id = await self.submit("/suno/generate", {**SONG, "prompt": LYRICS})
        await self.gw.wait_idle()
        result = self.gw.task(task_id).result
        assert result is not None
        return {"taskId": task_id, "audioId": result[0]["id"]}

    def of_task(self, task_id: str) -> list[dict[str, Any]]:
        """The callback bodies the receiver got for `task_id` (wrapped or not)."""
        return [b for b in self.rec.bodies if b.get("data", b).get("task_id") == task_id]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async def serve(request: web.Request) -> web.Response:
        body = FILES.get(request.match_info["name"])
        if body is None:
            return web.Response(status=404)
        return web.Response(body=body, content_type="audio/mpeg")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with FakeGateway() as gw, Receiver() as rec, aiohttp.ClientSession() as http:
            yield Env(gw, rec, http, host)
    finally:
        await runner.cleanup()


def upload_body(route: str, url: str) -> dict[str, Any]:
    add = {"uploadUrl": url, "title": "Added", "negativeTags": "metal"}
    return {
        "/suno/upload-cover": {**SONG, "uploadUrl": url, "prompt": LYRICS},
        "/suno/upload-extend": {**SONG, "uploadUrl": url, "prompt": LYRICS}
        | {"defaultParamFlag": True, "continueAt": 30},
        "/suno/add-vocals": {**add, "prompt": LYRICS, "style": "jazz"},
        "/suno/add-instrumental": {**add, "tags": "piano"},
    }[route]


# -- music-shaped routes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "tracks", "operation"),
    [
        ("/suno/upload-cover", 2, "upload_cover"),
        ("/suno/upload-extend", 1, "upload_extend"),
        ("/suno/add-vocals", 1, "add_vocals"),
        ("/suno/add-instrumental", 1, "add_instrumental"),
        ("/suno/replace-section", 1, "replace_section"),
    ],
)
async def test_music_shaped_routes_call_back_three_stages_with_source_urls(
    env: Env, route: str, tracks: int, operation: str
) -> None:
    if route == "/suno/replace-section":
        body = {**await env.track(), "prompt": "new", "tags": "jazz", "title": "R"}
        body.update(infillStartS=10.5, infillEndS=20.75)
    else:
        body = upload_body(route, f"{env.host}/song.mp3")
    task_id = await env.submit(route, body)
    await env.gw.wait_idle()

    bodies = env.of_task(task_id)
    assert [b["data"]["callbackType"] for b in bodies] == ["text", "first", "complete"]
    assert [len(b["data"]["data"]) for b in bodies] == [0, 1, tracks]
    for track in bodies[-1]["data"]["data"]:
        for key in ("audio_url", "stream_audio_url", "image_url"):
            assert track[f"source_{key}"].startswith(env.gw.url)
            assert (await env.file(track[f"source_{key}"]))[0]
    record = (await env.record("task", task_id))["data"]
    assert (record["status"], record["operationType"]) == ("SUCCESS", operation)
    assert len(record["response"]["sunoData"]) == tracks
    assert record["response"]["sunoData"][0]["sourceAudioUrl"]


async def test_upload_is_fetched_before_the_first_stage_and_recorded(env: Env) -> None:
    url = f"{env.host}/song.mp3"
    env.gw.skip_stages = True
    task_id = await env.submit("/suno/add-vocals", upload_body("/suno/add-vocals", url))
    await env.rec.wait_for(1)

    sha256 = hashlib.sha256(AUDIO).hexdigest()
    assert env.gw.uploads == [FetchedUpload(url, 200, len(AUDIO), sha256, "audio/mpeg", task_id)]
    assert env.gw.uploads[0].ok
    assert [b["data"]["callbackType"] for b in env.rec.bodies] == ["complete"]


@pytest.mark.parametrize("name", ["missing.mp3", "empty.mp3", None])
async def test_a_failed_upload_fetch_fails_the_task_with_code_451(
    env: Env, name: str | None
) -> None:
    url = f"{env.host}/{name}"
    if name is None:  # a port nobody listens on: connection refused
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}/song.mp3"
    task_id = await env.submit("/suno/upload-cover", upload_body("/suno/upload-cover", url))
    await env.gw.wait_idle()

    (error,) = env.rec.bodies
    assert (error["code"], error["data"]["callbackType"]) == (451, "error")
    assert "uploadUrl" in error["msg"]
    (fetched,) = env.gw.uploads
    assert fetched.status == {"missing.mp3": 404, "empty.mp3": 200, None: None}[name]
    assert not fetched.ok
    record = (await env.record("task", task_id))["data"]
    assert (record["status"], record["errorCode"]) == ("GENERATE_AUDIO_FAILED", 451)


async def test_fail_tasks_on_a_transform_route_sends_text_then_error(env: Env) -> None:
    env.gw.fail_tasks(531, "refunded", route="/suno/add-instrumental")
    body = upload_body("/suno/add-instrumental", f"{env.host}/song.mp3")
    task_id = await env.submit("/suno/add-instrumental", body)
    await env.gw.wait_idle()

    codes = [(b["code"], b["data"]["callbackType"]) for b in env.rec.bodies]
    assert codes == [(200, "text"), (531, "error")]
    assert env.gw.task(task_id).status == "GENERATE_AUDIO_FAILED"


async def test_replace_section_without_callback_url_runs_silently(env: Env) -> None:
    body = {**await env.track(), "prompt": "p", "tags": "t", "title": "x"}
    answer = await env.call("/suno/replace-section", {**body, "infillStartS": 0, "infillEndS": 6})
    await env.gw.wait_idle()

    task = env.gw.task(answer["data"]["taskId"])
    assert (task.status, task.callback_url, len(env.rec.bodies)) == ("SUCCESS", "", 3)


async def test_replace_section_refuses_more_than_half_the_track(env: Env) -> None:
    task_id = await env.submit("/suno/generate", {**SONG, "prompt": LYRICS})
    await env.gw.wait_idle()
    # With the default seed the shorter track lasts under 120 s: half of it is below 60 s.
    track = min(env.gw.task(task_id).result or [], key=lambda t: t["duration"])
    body = {"taskId": task_id, "audioId": track["id"], "prompt": "p", "tags": "t", "title": "x"}
    end = round(track["duration"] / 2 + 0.01, 2)
    answer = await env.call("/suno/replace-section", {**body, "infillStartS": 0, "infillEndS": end})

    assert (answer["code"], answer["msg"]) == (
        400,
        "The replaced section must be at most 50% of the track.",
    )


# -- music and cover record fidelity --------------------------------------------------------


async def test_music_record_is_null_while_pending_and_streams_only_from_first(env: Env) -> None:
    env.gw.stage_delay = 0.3
    task_id = await env.submit("/suno/generate", {**SONG, "prompt": LYRICS})
    pending = (await env.record("task", task_id))["data"]
    await env.rec.wait_for(1)
    text = (await env.record("task", task_id))["data"]
    await env.rec.wait_for(2)
    first = (await env.record("task", task_id))["data"]

    assert (pending["status"], pending["response"]) == ("PENDING", None)
    assert isinstance(pending["createTime"], int)
    assert pending["createTime"] > 1.7e12
    assert text["status"] == "TEXT_SUCCESS"
    assert all(t["streamAudioUrl"] == t["audioUrl"] == "" for t in text["response"]["sunoData"])
    assert all(t["streamAudioUrl"] for t in first["response"]["sunoData"])
    assert first["response"]["sunoData"][1]["audioUrl"] == ""


async def test_a_successful_cover_record_has_error_code_200_and_empty_message(env: Env) -> None:
    cover_id = await env.submit("/suno/generate-cover", {"taskId": (await env.track())["taskId"]})
    await env.gw.wait_idle()

    record = (await env.record("cover", cover_id))["data"]
    assert (record["successFlag"], record["errorCode"], record["errorMessage"]) == (1, 200, "")


# -- vocal removal and split stem -----------------------------------------------------------


@pytest.mark.parametrize("kie", [False, True])
async def test_vocal_removal_sends_one_callback_in_either_spelling(env: Env, kie: bool) -> None:
    env.gw.kie_spelling = kie
    task_id = await env.submit("/suno/vocal-removal", await env.track())
    await env.gw.wait_idle()

    (body,) = env.of_task(task_id)
    key = "vocal_separation_info" if kie else "vocal_removal_info"
    msg = "vocal separation" if kie else "vocal Removal"
    assert (body["code"], body["msg"]) == (200, f"{msg} generated successfully.")
    info = body["data"][key]
    assert set(info) == {"instrumental_url", "origin_url", "vocal_url"}
    assert info["origin_url"] == ""
    data, kind = await env.file(info["vocal_url"])
    assert (data[:2], kind) == (b"\xff\xfb", "audio/mpeg")


@pytest.mark.parametrize(
    ("route", "extra"), [("/suno/vocal-removal", {"type": "split_stem"}), ("/suno/split-stem", {})]
)
async def test_split_stem_gives_twelve_stems_and_the_origin(
    env: Env, route: str, extra: dict[str, str]
) -> None:
    source = await env.track()
    task_id = await env.submit(route, {**source, **extra})
    await env.gw.wait_idle()

    info = env.of_task(task_id)[0]["data"]["vocal_removal_info"]
    assert sorted(info) == sorted(STEMS)
    assert len({info[k] for k in STEMS}) == len(STEMS)
    assert (await env.file(info["drums_url"]))[0][:2] == b"\xff\xfb"
    record = (await env.record("vocal-removal", task_id))["data"]
    assert record["response"]["drumsUrl"] == info["drums_url"]
    assert record["response"]["instrumentalUrl"] is None
    assert record["musicId"] == source["audioId"]


async def test_vocal_record_is_pending_then_success_with_camel_case_urls(env: Env) -> None:
    source = await env.track()
    env.gw.stage_delay = 0.3
    task_id = await env.submit("/suno/vocal-removal", source)
    pending = (await env.record("vocal-removal", task_id))["data"]
    await env.gw.wait_idle()
    done = (await env.record("vocal-removal", task_id))["data"]

    assert (pending["successFlag"], pending["response"]) == ("PENDING", None)
    assert pending["completeTime"] is None
    info = env.rec.bodies[-1]["data"]["vocal_removal_info"]
    assert done["successFlag"] == "SUCCESS"
    assert done["response"]["vocalUrl"] == info["vocal_url"]
    assert done["response"]["originUrl"] is None
    assert done["musicIndex"] == 0
    assert done["completeTime"] >= done["createTime"] > 1.7e12


async def test_a_failed_vocal_removal_calls_back_a_null_result(env: Env) -> None:
    source = await env.track()
    env.gw.fail_tasks(500, "boom", route="/suno/vocal-removal")
    task_id = await env.submit("/suno/vocal-removal", source)
    await env.gw.wait_idle()

    data = {"task_id": task_id, "vocal_removal_info": None}
    assert env.of_task(task_id) == [{"code": 500, "msg": "boom", "data": data}]
    record = (await env.record("vocal-removal", task_id))["data"]
    assert (record["successFlag"], record["errorCode"]) == ("GENERATE_AUDIO_FAILED", 500)


# -- WAV and MP4 ----------------------------------------------------------------------------


@pytest.mark.parametrize("kie", [False, True])
async def test_wav_callback_record_and_bytes(env: Env, kie: bool) -> None:
    env.gw.kie_spelling = kie
    source = await env.track()
    env.gw.stage_delay = 0.3
    task_id = await env.submit("/suno/wav-generate", source)
    pending = (await env.record("wav", task_id))["data"]
    await env.gw.wait_idle()

    (body,) = env.of_task(task_id)
    key = "audio_wav_url" if kie else "audioWavUrl"
    url = body["data"][key]
    assert body == {"code": 200, "msg": "success", "data": {key: url, "task_id": task_id}}
    assert (pending["successFlag"], pending["response"]) == ("PENDING", None)
    record = (await env.record("wav", task_id))["data"]
    assert (record["successFlag"], record["response"]) == ("SUCCESS", {"audioWavUrl": url})
    assert record["musicId"] == source["audioId"]
    data, kind = await env.file(url)
    assert kind == "audio/wav"
    assert (data[:4], data[8:16], data[36:40]) == (b"RIFF", b"WAVEfmt ", b"data")
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8


async def test_a_second_wav_of_a_track_is_409_unless_the_first_failed(env: Env) -> None:
    source = await env.track()
    env.gw.fail_tasks(route="/suno/wav-generate")
    failed = await env.submit("/suno/wav-generate", source)
    await env.gw.wait_idle()
    await env.submit("/suno/wav-generate", source)
    answer = await env.call("/suno/wav-generate", {**source, "callBackUrl": env.rec.url()})

    assert env.of_task(failed)[0]["data"]["audioWavUrl"] is None
    assert (await env.record("wav", failed))["data"]["successFlag"] == "GENERATE_WAV_FAILED"
    assert (answer["code"], answer["msg"]) == (409, "WAV record already exists")


async def test_mp4_callback_record_and_bytes(env: Env) -> None:
    source = await env.track()
    env.gw.stage_delay = 0.3
    task_id = await env.submit("/suno/mp4-generate", {**source, "author": "A"})
    pending = (await env.record("mp4", task_id))["data"]
    await env.gw.wait_idle()
    done = (await env.record("mp4", task_id))["data"]

    (body,) = env.of_task(task_id)
    url = body["data"]["video_url"]
    assert (body["code"], body["msg"]) == (200, "MP4 generated successfully.")
    assert (pending["successFlag"], pending["response"]) == ("PENDING", None)
    assert (done["successFlag"], done["response"]) == ("SUCCESS", {"videoUrl": url})
    data, kind = await env.file(url)
    assert kind == "video/mp4"
    assert data[:24] == b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41"


# -- persona --------------------------------------------------------------------------------


async def test_persona_is_answered_at_once_and_only_once_per_track(env: Env) -> None:
    body = {**await env.track(), "name": "Singer", "description": "warm"}
    body.update(vocalStart=5, vocalEnd=20)
    answer = await env.call("/suno/generate-persona", body)
    again = await env.call("/suno/generate-persona", body)

    assert answer["code"] == 200
    persona = {"personaId": answer["data"]["personaId"], "name": "Singer", "description": "warm"}
    assert answer["data"] == persona
    assert (again["code"], again["msg"]) == (409, "Persona already exists for this music")
    assert len(env.gw.tasks) == 1


async def test_persona_as_task_calls_the_persona_back(env: Env) -> None:
    env.gw.persona_as_task = True
    body = {**await env.track(), "name": "Singer", "description": "warm"}
    task_id = await env.submit("/suno/generate-persona", body)
    await env.gw.wait_idle()

    (callback,) = env.of_task(task_id)
    data = callback["data"]
    assert (callback["code"], callback["msg"]) == (200, "success")
    assert (data["name"], data["description"]) == ("Singer", "warm")
    assert isinstance(data["personaId"], str)
    assert data["personaId"]
    assert (await env.record("task", task_id))["code"] == 404
    again = await env.call("/suno/generate-persona", {**body, "callBackUrl": env.rec.url()})
    assert again["code"] == 409


# -- knobs and refusals ---------------------------------------------------------------------


async def test_knobs_apply_to_export_callbacks(env: Env) -> None:
    source = await env.track()
    env.gw.unwrapped, env.gw.duplicates = True, 1
    task_id = await env.submit("/suno/mp4-generate", source)
    env.gw.drop_callbacks = {"wav"}
    await env.submit("/suno/wav-generate", source)
    await env.gw.wait_idle()

    video = [c.body for c in env.gw.callbacks if c.task_id == task_id]
    assert len(video) == 2
    assert video[0] == {"task_id": task_id, "video_url": video[0]["video_url"]}
    assert {c.stage for c in env.gw.callbacks} == {"text", "first", "complete", "mp4"}


async def test_fail_submit_applies_to_a_new_route(env: Env) -> None:
    env.gw.fail_submit("/suno/split-stem", code=455)
    answer = await env.call("/suno/split-stem", {"callBackUrl": env.rec.url()})

    assert answer == {"code": 455, "msg": "System under maintenance.", "data": None}


@pytest.mark.parametrize(
    ("route", "change", "code"),
    [
        ("/suno/upload-cover", {"uploadUrl": None}, 400),
        ("/suno/upload-cover", {"uploadUrl": "ftp://x/y.mp3"}, 400),
        ("/suno/upload-cover", {"title": ""}, 400),
        ("/suno/upload-cover", {"customMode": None}, 400),
        ("/suno/upload-extend", {"defaultParamFlag": None}, 400),
        ("/suno/upload-extend", {"continueAt": None}, 400),
        ("/suno/upload-extend", {"continueAt": 0}, 400),
        ("/suno/add-vocals", {"negativeTags": ""}, 400),
        ("/suno/add-vocals", {"model": "V4"}, 400),
        ("/suno/add-instrumental", {"tags": None}, 400),
        ("/suno/replace-section", {"infillEndS": 10}, 400),
        ("/suno/replace-section", {"infillEndS": 15}, 400),
        ("/suno/replace-section", {"infillStartS": 10, "infillEndS": 80}, 400),
        ("/suno/replace-section", {"infillEndS": 40, "infillStartS": 10.123}, 400),
        ("/suno/replace-section", {"tags": ""}, 400),
        ("/suno/replace-section", UNKNOWN, 404),
        ("/suno/vocal-removal", {"type": "karaoke"}, 400),
        ("/suno/vocal-removal", UNKNOWN, 404),
        ("/suno/vocal-removal", {"audioId": UNKNOWN["audioId"]}, 404),
        ("/suno/split-stem", {"taskId": ""}, 400),
        ("/suno/wav-generate", {"callBackUrl": ""}, 400),
        ("/suno/mp4-generate", {"author": "x" * 51}, 400),
        ("/suno/mp4-generate", UNKNOWN, 404),
        ("/suno/generate-persona", {"name": ""}, 400),
        ("/suno/generate-persona", {"vocalStart": 0, "vocalEnd": 5}, 400),
        ("/suno/generate-persona", {"vocalStart": 0, "vocalEnd": 31}, 400),
        ("/suno/generate-persona", UNKNOWN, 404),
    ],
)
async def test_invalid_transform_bodies_are_refused(
    env: Env, route: str, change: dict[str, Any], code: int
) -> None:
    base: dict[str, Any] = {**await env.track(), "callBackUrl": env.rec.url()}
    base.update(prompt="p", tags="t", title="x", infillStartS=10, infillEndS=20)
    base.update(name="n", description="d")
    if route.startswith(("/suno/upload-", "/suno/add-")):
        base.update(upload_body(route, f"{env.host}/song.mp3"))
    before = len(env.gw.tasks)
    answer = await env.call(route, {**base, **change})

    assert (answer["code"], answer["data"]) == (code, None), answer
    assert len(env.gw.tasks) == before
