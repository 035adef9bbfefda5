"""Results as data: every result and event class has ``to_dict`` (JSON-ready built-ins) and
``from_dict`` (reads it back, ``extra`` included). The values are real ones, made by the
simulator over real sockets; the web case is a real FastAPI app under uvicorn."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import attrs
import pytest
import uvicorn
from _redis_server import free_port
from fastapi import FastAPI

from anyint_music import (
    AlignedWord,
    AnyIntMusic,
    ClientStats,
    CoverResult,
    LyricsResult,
    LyricVariant,
    Model,
    MusicResult,
    Persona,
    Stage,
    StemsResult,
    StemType,
    StyleResult,
    TaskEvent,
    TaskKind,
    TimestampedLyrics,
    Track,
    VideoResult,
    WavResult,
)
from anyint_music.stores._base import event_from_json, event_to_json
from anyint_music.testing import FakeGateway

CLASSES: tuple[type[Any], ...] = (
    Track,
    MusicResult,
    LyricVariant,
    LyricsResult,
    CoverResult,
    AlignedWord,
    TimestampedLyrics,
    StyleResult,
    StemsResult,
    WavResult,
    VideoResult,
    Persona,
    TaskEvent,
    ClientStats,
)

SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def _everything(value: Any) -> Any:
    """``value`` with every field, ``extra`` too (which ``==`` leaves out), tuples as lists."""
    return attrs.asdict(value)


def _check_plain(data: Any, where: str = "") -> None:
    """Only JSON's own types (no enum members, no tuples), and snake_case keys outside
    ``extra`` (whose keys are the service's, kept as received)."""
    if isinstance(data, dict):
        for key, value in data.items():
            assert type(key) is str, f"{where}: key {key!r}"
            if key == "extra":
                json.dumps(value)
                continue
            assert SNAKE.fullmatch(key), f"{where}.{key} is not snake_case"
            _check_plain(value, f"{where}.{key}")
    elif isinstance(data, list):
        for index, item in enumerate(data):
            _check_plain(item, f"{where}[{index}]")
    else:
        assert data is None or type(data) in (str, int, float, bool), f"{where}: {data!r}"


def round_trip(value: Any) -> dict[str, Any]:
    """``value`` through ``to_dict``, JSON text and ``from_dict``: equal, ``extra`` included."""
    cls = type(value)
    data = value.to_dict()
    assert type(data) is dict
    assert list(data) == [f.name for f in attrs.fields(cls)]
    _check_plain(data, cls.__name__)
    back = cls.from_dict(json.loads(json.dumps(data)))
    assert type(back) is cls
    assert back == value
    assert _everything(back) == _everything(value)
    assert back.to_dict() == data
    return data


# --- every result the simulator makes ---


async def test_a_song_round_trips_with_its_extra_keys(anyint_client: AnyIntMusic) -> None:
    song = await anyint_client.generate("a song about maps", model=Model.V5)
    data = round_trip(song)
    assert isinstance(data["tracks"], list)
    assert len(data["tracks"]) == 2
    first = data["tracks"][0]
    assert first["id"] == song.tracks[0].id
    assert first["audio_url"] == song.tracks[0].audio_url
    assert first["stream_audio_url"]
    assert first["duration"] == song.tracks[0].duration
    # the simulator, like the service, sends keys this version does not model
    assert song.tracks[0].extra
    assert first["extra"] == dict(song.tracks[0].extra)
    back = MusicResult.from_dict(json.loads(json.dumps(data)))
    assert back.tracks[0].extra == song.tracks[0].extra
    for track in song.tracks:
        round_trip(track)


async def test_a_song_in_the_kie_spelling_round_trips(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.kie_spelling = True
    round_trip(await anyint_client.generate("other spelling", model=Model.V4_5PLUS))


async def test_lyrics_round_trip(anyint_client: AnyIntMusic) -> None:
    lyrics = await anyint_client.generate_lyrics("a lighthouse keeper")
    data = round_trip(lyrics)
    assert data["variants"]
    assert all(v["status"] == "complete" for v in data["variants"])
    for variant in lyrics.variants:
        round_trip(variant)


async def test_timestamped_lyrics_round_trip(anyint_client: AnyIntMusic) -> None:
    lyrics = "[Verse]\nHold the line\n[Chorus]\nAll night"
    song = await anyint_client.generate(
        lyrics, model=Model.V5, custom_mode=True, style="pop", title="Line"
    )
    timed = await anyint_client.timestamped_lyrics(song.task_id, song.tracks[0].id)
    data = round_trip(timed)
    assert data["words"]
    assert isinstance(data["waveform"], list)
    assert data["waveform"]
    assert set(data["words"][0]) == {"word", "start_s", "end_s", "success", "palign", "extra"}
    back = TimestampedLyrics.from_dict(json.loads(json.dumps(data)))
    assert back.to_lrc() == timed.to_lrc()
    round_trip(timed.words[0])


async def test_a_style_round_trips_with_the_service_keys_in_extra(
    anyint_client: AnyIntMusic,
) -> None:
    style = await anyint_client.style_generate("sad piano")
    data = round_trip(style)
    assert data["text"] == style.text
    assert data["credits_consumed"] == style.credits_consumed
    assert style.extra
    assert data["extra"] == dict(style.extra)  # kept as received, camelCase and nulls included


ResultMaker = Callable[[AnyIntMusic, MusicResult], Awaitable[Any]]
EXPORTS: dict[str, ResultMaker] = {
    "cover": lambda c, s: c.generate_cover(s.task_id),
    "stems": lambda c, s: c.vocal_removal(s.task_id, s.tracks[0].id),
    "every-stem": lambda c, s: c.vocal_removal(s.task_id, s.tracks[0].id, type=StemType.SPLIT_STEM),
    "wav": lambda c, s: c.wav_generate(s.task_id, s.tracks[0].id),
    "video": lambda c, s: c.mp4_generate(s.task_id, s.tracks[0].id, author="Me"),
    "persona": lambda c, s: c.generate_persona(
        s.task_id, s.tracks[1].id, name="Ada", description="warm alto", vocal_start=5, vocal_end=25
    ),
}


@pytest.mark.parametrize("route", list(EXPORTS))
async def test_the_results_made_from_a_song_round_trip(
    anyint_client: AnyIntMusic, route: str
) -> None:
    song = await anyint_client.generate("a song to work on", model=Model.V5)
    result = await EXPORTS[route](anyint_client, song)
    data = round_trip(result)
    assert data["persona_id" if isinstance(result, Persona) else "task_id"]
    if isinstance(result, CoverResult):
        assert isinstance(data["images"], list)
        assert data["images"]
    if isinstance(result, StemsResult):
        assert data["stems"] == dict(result.stems)
        assert data["vocal_url"] == result.vocal_url
        assert (data["instrumental_url"] is None) is (route == "every-stem")


async def test_events_of_every_kind_round_trip(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.stage_delay = 0.02
    song_task = await anyint_client.submit_generate("staged", model=Model.V5)
    music = [e async for e in song_task.events()]
    assert [e.stage for e in music] == [Stage.TEXT, Stage.FIRST, Stage.COMPLETE]
    song = await song_task
    lyrics = [e async for e in (await anyint_client.submit_lyrics("a theme")).events()]
    cover = [e async for e in (await anyint_client.submit_cover(song.task_id)).events()]
    stems_task = await anyint_client.submit_vocal_removal(song.task_id, song.tracks[0].id)
    stems = [e async for e in stems_task.events()]
    for event in [*music, *lyrics, *cover, *stems]:
        data = round_trip(event)
        assert type(data["kind"]) is str
        assert type(data["stage"]) is str
        assert data["kind"] == event.kind.value
        assert data["stage"] == event.stage.value
    assert music[-1].to_dict()["tracks"][0]["extra"]
    assert lyrics[-1].to_dict()["variants"]
    assert cover[-1].to_dict()["images"]
    assert stems[-1].to_dict()["outputs"] == dict(stems[-1].outputs)
    assert stems[-1].outputs


async def test_a_failure_event_round_trips(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.fail_tasks()
    task = await anyint_client.submit_generate("doomed", model=Model.V5)
    events = [e async for e in task.events()]
    assert events[-1].stage is Stage.ERROR
    data = round_trip(events[-1])
    assert data["stage"] == "error"
    assert data["code"] != 200


async def test_client_stats_round_trip(anyint_client: AnyIntMusic) -> None:
    await anyint_client.generate("count me", model=Model.V5)
    stats = anyint_client.stats()
    data = round_trip(stats)
    assert data["completed"] == 1
    assert data["callbacks"] >= 1
    assert all(type(v) is int for v in data.values())


# --- by hand: what the simulator does not make ---


def test_extra_with_nested_values_survives_json() -> None:
    track = Track(
        id="t1",
        audio_url="https://cdn.example/t1.mp3",
        duration=187.42,
        create_time="2025-01-02 03:04:05",
        extra={"sourceAudioUrl": "https://x", "meta": {"bpm": 120, "keys": ["C", "Am"]}, "n": None},
    )
    event = TaskEvent(
        task_id="abc",
        kind=TaskKind.MUSIC,
        stage=Stage.FIRST,
        message="first track ready",
        tracks=(track,),
    )
    data = round_trip(event)
    assert data["tracks"][0]["extra"]["meta"] == {"bpm": 120, "keys": ["C", "Am"]}
    back = TaskEvent.from_dict(json.loads(json.dumps(data)))
    assert back.tracks[0].extra == track.extra
    round_trip(LyricVariant(status="failed", error_message="blocked", extra={"why": "policy"}))
    round_trip(StemsResult(task_id="s", vocal_url=None, instrumental_url=None, stems={}))
    round_trip(Persona(persona_id="p1"))
    round_trip(TimestampedLyrics())


def test_to_dict_is_a_copy_of_the_value() -> None:
    track = Track(id="t", extra={"meta": {"a": [1]}})
    data = track.to_dict()
    data["extra"]["meta"]["a"].append(2)
    data["id"] = "changed"
    assert track.extra == {"meta": {"a": [1]}}
    assert track.id == "t"


def test_from_dict_also_reads_the_service_spelling() -> None:
    wire = {"id": "w1", "audioUrl": "https://a", "modelName": "chirp", "sourceImageUrl": "x"}
    track = Track.from_dict(wire)
    assert (track.audio_url, track.model_name) == ("https://a", "chirp")
    assert track.extra == {"sourceImageUrl": "x"}
    assert Track.from_dict(track.to_dict()).extra == {"sourceImageUrl": "x"}


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (MusicResult, {"tracks": []}, r"not a valid MusicResult: task_id: missing"),
        (MusicResult, {"task_id": "t", "tracks": [{"title": "x"}]}, r"tracks\.0: missing id"),
        (MusicResult, {"task_id": "t", "tracks": "nope"}, r"tracks: expected a list, got str"),
        (MusicResult, ["task_id"], r"not a valid MusicResult: expected a mapping, got list"),
        (CoverResult, {"task_id": "t", "images": "https://x"}, r"images: expected a list"),
        (Track, {"id": "t", "duration": "long"}, r"not a valid Track: duration:"),
        (TaskEvent, {"task_id": "t", "kind": "bogus", "stage": "text"}, r"kind: 'bogus' is not"),
        (
            TaskEvent,
            {"task_id": "t", "kind": "music", "stage": "text", "code": True},
            r"code: expected a whole number, got True",
        ),
        (
            StemsResult,
            {"task_id": "t", "vocal_url": None, "instrumental_url": None, "stems": []},
            r"stems: expected an object, got list",
        ),
        (ClientStats, {"pending": 1.5}, r"pending: expected a whole number, got 1\.5"),
        (AlignedWord, {"word": "a", "start_s": 0, "end_s": float("nan")}, r"end_s: .*finite"),
    ],
)
def test_bad_input_names_the_class_and_the_field(cls: type[Any], data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls.from_dict(data)


_TRACK = {
    "id": "a1",
    "audio_url": "https://a/1.mp3",
    "streamAudioUrl": "https://s/1",
    "title": "Song",
    "duration": 198.5,
    "createTime": "2025-07-14 09:31:27",
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_TRACK, {"audio_url": "https://a/1.mp3", "duration": 198.5, "extra": {}}),
        ({**_TRACK, "duration": None, "title": None}, {"duration": None, "title": ""}),
        ({**_TRACK, "duration": 200}, {"duration": 200.0}),  # a whole number of seconds
        ({**_TRACK, "duration": "12.5"}, {"duration": 12.5}),
        ({**_TRACK, "title": 7}, {"title": "7"}),
        (
            {**_TRACK, "tags": "pop", "new_key": [1, {"a": 2}]},
            {"extra": {"new_key": [1, {"a": 2}]}},
        ),
        ({**_TRACK, "audioUrl": "https://a/2.mp3"}, {"audio_url": "https://a/2.mp3"}),
        ({"id": "only"}, {"id": "only", "audio_url": "", "duration": None}),
    ],
    ids=["usual", "nulls", "int", "numeric-string", "number-title", "unknown", "both", "bare"],
)
def test_a_track_in_every_shape_reads_the_same(
    data: dict[str, Any], expected: dict[str, Any]
) -> None:
    # The usual shape has a fast reader of its own; every other shape takes the general one.
    track = Track.from_dict(data)
    assert {k: getattr(track, k) for k in expected} == expected
    assert Track.from_dict(track.to_dict()) == track


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**_TRACK, "duration": float("inf")}, r"duration: .*finite"),
        ({**_TRACK, "duration": True}, r"duration: .*expected a number, got True"),
        ({**_TRACK, "id": None}, r"id: .*expected a string, got NoneType"),
        ({"title": "no id"}, r"missing id"),
        ({**_TRACK, "title": ["x"]}, r"title: .*expected a string, got list"),
    ],
)
def test_a_track_out_of_shape_is_refused_by_name(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Track.from_dict(data)


# --- what did not change ---


def test_the_stores_write_what_to_dict_returns() -> None:
    event = TaskEvent(
        task_id="abc",
        kind=TaskKind.STEMS,
        stage=Stage.COMPLETE,
        outputs={"vocal": "https://v", "drums": "https://d"},
    )
    assert event_to_json(event) == event.to_dict()
    body = json.dumps(event_to_json(event), separators=(",", ":"))
    # the text the SQLite and Redis stores keep, byte for byte as before
    assert body == (
        '{"task_id":"abc","kind":"stems","stage":"complete","code":200,"message":"",'
        '"tracks":[],"variants":[],"images":[],'
        '"outputs":{"vocal":"https://v","drums":"https://d"}}'
    )
    assert event_from_json(json.loads(body)) == event


def test_no_class_gains_a_dict_per_instance() -> None:
    samples: list[Any] = [
        Track(id="t"),
        MusicResult(task_id="t", tracks=()),
        LyricVariant(),
        LyricsResult(task_id="t", variants=()),
        CoverResult(task_id="t", images=()),
        AlignedWord(word="w", start_s=0.0, end_s=1.0),
        TimestampedLyrics(),
        StyleResult(text="s"),
        StemsResult(task_id="t", vocal_url=None, instrumental_url=None),
        WavResult(task_id="t", audio_wav_url="u"),
        VideoResult(task_id="t", video_url="u"),
        Persona(persona_id="p"),
        TaskEvent(task_id="t", kind=TaskKind.MUSIC, stage=Stage.TEXT),
        ClientStats(0, 0, 0, 0, 0, 0, 0, 0),
    ]
    assert [type(s) for s in samples] == list(CLASSES)
    for sample in samples:
        cls = type(sample)
        assert not hasattr(sample, "__dict__"), cls.__name__
        # the same fields in a plain slotted attrs class: the same size
        bare = attrs.make_class(
            "Bare", [f.name for f in attrs.fields(cls)], frozen=True, slots=True
        )
        assert sys.getsizeof(sample) == sys.getsizeof(bare(*attrs.astuple(sample, recurse=False)))


# --- in a web app ---


class _Uvicorn:
    """A real uvicorn server in this event loop, on a free port (as in test_mounting)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self.task = asyncio.ensure_future(self.server.serve())
        async with asyncio.timeout(10):
            while not self.server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
                await asyncio.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        assert self.task is not None
        await self.task


async def test_a_fastapi_endpoint_returns_a_song_as_json(anyint_client: AnyIntMusic) -> None:
    songs: dict[str, MusicResult] = {}
    app = FastAPI()

    @app.post("/songs")
    async def make_song(prompt: str) -> dict[str, Any]:
        song = await anyint_client.generate(prompt, model=Model.V5, timeout=10)
        songs[song.task_id] = song
        return song.to_dict()

    @app.get("/songs/{task_id}/events")
    async def song_events(task_id: str) -> list[dict[str, Any]]:
        task = anyint_client.task(task_id, kind=TaskKind.MUSIC)
        return [e.to_dict() async for e in task.events()]

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        return anyint_client.stats().to_dict()

    async with _Uvicorn(app) as url, aiohttp.ClientSession() as session:
        async with session.post(f"{url}/songs", params={"prompt": "served"}) as resp:
            assert resp.status == 200
            assert resp.content_type == "application/json"
            body = await resp.json()
        song = MusicResult.from_dict(body)
        assert song == songs[song.task_id]
        assert _everything(song) == _everything(songs[song.task_id])
        assert body == songs[song.task_id].to_dict()
        async with session.get(f"{url}/songs/{song.task_id}/events") as resp:
            events = [TaskEvent.from_dict(e) for e in await resp.json()]
        assert events[-1].stage is Stage.COMPLETE
        assert events[-1].tracks == song.tracks
        async with session.get(f"{url}/stats") as resp:
            assert ClientStats.from_dict(await resp.json()) == anyint_client.stats()
