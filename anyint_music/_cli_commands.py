"""The command line's commands, on the public API and the routes table: make things, follow
them, save them (``_cli_finish``). ``--from FILE`` runs many at once (``_cli_batch``); ``wait``
and ``status`` pick a task up again by id (``_cli_resume``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from . import CoverResult, LyricsResult, MusicResult, Task, TimestampedLyrics
from . import _routes as routes
from ._cli_batch import EACH, Job, run_batch
from ._cli_board import Row
from ._cli_finish import finish_cover, finish_lyrics, finish_music, prepare_out
from ._cli_output import CommandError, json_text
from ._cli_resume import status, wait
from ._cli_session import Session, folder, slug
from ._cli_stop import resumable
from ._download import safe_filename
from ._settings import is_http_url

R = TypeVar("R")
# `wait` and `status` are commands of this module, by the name the command line dispatches on.
__all__ = ["status", "wait"]


async def run_task(
    session: Session,
    args: argparse.Namespace,
    route: routes.Route[..., R],
    first_wait: str,
    submitting: Callable[[], Awaitable[Task[R]]],
) -> R:
    """Check ``--out``, submit ``route``'s task, follow its stages and return its result."""
    prepare_out(args)
    task = await session.submit(submitting(), route.kind)
    return await session.follow(task, first_wait)


def lyrics_or_prompt(args: argparse.Namespace) -> str | None:
    """The lyrics: from ``--lyrics FILE`` when given, else ``--prompt``."""
    text: str | None = args.lyrics_text if args.lyrics is not None else args.prompt
    return text


def song_options(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments of generate's simple and custom modes (``generate``, ``upload-cover``),
    from their options; the prompt aside."""
    return {
        "model": args.model,
        "instrumental": args.instrumental,
        "custom_mode": args.custom,
        "style": args.style,
        "title": args.title,
        "persona_id": args.persona,
        "negative_tags": args.negative_tags,
        "vocal_gender": args.vocal_gender,
    }


def extension_options(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments of an extension (``extend``, ``upload-extend``) from its options: new
    parameters turn ``default_param_flag`` on, else the source's are inherited."""
    prompt = lyrics_or_prompt(args)
    return {
        "model": args.model,
        "default_param_flag": any(
            v is not None for v in (args.continue_at, prompt, args.style, args.title)
        ),
        "continue_at": args.continue_at,
        "prompt": prompt,
        "style": args.style,
        "title": args.title,
        "persona_id": args.persona,
    }


def _download_dest(out: str, *, many: bool) -> Path:
    # A directory when it is one, ends like one, or several files go there; else a file name.
    dest = Path(out)
    if many or out.endswith(("/", os.sep)) or dest.is_dir():
        return folder(dest)
    return dest


def _output_file(path: Path, args: argparse.Namespace) -> Path:
    if path.is_dir():
        return path / safe_filename(f"{slug(args.audio_id)}.{args.format}")
    return path


@resumable
async def generate(session: Session, args: argparse.Namespace) -> None:
    """``generate``: make a song (two tracks), follow it, save it; ``--from``: one a line."""
    first_wait = "waiting for the music" if args.instrumental else "waiting for the lyrics"
    if args.from_list is not None:
        await make_many(
            session,
            args,
            routes.GENERATE,
            lambda each, prompt: each.client.submit_generate(prompt, **song_options(args)),
            first_wait,
            finish_music,
        )
        return
    prompt = args.lyrics_text if args.lyrics is not None else " ".join(args.prompt) or None
    await make_music(
        session,
        args,
        routes.GENERATE,
        first_wait,
        lambda: session.client.submit_generate(prompt, **song_options(args)),
    )


async def make_many(
    session: Session,
    args: argparse.Namespace,
    route: routes.Route[..., Any],
    submitting: Callable[[Session, str], Awaitable[Task[Any]]],
    first_wait: str,
    finish: Callable[[Session, Any, argparse.Namespace], Awaitable[None]],
) -> None:
    """``--from FILE``: a task for each line (``args.listed``), ``-j`` at once, each submitted
    with ``submitting(session, line)`` and saved with ``finish`` as the single command does."""
    prepare_out(args)

    def start(text: str) -> Callable[[Session], Awaitable[Task[Any]]]:
        async def submit(each: Session) -> Task[Any]:
            return await each.submit(submitting(each, text), route.kind)

        return submit

    field = EACH[args.command]
    jobs = [
        Job(Row(number, text, field), start(text), first_wait, finish)
        for number, text in args.listed
    ]
    await run_batch(session, args, jobs, concurrency=args.jobs)


@resumable
async def extend(session: Session, args: argparse.Namespace) -> None:
    """``extend``: continue a track, follow it, save it."""
    await make_music(
        session,
        args,
        routes.EXTEND,
        "waiting for the extension",
        lambda: session.client.submit_extend(args.audio_id, **extension_options(args)),
    )


async def make_music(
    session: Session,
    args: argparse.Namespace,
    route: routes.Route[..., MusicResult],
    first_wait: str,
    submitting: Callable[[], Awaitable[Task[MusicResult]]],
) -> None:
    """Submit and follow a task that makes songs, then save them as ``generate`` does."""
    await finish_music(session, await run_task(session, args, route, first_wait, submitting), args)


@resumable
async def lyrics(session: Session, args: argparse.Namespace) -> None:
    """``lyrics``: write lyrics (several variants) and show or save them; ``--from``: one
    prompt a line."""
    if args.from_list is not None:
        await make_many(
            session,
            args,
            routes.LYRICS,
            lambda each, prompt: each.client.submit_lyrics(prompt),
            "waiting for the lyrics",
            finish_lyrics,
        )
        return
    task = await session.submit(
        session.client.submit_lyrics(" ".join(args.prompt)), routes.LYRICS.kind
    )
    result: LyricsResult = await session.follow(task, "waiting for the lyrics")
    await finish_lyrics(session, result, args)


async def style(session: Session, args: argparse.Namespace) -> None:
    """``style``: turn a rough hint into a richer style description."""
    session.out.waiting("asking for a richer style")
    result = await session.client.style_generate(" ".join(args.hint))
    session.out.status(None)
    session.out.say(result.text)
    session.done("done", text=result.text)


@resumable
async def cover(session: Session, args: argparse.Namespace) -> None:
    """``cover``: make cover art for a finished music task and save the images."""
    result: CoverResult = await run_task(
        session,
        args,
        routes.COVER,
        "waiting for the cover art",
        lambda: session.client.submit_cover(args.task_id),
    )
    await finish_cover(session, result, args, song=args.task_id)


async def download(session: Session, args: argparse.Namespace) -> None:
    """``download``: save result files by URL; an interrupted download resumes."""
    for url in args.urls:
        if not is_http_url(url):
            raise CommandError(f"not an http(s) URL: {url!r}", 2)
    dest = _download_dest(args.out, many=len(args.urls) > 1)
    for number, url in enumerate(args.urls, 1):
        await session.download(url, dest, f"file {number}", "file", max_bytes=args.max_bytes)
    session.done(f"done           {len(args.urls)} files")


def render_timestamps(timed: TimestampedLyrics, fmt: str, *, word_level: bool = False) -> str:
    """The timings as an LRC, SubRip, WebVTT or JSON document."""
    if fmt == "lrc":
        return timed.to_lrc(word_level=word_level)
    if fmt == "srt":
        return timed.to_srt()
    if fmt == "vtt":
        return timed.to_vtt()
    document = {
        "lines": [
            {
                "text": line.text,
                "start": line.start_s,
                "end": line.end_s,
                "words": [{"word": w, "start": s, "end": e} for w, s, e in line.words],
            }
            for line in timed.lines()
        ],
    }
    return json_text(document, indent=2) + "\n"


async def timestamps(session: Session, args: argparse.Namespace, explicit_json: bool) -> None:
    """``timestamps``: word timings of a track as a subtitle or JSON file."""
    session.out.waiting("asking for the word timings")
    timed = await session.client.timestamped_lyrics(args.task_id, args.audio_id)
    session.out.status(None)
    if not timed.words:
        session.out.notice("this track has no timed lyrics (an instrumental?)")
    text = render_timestamps(timed, args.format, word_level=args.word_level)
    if args.out is None:
        if explicit_json:
            session.done("done", format=args.format, content=text)
        else:
            # The document is the output, also into a pipe: `... --format srt > song.srt`.
            session.out.raw(text)
        return
    session.write(_output_file(Path(args.out), args), text, args.format)
    session.done("done", format=args.format)
