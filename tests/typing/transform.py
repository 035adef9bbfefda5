"""Typing test: the transform and export routes as users write them. Checked by mypy --strict,
never run."""

from __future__ import annotations

from pathlib import Path

from anyint_music import (
    AnyIntMusic,
    ConflictError,
    MusicResult,
    Persona,
    StemsResult,
    StemType,
    Task,
    VideoResult,
    WavResult,
)


async def main(client: AnyIntMusic, song: MusicResult) -> None:
    track = song.tracks[0]
    covered: MusicResult = await client.upload_cover(Path("take.mp3"), model="V5", prompt="x")
    extended: MusicResult = await client.upload_extend("https://example.com/a.mp3", model="V5")
    sung: MusicResult = await client.add_vocals(
        "a.wav", prompt="p", title="t", style="s", negative_tags="n", timeout=60
    )
    backed: MusicResult = await client.add_instrumental(
        "v.mp3", title="t", tags="piano", negative_tags="n"
    )
    mended: MusicResult = await client.replace_section(
        song.task_id, track.id, prompt="p", tags="t", title="t", infill_start_s=1, infill_end_s=9
    )
    stems: StemsResult = await client.vocal_removal(
        song.task_id, track.id, type=StemType.SPLIT_STEM
    )
    drums: str = stems.stems["drums"]
    vocal: str | None = stems.vocal_url
    split: StemsResult = await client.split_stem(song.task_id, track.id)
    wav: WavResult = await client.wav_generate(song.task_id, track.id)
    video: VideoResult = await client.mp4_generate(song.task_id, track.id, author="me")
    try:
        persona: Persona = await client.generate_persona(
            song.task_id, track.id, name="n", description="d", vocal_end=20
        )
        persona_id: str = persona.persona_id
    except ConflictError:
        pass
    task: Task[WavResult] = await client.submit_wav_generate(song.task_id, track.id, timeout=5)
    again: WavResult = await client.task(task.id, kind="wav")
    stems_again: StemsResult = await client.task(task.id, kind="stems")
    video_task: Task[VideoResult] = await client.submit_mp4_generate(song.task_id, track.id)
    cover_task: Task[MusicResult] = await client.submit_upload_cover("a.mp3", model="V5")
    # Mistakes the type checker catches (the ignores must be needed: warn_unused_ignores).
    await client.wav_generate(song.task_id)  # type: ignore[call-arg]
    await client.vocal_removal(song.task_id, track.id, kind="x")  # type: ignore[call-arg]
    await client.add_vocals("a.mp3", title="t")  # type: ignore[call-arg]
    del covered, extended, sung, backed, mended, drums, vocal, split, wav, video, again
    del stems_again, video_task, cover_task, persona_id
