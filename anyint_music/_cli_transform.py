"""The command line's commands over the transform and export routes, on the machinery of
``generate``: submit, follow the stages, save the files (``_cli_commands``, ``_cli_session``).

Songs made from a recording (``upload-cover``, ``upload-extend``, ``add-vocals``,
``add-instrumental``) or with a section replaced (``replace-section``) are saved as ``generate``
saves its songs. ``stems`` saves one MP3 per stem (``<task8>-<stem>.mp3``), ``wav`` the
``<task8>.wav`` and ``video`` the ``<task8>.mp4``, named after their own task; ``persona`` shows
the new persona's id.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs

from . import Model, StemsResult, Task, VideoResult, WavResult
from . import _routes as routes
from ._cli_commands import (
    extension_options,
    lyrics_or_prompt,
    make_many,
    make_music,
    run_task,
    song_options,
)
from ._cli_finish import finish_music, finish_stems, finish_video, finish_wav, prepare_out
from ._cli_session import Session
from ._cli_stop import resumable

R = TypeVar("R")


@resumable
async def upload_cover(session: Session, args: argparse.Namespace) -> None:
    """``upload-cover``: a new version of a recording (generate's simple and custom modes);
    ``--from``: one recording (file or URL) a line, each made into its own new version."""
    if args.from_list is not None:
        await make_many(
            session,
            args,
            routes.UPLOAD_COVER,
            lambda each, source: each.client.submit_upload_cover(
                source, prompt=lyrics_or_prompt(args), **song_options(args)
            ),
            "waiting for the new version",
            finish_music,
        )
        return
    await make_music(
        session,
        args,
        routes.UPLOAD_COVER,
        "waiting for the new version",
        lambda: session.client.submit_upload_cover(
            args.source, prompt=lyrics_or_prompt(args), **song_options(args)
        ),
    )


@resumable
async def upload_extend(session: Session, args: argparse.Namespace) -> None:
    """``upload-extend``: a recording continued, as ``extend`` continues a track."""
    await make_music(
        session,
        args,
        routes.UPLOAD_EXTEND,
        "waiting for the extension",
        lambda: session.client.submit_upload_extend(
            args.source,
            instrumental=args.instrumental,
            negative_tags=args.negative_tags,
            vocal_gender=args.vocal_gender,
            **extension_options(args),
        ),
    )


@resumable
async def add_vocals(session: Session, args: argparse.Namespace) -> None:
    """``add-vocals``: vocals sung over an instrumental."""
    await make_music(
        session,
        args,
        routes.ADD_VOCALS,
        "waiting for the vocals",
        lambda: session.client.submit_add_vocals(
            args.source, prompt=lyrics_or_prompt(args) or "", style=args.style, **_adding(args)
        ),
    )


@resumable
async def add_instrumental(session: Session, args: argparse.Namespace) -> None:
    """``add-instrumental``: an accompaniment under vocals or a melody."""
    await make_music(
        session,
        args,
        routes.ADD_INSTRUMENTAL,
        "waiting for the accompaniment",
        lambda: session.client.submit_add_instrumental(
            args.source, tags=args.tags, **_adding(args)
        ),
    )


def _adding(args: argparse.Namespace) -> dict[str, Any]:
    # The arguments add-vocals and add-instrumental share.
    return {
        "title": args.title,
        "negative_tags": args.negative_tags,
        "model": args.model,
        "vocal_gender": args.vocal_gender,
    }


@resumable
async def replace_section(session: Session, args: argparse.Namespace) -> None:
    """``replace-section``: a section of a track made anew."""
    full = args.full_lyrics_text if args.full_lyrics is not None else None
    result = await _on_track(
        session,
        args,
        routes.REPLACE_SECTION,
        "waiting for the new section",
        lambda task_id, audio_id: session.client.submit_replace_section(
            task_id,
            audio_id,
            prompt=lyrics_or_prompt(args) or "",
            tags=args.tags,
            title=args.title,
            infill_start_s=args.start,
            infill_end_s=args.end,
            full_lyrics=full,
            negative_tags=args.negative_tags,
        ),
    )
    await finish_music(session, result, args)


@resumable
async def stems(session: Session, args: argparse.Namespace) -> None:
    """``stems``: vocals and accompaniment (``--all``: every stem), one MP3 each."""
    result: StemsResult = await _on_track(
        session,
        args,
        routes.VOCAL_REMOVAL,
        "waiting for the stems",
        lambda task_id, audio_id: session.client.submit_vocal_removal(
            task_id, audio_id, type="split_stem" if args.all else "separate_vocal"
        ),
    )
    await finish_stems(session, result, args)


@resumable
async def wav(session: Session, args: argparse.Namespace) -> None:
    """``wav``: the track as a WAV file."""
    result: WavResult = await _on_track(
        session,
        args,
        routes.WAV,
        "waiting for the WAV",
        lambda task_id, audio_id: session.client.submit_wav_generate(task_id, audio_id),
    )
    await finish_wav(session, result, args)


@resumable
async def video(session: Session, args: argparse.Namespace) -> None:
    """``video``: a music video (MP4) of the track."""
    result: VideoResult = await _on_track(
        session,
        args,
        routes.VIDEO,
        "waiting for the video",
        lambda task_id, audio_id: session.client.submit_mp4_generate(
            task_id, audio_id, author=args.author, domain_name=args.domain
        ),
    )
    await finish_video(session, result, args)


async def persona(session: Session, args: argparse.Namespace) -> None:
    """``persona``: the voice of a track kept as a persona; shows its id."""
    task_id, audio_id = await _track(session, args)
    made = await session.ask(
        session.client.generate_persona(
            task_id,
            audio_id,
            name=args.name,
            description=args.description,
            vocal_start=args.start,
            vocal_end=args.end,
            style=args.style,
        ),
        "making the persona",
    )
    session.done(f"done           persona {made.persona_id}", **attrs.asdict(made))


async def _on_track(
    session: Session,
    args: argparse.Namespace,
    route: routes.Route[..., R],
    first_wait: str,
    submit: Callable[[str, str], Awaitable[Task[R]]],
) -> R:
    # --out is checked before anything is made, the simulator's own song included.
    prepare_out(args)
    task_id, audio_id = await _track(session, args)
    return await run_task(session, args, route, first_wait, lambda: submit(task_id, audio_id))


async def _track(session: Session, args: argparse.Namespace) -> tuple[str, str]:
    """The track to work on: TASK_ID AUDIO_ID; with ``--simulate``, a song the simulator makes
    first (it starts empty for each command, so it knows no other track)."""
    if not args.simulate:
        return args.task_id, args.audio_id
    song = await session.ask(
        session.client.generate("a song to work on", model=Model.V5),
        "simulator: making a song to work on",
    )
    track = song.tracks[0]
    session.out.notice(
        f"--simulate: the simulator knows no track {args.audio_id}; this works on a song it "
        f"made just now (task {song.task_id}, track {track.id})"
    )
    return song.task_id, track.id


# The commands of this module, by the name they have on the command line.
COMMANDS: Mapping[str, Callable[[Session, argparse.Namespace], Awaitable[None]]] = {
    "upload-cover": upload_cover,
    "upload-extend": upload_extend,
    "add-vocals": add_vocals,
    "add-instrumental": add_instrumental,
    "replace-section": replace_section,
    "stems": stems,
    "wav": wav,
    "video": video,
    "persona": persona,
}
