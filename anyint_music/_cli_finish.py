"""What the command line does with a finished task's result, one function per kind: save (or
with ``--no-download`` list) its files and report it done.

The commands that make a task and ``wait``, which picks one up again by id, both end here, so a
task picked up again is saved exactly as the command that made it would have saved it. Each
reads ``args.out``, ``args.no_download`` (and for songs ``args.lrc``) from its command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from . import CoverResult, LyricsResult, MusicResult, StemsResult, VideoResult, WavResult
from ._cli_output import CommandError, clock
from ._cli_session import Session, folder, image_suffix, slug, track_json
from ._download import safe_filename

# What to save of a result: (label, URL, file name) each.
Files = Sequence[tuple[str, str, str]]


def prepare_out(args: argparse.Namespace) -> None:
    """Check ``--out`` before the task is paid for (or waited for): an unusable one fails now,
    not after the wait."""
    if not getattr(args, "no_download", False) and args.out is not None:
        try:
            folder(Path(args.out))
        except OSError as exc:
            raise CommandError(f"cannot use --out {args.out}: {exc.strerror or exc}", 2) from exc


def saving_to(args: argparse.Namespace) -> str | None:
    """The folder to save the result's files in; ``None`` with ``--no-download``."""
    return None if args.no_download else str(args.out)


async def finish_music(session: Session, result: MusicResult, args: argparse.Namespace) -> None:
    """Save (or with ``--no-download`` show) a music result's tracks, and report it done."""
    out = session.out
    if args.no_download:
        for track in result.tracks:
            out.say(f'  "{track.title}"  {clock(track.duration)}  id {track.id}')
            out.say(f"    audio  {track.audio_url}")
            out.say(f"    art    {track.image_url}")
    else:
        await session.save_tracks(result, Path(args.out), lrc=args.lrc)
    where = "" if args.no_download else f" in {args.out}"
    session.done(
        f"done           {len(result.tracks)} tracks{where}",
        task_id=result.task_id,
        tracks=[track_json(t) for t in result.tracks],
    )


async def finish_lyrics(session: Session, result: LyricsResult, args: argparse.Namespace) -> None:
    """Show the usable lyric variants (and with ``--out`` save each as ``.txt``)."""
    usable = [v for v in result.variants if v.ok]
    for number, variant in enumerate(usable, 1):
        session.out.say()
        session.out.say(f"--- {number}. {variant.title or 'Untitled'} ---")
        session.out.say(variant.text, lines=True)
        if args.out:
            name = safe_filename(f"{slug(variant.title, 'lyrics')}-{number}.txt")
            session.write(folder(Path(args.out)) / name, variant.text + "\n", "lyrics")
    session.out.say()
    session.done(
        "done",
        task_id=result.task_id,
        variants=[{"title": v.title, "text": v.text} for v in usable],
    )


async def finish_cover(
    session: Session, result: CoverResult, args: argparse.Namespace, *, song: str
) -> None:
    """Save the cover images as ``cover-<task8>-<n>``, named after ``song``: the music task
    the art is for."""
    task8 = slug(song)[:8]
    files = [
        (f"cover {n}", url, f"cover-{task8}-{n}{image_suffix(url)}")
        for n, url in enumerate(result.images, 1)
    ]
    await session.save_urls(files, saving_to(args), "image")
    session.done("done", task_id=result.task_id, images=list(result.images))


async def finish_stems(session: Session, result: StemsResult, args: argparse.Namespace) -> None:
    """One MP3 per stem: ``<task8>-<stem>.mp3``."""
    task8 = slug(result.task_id)[:8]
    files = [(name, url, f"{task8}-{slug(name)}.mp3") for name, url in result.stems.items()]
    await _save(session, args, files, "stem", attrs.asdict(result))


async def finish_wav(session: Session, result: WavResult, args: argparse.Namespace) -> None:
    """The WAV as ``<task8>.wav``."""
    files = [("WAV", result.audio_wav_url, f"{slug(result.task_id)[:8]}.wav")]
    await _save(session, args, files, "wav", attrs.asdict(result))


async def finish_video(session: Session, result: VideoResult, args: argparse.Namespace) -> None:
    """The music video as ``<task8>.mp4``."""
    files = [("video", result.video_url, f"{slug(result.task_id)[:8]}.mp4")]
    await _save(session, args, files, "video", attrs.asdict(result))


async def _save(
    session: Session, args: argparse.Namespace, files: Files, what: str, fields: Mapping[str, Any]
) -> None:
    """Save (or with ``--no-download`` show) an export's files, and report it done."""
    await session.save_urls(files, saving_to(args), what)
    count = f"{len(files)} {'file' if len(files) == 1 else 'files'}"
    where = "" if args.no_download else f" in {args.out}"
    session.done(f"done           {count}{where}", **fields)
