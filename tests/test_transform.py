"""Every transform and export route end to end against the simulator over real sockets: each
stage, failure by callback, failure on submit, duplicates, polling with callbacks dropped,
re-attaching by id; and local files served as ``upload_url`` while their task needs them."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from anyint_music import (
    AnyIntMusic,
    BadRequestError,
    ConflictError,
    InvalidRequestError,
    Model,
    MusicResult,
    Persona,
    Stage,
    StemsResult,
    StemType,
    TaskFailedError,
    VideoResult,
    WavResult,
)
from anyint_music.stores import SQLiteStore
from anyint_music.testing import FakeGateway


@pytest.fixture
async def song(anyint_client: AnyIntMusic) -> MusicResult:
    return await anyint_client.generate("a song to work on", model=Model.V5)


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "my take.mp3"
    path.write_bytes(b"ID3" + os.urandom(40_000))
    return path


@pytest.fixture
async def files(audio: Path) -> AsyncIterator[str]:
    """A plain file server on 127.0.0.1 holding ``audio`` (a URL source)."""

    async def take(_: web.Request) -> web.FileResponse:
        return web.FileResponse(audio)

    app = web.Application()
    app.router.add_get("/take.mp3", take)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the music-shaped routes ---

MUSIC_ROUTES: dict[str, Callable[[AnyIntMusic, Any, MusicResult], Awaitable[Any]]] = {
    "upload_cover": lambda c, src, _: c.submit_upload_cover(src, model="V5", prompt="as jazz"),
    "upload_extend": lambda c, src, _: c.submit_upload_extend(src, model="V5"),
    "add_vocals": lambda c, src, _: c.submit_add_vocals(
        src, prompt="[Verse]\nla", title="Sung", style="soul", negative_tags="metal"
    ),
    "add_instrumental": lambda c, src, _: c.submit_add_instrumental(
        src, title="Backed", tags="piano", negative_tags="drums"
    ),
    "replace_section": lambda c, _, song: c.submit_replace_section(
        song.task_id,
        song.tracks[0].id,
        prompt="[Chorus]\nnew words",
        tags="jazz",
        title="Mended",
        infill_start_s=10.0,
        infill_end_s=20.5,
    ),
}


@pytest.mark.parametrize("route", list(MUSIC_ROUTES))
async def test_a_music_shaped_route_reports_each_stage_and_its_tracks(
    anyint_gateway: FakeGateway,
    anyint_client: AnyIntMusic,
    song: MusicResult,
    files: str,
    route: str,
) -> None:
    task = await MUSIC_ROUTES[route](anyint_client, f"{files}/take.mp3", song)
    result = await task
    assert isinstance(result, MusicResult)
    assert result.tracks
    assert all(t.audio_url for t in result.tracks)
    stages = [e.stage async for e in task.events()]
    assert stages == [Stage.TEXT, Stage.FIRST, Stage.COMPLETE]
    made = anyint_gateway.task(task.id)
    assert [t.id for t in result.tracks] == [t["id"] for t in made.result]


async def test_a_local_file_is_served_to_the_service_then_no_longer(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, audio: Path
) -> None:
    song = await anyint_client.upload_cover(audio, model=Model.V5, prompt="my take, as bossa")
    assert song.tracks
    fetched = [u for u in anyint_gateway.uploads if u.task_id == song.task_id]
    assert len(fetched) == 1
    assert fetched[0].status == 200
    assert fetched[0].sha256 == _digest(audio)
    assert fetched[0].content_type == "audio/mpeg"
    url = anyint_gateway.task(song.task_id).request["uploadUrl"]
    assert url.startswith(f"{anyint_client.public_url}/anyint/callbacks/files/")
    async with aiohttp.ClientSession() as session, session.get(url) as after:
        assert after.status == 404  # the task ended: the file is no longer served


async def test_the_file_served_is_the_file_given_and_ranges_work(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, audio: Path, tmp_path: Path
) -> None:
    anyint_gateway.stage_delay = 30.0  # the task stays open while the file is looked at
    original = audio.read_bytes()
    task = await anyint_client.submit_add_instrumental(
        str(audio), title="t", tags="piano", negative_tags="drums"
    )
    url = anyint_gateway.task(task.id).request["uploadUrl"]
    # The path now names another file: what is served stays the file that was given.
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    audio.unlink()
    audio.symlink_to(secret)
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as whole:
            assert whole.status == 200
            assert await whole.read() == original
        async with session.get(url, headers={"Range": "bytes=100-199"}) as part:
            assert part.status == 206
            assert part.headers["Content-Range"] == f"bytes 100-199/{len(original)}"
            assert await part.read() == original[100:200]
        async with session.get(url, headers={"Range": f"bytes={len(original)}-"}) as beyond:
            assert beyond.status == 416
        async with session.get(url.rsplit("/", 1)[0] + "/other.mp3") as wrong_name:
            assert wrong_name.status == 404
        async with session.get(url.replace("/files/", "/files/x")) as wrong_secret:
            assert wrong_secret.status == 404
        async with session.get(f"{anyint_client.public_url}/anyint/callbacks/files/") as bare:
            assert bare.status in (404, 405)


@pytest.mark.parametrize("bad", ["missing.mp3", "."], ids=["missing", "a-directory"])
async def test_a_path_that_is_not_a_regular_file_is_refused_before_anything_is_sent(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, tmp_path: Path, bad: str
) -> None:
    with pytest.raises(InvalidRequestError, match="upload_url"):
        await anyint_client.upload_cover(tmp_path / bad, model=Model.V5, prompt="x")
    assert anyint_gateway.tasks == []


async def test_a_mounted_receiver_serves_local_files_too(
    anyint_gateway: FakeGateway, audio: Path
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = web.Application()
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        receiver=False,
        public_url=f"http://127.0.0.1:{port}",
        timeout=30,
    ) as client:
        app.add_routes(client.callback_routes())
        runner = web.AppRunner(app)
        await runner.setup()
        await web.SockSite(runner, listener).start()
        try:
            song = await client.add_vocals(
                audio, prompt="la", title="t", style="soul", negative_tags="metal"
            )
        finally:
            await runner.cleanup()
    assert song.tracks
    assert [u.sha256 for u in anyint_gateway.uploads] == [_digest(audio)]


# --- the one-callback routes ---


async def test_vocal_removal_splits_into_vocals_and_accompaniment_or_every_stem(
    anyint_client: AnyIntMusic, song: MusicResult
) -> None:
    track = song.tracks[0]
    two = await anyint_client.vocal_removal(song.task_id, track.id)
    assert isinstance(two, StemsResult)
    assert two.vocal_url
    assert two.instrumental_url
    assert set(two.stems) == {"vocal", "instrumental"}
    every = await anyint_client.vocal_removal(song.task_id, track.id, type=StemType.SPLIT_STEM)
    assert every.instrumental_url is None
    assert {"vocal", "drums", "bass", "backing_vocals"} <= set(every.stems)
    split = await anyint_client.split_stem(song.task_id, track.id)
    assert set(split.stems) == set(every.stems)
    async with aiohttp.ClientSession() as session, session.get(every.stems["drums"]) as got:
        assert got.status == 200
        head = await got.read()
        assert head[:3] == b"ID3" or head[:2] == b"\xff\xfb"  # an MP3


@pytest.mark.parametrize("kie", [False, True], ids=["sunoapi-spelling", "kie-spelling"])
async def test_both_spellings_of_the_export_callbacks_are_read(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, song: MusicResult, kie: bool
) -> None:
    anyint_gateway.kie_spelling = kie
    track = song.tracks[1]
    stems = await anyint_client.vocal_removal(song.task_id, track.id)
    assert stems.vocal_url
    wav = await anyint_client.wav_generate(song.task_id, track.id)
    assert isinstance(wav, WavResult)
    video = await anyint_client.mp4_generate(song.task_id, track.id, author="Me")
    assert isinstance(video, VideoResult)
    async with aiohttp.ClientSession() as session:
        async with session.get(wav.audio_wav_url) as got:
            head = await got.read()
            assert head[:4] == b"RIFF"
            assert head[8:12] == b"WAVE"
        async with session.get(video.video_url) as got:
            head = await got.read()
            assert head[4:8] == b"ftyp"


async def test_one_wav_and_one_persona_per_track(
    anyint_client: AnyIntMusic, song: MusicResult
) -> None:
    track = song.tracks[0]
    await anyint_client.wav_generate(song.task_id, track.id)
    with pytest.raises(ConflictError):
        await anyint_client.wav_generate(song.task_id, track.id)
    persona = await anyint_client.generate_persona(
        song.task_id, track.id, name="Ada", description="warm alto", vocal_start=5, vocal_end=25
    )
    assert isinstance(persona, Persona)
    assert persona.persona_id
    assert (persona.name, persona.description) == ("Ada", "warm alto")
    with pytest.raises(ConflictError):
        await anyint_client.generate_persona(song.task_id, track.id, name="B", description="d")
    again = await anyint_client.generate(
        "x", model=Model.V5, custom_mode=True, style="pop", title="T", persona_id=persona.persona_id
    )
    assert again.tracks


async def test_a_persona_made_as_a_task_is_waited_for(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, song: MusicResult
) -> None:
    anyint_gateway.persona_as_task = True
    persona = await anyint_client.generate_persona(
        song.task_id, song.tracks[1].id, name="Bo", description="bright tenor", timeout=30
    )
    assert persona.persona_id
    assert persona.name == "Bo"


EXPORTS: dict[str, Callable[[AnyIntMusic, MusicResult], Awaitable[Any]]] = {
    "vocal_removal": lambda c, s: c.submit_vocal_removal(s.task_id, s.tracks[0].id),
    "split_stem": lambda c, s: c.submit_split_stem(s.task_id, s.tracks[0].id),
    "wav_generate": lambda c, s: c.submit_wav_generate(s.task_id, s.tracks[0].id),
    "mp4_generate": lambda c, s: c.submit_mp4_generate(s.task_id, s.tracks[0].id),
}
KINDS = {
    "vocal_removal": "stems",
    "split_stem": "stems",
    "wav_generate": "wav",
    "mp4_generate": "video",
}


async def _submit(route: str, client: AnyIntMusic, files: str, song: MusicResult) -> Any:
    """Submit ``route`` (a music-shaped one from a served file, an export of ``song``'s track)."""
    music = MUSIC_ROUTES.get(route)
    if music is not None:
        return await music(client, f"{files}/take.mp3", song)
    return await EXPORTS[route](client, song)


@pytest.mark.parametrize("route", [*MUSIC_ROUTES, *EXPORTS])
async def test_a_failure_reported_by_callback_fails_the_wait(
    anyint_gateway: FakeGateway,
    anyint_client: AnyIntMusic,
    song: MusicResult,
    files: str,
    route: str,
) -> None:
    anyint_gateway.fail_tasks()
    task = await _submit(route, anyint_client, files, song)
    with pytest.raises(TaskFailedError) as failed:
        await task
    assert failed.value.task_id == task.id


@pytest.mark.parametrize("route", list(EXPORTS))
async def test_an_export_refused_on_submit_is_an_error_and_no_task(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, song: MusicResult, route: str
) -> None:
    path = "/suno/" + {"vocal_removal": "vocal-removal", "split_stem": "split-stem"}.get(
        route, route.replace("_", "-")
    )
    before = len(anyint_gateway.tasks)
    anyint_gateway.fail_submit(path, code=422)
    with pytest.raises(BadRequestError):
        await EXPORTS[route](anyint_client, song)
    assert len(anyint_gateway.tasks) == before


@pytest.mark.parametrize("route", [*MUSIC_ROUTES, *EXPORTS])
async def test_duplicate_callbacks_resolve_the_wait_once(
    anyint_gateway: FakeGateway,
    anyint_client: AnyIntMusic,
    song: MusicResult,
    files: str,
    route: str,
) -> None:
    anyint_gateway.duplicates = 2
    task = await _submit(route, anyint_client, files, song)
    result = await task
    await anyint_gateway.wait_idle()
    finals = [e for e in [e async for e in task.events()] if e.is_final]
    assert len(finals) == 1
    assert await task == result
    assert anyint_client.stats().duplicates >= 2


@pytest.mark.parametrize("route", [*MUSIC_ROUTES, *EXPORTS])
async def test_with_every_callback_lost_polling_brings_the_result(
    anyint_gateway: FakeGateway, song: MusicResult, files: str, route: str
) -> None:
    anyint_gateway.drop_callbacks = True
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, poll_interval=0.05, timeout=20
    ) as client:
        task = await _submit(route, client, files, song)
        result = await task
        assert client.stats().callbacks == 0
        assert client.stats().polls >= 1
    assert result is not None
    if route in EXPORTS:
        made = anyint_gateway.task(task.id)
        assert made.status == "complete" or made.result


@pytest.mark.parametrize("route", [*MUSIC_ROUTES, *EXPORTS])
async def test_another_client_re_attaches_by_id(
    anyint_gateway: FakeGateway,
    anyint_client: AnyIntMusic,
    song: MusicResult,
    files: str,
    route: str,
) -> None:
    task = await _submit(route, anyint_client, files, song)
    result = await task
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, timeout=20
    ) as other:
        again = await other.task(task.id, kind=KINDS.get(route, "music"))
    assert again == result


# --- checks before anything is sent ---


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda c: c.replace_section(
                "t", "a", prompt="p", tags="t", title="t", infill_start_s=20, infill_end_s=10
            ),
            "infill_end_s",
        ),
        (lambda c: c.generate_persona("t", "a", name="n", description="d", vocal_end=5), "vocal"),
        (
            lambda c: c.add_vocals(
                "http://x.test/a.mp3",
                prompt="p",
                title="t",
                style="s",
                negative_tags="n",
                model="V4",
            ),
            "model",
        ),
        (lambda c: c.mp4_generate("t", "a", author="x" * 51), "author"),
        (lambda c: c.vocal_removal("t", "a", type="everything"), "type"),
        (lambda c: c.wav_generate("t", ""), "audio_id"),
    ],
    ids=["section-backwards", "persona-span", "add-model", "author-length", "stem-type", "no-id"],
)
async def test_a_broken_rule_is_refused_before_anything_is_sent(
    anyint_gateway: FakeGateway,
    anyint_client: AnyIntMusic,
    call: Callable[[AnyIntMusic], Awaitable[Any]],
    field: str,
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        await call(anyint_client)
    assert field in str(refused.value)
    assert not [r for r in anyint_gateway.requests if r.method == "POST"]


async def test_a_restarted_client_resumes_pending_exports_from_its_store(
    anyint_gateway: FakeGateway, tmp_path: Path
) -> None:
    store = tmp_path / "tasks.db"
    anyint_gateway.stage_delay = 0.5
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key, base_url=anyint_gateway.url, store=SQLiteStore(store)
    ) as first:
        song = await first.generate("to export", model=Model.V5, timeout=20)
        made = [
            await first.submit_wav_generate(song.task_id, song.tracks[0].id),
            await first.submit_vocal_removal(song.task_id, song.tracks[0].id),
            await first.submit_mp4_generate(song.task_id, song.tracks[0].id),
        ]
    # The first client is gone before any export finished; the second takes over by polling.
    anyint_gateway.drop_callbacks = True
    async with AnyIntMusic(
        api_key=anyint_gateway.api_key,
        base_url=anyint_gateway.url,
        store=SQLiteStore(store),
        poll_interval=0.05,
    ) as second:
        resumed = {t.id: t for t in await second.pending()}
        assert set(resumed) == {t.id for t in made}
        results = [await resumed[t.id].wait(timeout=20) for t in made]
    assert [type(r) for r in results] == [WavResult, StemsResult, VideoResult]


async def test_a_file_name_with_url_characters_is_fetched_all_the_same(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic, audio: Path
) -> None:
    odd = audio.with_name("take #2, 50% off.mp3")
    audio.rename(odd)
    song = await anyint_client.upload_cover(odd, model=Model.V5, prompt="as bossa nova")
    fetched = [u for u in anyint_gateway.uploads if u.task_id == song.task_id]
    assert [u.status for u in fetched] == [200]
    assert fetched[0].sha256 == _digest(odd)


async def test_a_local_file_the_service_cannot_reach_is_refused_and_leaves_no_task(
    tmp_path: Path, audio: Path
) -> None:
    # No public_url and a gateway elsewhere: the receiver is local-only, so a local file could
    # never be fetched. Nothing is sent (the gateway address is never contacted).
    async with AnyIntMusic(api_key="k", base_url="http://gateway.invalid") as client:
        with pytest.raises(InvalidRequestError, match="cannot reach"):
            await client.submit_upload_cover(audio, model=Model.V5, prompt="x")
        assert client.stats().pending == 0
        assert len(client._parts.uploads) == 0


async def test_closing_the_client_cuts_a_stalled_download_of_a_shared_file(
    anyint_gateway: FakeGateway, tmp_path: Path
) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(os.urandom(8 * 1024 * 1024))
    anyint_gateway.stage_delay = 60.0
    client = AnyIntMusic(api_key=anyint_gateway.api_key, base_url=anyint_gateway.url)
    await client.open()
    task = await client.submit_add_instrumental(big, title="t", tags="piano", negative_tags="drums")
    url = anyint_gateway.task(task.id).request["uploadUrl"]
    host, port = url.split("/")[2].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    path = "/" + url.split("/", 3)[3]
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")  # then reads no more
    # aclose() must not wait for the stalled download (it used to, for minutes).
    await asyncio.wait_for(client.aclose(), timeout=30)
    await asyncio.wait_for(reader.read(), timeout=30)  # the connection was cut
    writer.close()
