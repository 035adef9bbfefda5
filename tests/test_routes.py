"""Every route awaited end to end: client -> FakeGateway -> real HTTP callback -> result."""

from __future__ import annotations

import asyncio

import pytest

from anyint_music import (
    AnyIntMusic,
    CoverResult,
    LyricsResult,
    Model,
    MusicResult,
    StyleResult,
    TimestampedLyrics,
    Track,
)
from anyint_music.testing import FakeGateway


async def test_readme_snippet_generates_two_tracks_by_callback() -> None:
    async with FakeGateway() as gw, AnyIntMusic(api_key=gw.api_key, base_url=gw.url) as client:
        song = await client.generate(prompt="A bright summer pop song about travel", model=Model.V5)
    assert isinstance(song, MusicResult)
    assert len(song.tracks) == 2
    assert all(isinstance(t, Track) and t.audio_url.startswith(gw.url) for t in song.tracks)
    assert len({t.id for t in song.tracks}) == 2
    # the result came through the receiver, not through polling
    assert {c.stage for c in gw.callbacks} >= {"complete"}
    assert not [r for r in gw.requests if r.path.startswith("/suno/query")]


async def test_generate_sends_simple_mode_wire_fields(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    song = await anyint_client.generate(prompt="rainy jazz", model="V4_5", instrumental=True)
    sent = anyint_gateway.requests[-1].json
    assert sent is not None
    assert sent["customMode"] is False
    assert sent["instrumental"] is True
    assert sent["model"] == "V4_5"
    assert sent["prompt"] == "rainy jazz"
    assert sent["callBackUrl"].startswith(anyint_client.public_url or "?")
    assert "style" not in sent
    assert "title" not in sent
    assert anyint_gateway.task(song.task_id).request == sent


async def test_custom_mode_sings_the_given_lyrics(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    lyrics = "[Verse]\nRoads unwind beneath the sun\n\n[Chorus]\nWe are going, going home"
    song = await anyint_client.generate(
        lyrics,
        model=Model.V5,
        custom_mode=True,
        style="indie pop",
        title="Going Home",
        persona_id="persona-1",
        persona_model="style_persona",
        negative_tags="metal",
        vocal_gender="f",
        style_weight=0.65,
        weirdness_constraint=0.2,
        audio_weight=0.5,
    )
    sent = anyint_gateway.requests[-1].json
    assert sent is not None
    assert sent["customMode"] is True
    assert sent["personaId"] == "persona-1"
    assert sent["personaModel"] == "style_persona"
    assert sent["negativeTags"] == "metal"
    assert sent["vocalGender"] == "f"
    assert sent["styleWeight"] == 0.65
    assert sent["weirdnessConstraint"] == 0.2
    assert sent["audioWeight"] == 0.5
    assert all(t.title == "Going Home" for t in song.tracks)
    assert all(t.prompt == lyrics for t in song.tracks)
    assert all(t.tags == "indie pop" for t in song.tracks)


async def test_custom_instrumental_needs_no_lyrics(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    song = await anyint_client.generate(
        model=Model.V4, custom_mode=True, instrumental=True, style="ambient", title="Drift"
    )
    sent = anyint_gateway.requests[-1].json
    assert sent is not None
    assert "prompt" not in sent
    assert [t.title for t in song.tracks] == ["Drift", "Drift"]


async def test_extend_continues_a_generated_track(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    song = await anyint_client.generate(prompt="a calm piano piece", model=Model.V5)
    source = song.tracks[0]
    longer = await anyint_client.extend(
        source.id,
        model=Model.V5,
        default_param_flag=True,
        continue_at=10.5,
        prompt="[Outro]\nAnd so it ends",
        style="piano",
        title="Calm, Extended",
    )
    sent = anyint_gateway.requests[-1].json
    assert sent is not None
    assert sent["audioId"] == source.id
    assert sent["defaultParamFlag"] is True
    assert sent["continueAt"] == 10.5
    assert longer.task_id != song.task_id
    assert [t.title for t in longer.tracks] == ["Calm, Extended", "Calm, Extended"]


async def test_extend_with_inherited_parameters(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    song = await anyint_client.generate(prompt="an upbeat rock song", model=Model.V4_5PLUS)
    longer = await anyint_client.extend(song.tracks[1].id, model=Model.V4_5PLUS)
    sent = anyint_gateway.requests[-1].json
    assert sent is not None
    assert sent.pop("callBackUrl").startswith("http://127.0.0.1:")
    assert sent == {"audioId": song.tracks[1].id, "defaultParamFlag": False, "model": "V4_5PLUS"}
    assert len(longer.tracks) == 2


async def test_generate_lyrics_returns_variants(anyint_client: AnyIntMusic) -> None:
    lyrics = await anyint_client.generate_lyrics("a song about a lighthouse keeper")
    assert isinstance(lyrics, LyricsResult)
    assert len(lyrics.variants) >= 2
    assert all(v.ok and v.text and v.title for v in lyrics.variants)
    assert any("lighthouse" in v.text for v in lyrics.variants)


async def test_lyrics_in_kie_spelling_are_read(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.kie_spelling = True
    lyrics = await anyint_client.generate_lyrics("night train")
    assert len(lyrics.variants) >= 2
    assert all(v.error_message == "" for v in lyrics.variants)


async def test_lyrics_then_song(anyint_client: AnyIntMusic) -> None:
    lyrics = await anyint_client.generate_lyrics("autumn leaves")
    chosen = lyrics.variants[0]
    song = await anyint_client.generate(
        chosen.text, model=Model.V5, custom_mode=True, style="folk", title=chosen.title
    )
    assert all(t.prompt == chosen.text for t in song.tracks)


async def test_timestamped_lyrics_of_a_track(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    lyrics = "[Verse]\nHello bright world\nHere we go\n\n[Chorus]\nSing it loud"
    song = await anyint_client.generate(
        lyrics, model=Model.V5, custom_mode=True, style="pop", title="Hi"
    )
    timed = await anyint_client.timestamped_lyrics(song.task_id, song.tracks[0].id)
    assert isinstance(timed, TimestampedLyrics)
    assert timed.words
    assert all(w.end_s >= w.start_s >= 0 for w in timed.words)
    assert timed.waveform
    assert [line.text for line in timed.lines()] == [
        "Hello bright world",
        "Here we go",
        "Sing it loud",
    ]
    assert "[00:" in timed.to_lrc()
    assert " --> " in timed.to_srt()
    assert timed.to_vtt().startswith("WEBVTT")


async def test_timestamped_lyrics_of_an_instrumental_are_empty(anyint_client: AnyIntMusic) -> None:
    song = await anyint_client.generate(prompt="drone textures", model=Model.V5, instrumental=True)
    timed = await anyint_client.timestamped_lyrics(song.task_id, song.tracks[0].id)
    assert timed.words == ()
    assert timed.to_lrc() == ""


async def test_style_generate_returns_richer_text(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    style = await anyint_client.style_generate("sad piano")
    assert isinstance(style, StyleResult)
    assert "sad piano" in style.text
    assert len(style.text) > len("sad piano")
    assert anyint_gateway.requests[-1].json == {"content": "sad piano"}


async def test_generate_cover_returns_two_images(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    song = await anyint_client.generate(prompt="city lights at night", model=Model.V5)
    cover = await anyint_client.generate_cover(song.task_id)
    assert isinstance(cover, CoverResult)
    assert len(cover.images) == 2
    assert cover.task_id != song.task_id
    assert anyint_gateway.requests[-1].json is not None
    assert anyint_gateway.requests[-1].json["taskId"] == song.task_id


async def test_second_cover_request_returns_the_existing_cover(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    song = await anyint_client.generate(prompt="a lullaby", model=Model.V5)
    first = await anyint_client.generate_cover(song.task_id)
    again = await anyint_client.generate_cover(song.task_id)
    assert again == first


async def test_concurrent_tasks_get_their_own_results(
    anyint_gateway: FakeGateway, anyint_client: AnyIntMusic
) -> None:
    anyint_gateway.stage_delay = 0.01
    prompts = [f"song number {i} about topic{i}" for i in range(20)]
    songs = await asyncio.gather(*(anyint_client.generate(p, model=Model.V5) for p in prompts))
    assert len({s.task_id for s in songs}) == 20
    for prompt, song in zip(prompts, songs, strict=True):
        assert all(prompt.split()[-1] in t.prompt for t in song.tracks), (
            prompt,
            song.tracks[0].prompt,
        )


@pytest.mark.parametrize("model", list(Model))
async def test_every_model_is_accepted(anyint_client: AnyIntMusic, model: Model) -> None:
    song = await anyint_client.generate(prompt="short tune", model=model)
    assert len(song.tracks) == 2
