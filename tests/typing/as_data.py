"""Typing test: results as data (``to_dict``/``from_dict``). Checked by mypy --strict, never run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, assert_type

from anyint_music import (
    AlignedWord,
    AnyIntMusic,
    ClientStats,
    CoverResult,
    LyricsResult,
    LyricVariant,
    MusicResult,
    Persona,
    StemsResult,
    StyleResult,
    TaskEvent,
    TimestampedLyrics,
    Track,
    VideoResult,
    WavResult,
)


async def main(client: AnyIntMusic) -> None:
    song = await client.generate("a song", model="V5")
    d = song.to_dict()
    assert_type(d, dict[str, Any])
    text: str = json.dumps(d)
    again = MusicResult.from_dict(json.loads(text))
    assert_type(again, MusicResult)
    assert_type(again.tracks[0], Track)
    assert_type(Track.from_dict(d["tracks"][0]), Track)

    task = await client.submit_generate("x", model="V5")
    async for event in task.events():
        assert_type(TaskEvent.from_dict(event.to_dict()), TaskEvent)
    assert_type(ClientStats.from_dict(client.stats().to_dict()), ClientStats)


def every_class(data: Mapping[str, Any]) -> None:
    assert_type(LyricVariant.from_dict(data), LyricVariant)
    assert_type(LyricsResult.from_dict(data), LyricsResult)
    assert_type(CoverResult.from_dict(data), CoverResult)
    assert_type(AlignedWord.from_dict(data), AlignedWord)
    assert_type(TimestampedLyrics.from_dict(data), TimestampedLyrics)
    assert_type(StyleResult.from_dict(data), StyleResult)
    assert_type(StemsResult.from_dict(data), StemsResult)
    assert_type(WavResult.from_dict(data), WavResult)
    assert_type(VideoResult.from_dict(data), VideoResult)
    assert_type(Persona.from_dict(data), Persona)
    assert_type(Persona.from_dict(data).to_dict(), dict[str, Any])


def mistakes(song: MusicResult) -> None:
    MusicResult.from_dict("{}")  # type: ignore[arg-type]
    MusicResult.from_dict(song)  # type: ignore[arg-type]
    _wrong: Track = MusicResult.from_dict(song.to_dict())  # type: ignore[assignment]
    song.to_dict(indent=2)  # type: ignore[call-arg]
