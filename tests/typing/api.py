"""Typing test: the public API as users write it. Checked by mypy --strict, never run."""

from __future__ import annotations

from anyint_music import (
    AnyIntMusic,
    CoverResult,
    LyricsResult,
    Model,
    MusicResult,
    Stage,
    StyleResult,
    Task,
    TaskEvent,
    TaskFailedError,
    TaskKind,
    TimestampedLyrics,
)
from anyint_music.testing import FakeGateway


async def main() -> None:
    gateway = FakeGateway(inspector=True)
    async with gateway as gw, AnyIntMusic(api_key=gw.api_key, base_url=gw.url) as client:
        song: MusicResult = await client.generate(prompt="a song", model=Model.V5)
        url: str = song.tracks[0].audio_url
        duration: float | None = song.tracks[0].duration
        longer: MusicResult = await client.extend(song.tracks[0].id, model="V5")
        lyrics: LyricsResult = await client.generate_lyrics("a theme")
        text: str = lyrics.variants[0].text
        timed: TimestampedLyrics = await client.timestamped_lyrics(song.task_id, song.tracks[0].id)
        lrc: str = timed.to_lrc()
        style: StyleResult = await client.style_generate("rough")
        cover: CoverResult = await client.generate_cover(song.task_id, timeout=60)
        images: tuple[str, ...] = cover.images

        task: Task[MusicResult] = await client.submit_generate("x", model=Model.V4_5)
        task_id: str = task.id
        async for event in task.events():
            stage: Stage = event.stage
            ev: TaskEvent = event
        result: MusicResult = await task
        again: MusicResult = await task.wait(timeout=10)
        lyric_task: Task[LyricsResult] = await client.submit_lyrics("x")
        cover_task: Task[CoverResult] = await client.submit_cover(song.task_id)
        again_song: MusicResult = await client.task(song.task_id)
        again_lyrics: LyricsResult = await client.task(lyrics.task_id, kind="lyrics")
        again_cover: CoverResult = await client.task(cover.task_id, kind=TaskKind.COVER)
        try:
            await client.generate(prompt="x", model=Model.V5)
        except TaskFailedError as exc:
            code: int | None = exc.code
        del url, duration, longer, text, lrc, style, images, task_id, stage, ev, result, again
        del lyric_task, cover_task, code, again_song, again_lyrics, again_cover
        latency: float = gw.callbacks[0].latency
        gw.inspector = False
        del latency
