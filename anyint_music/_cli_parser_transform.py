"""The command line's arguments for the transform and export routes: songs made from your own
recording (``upload-cover``, ``upload-extend``, ``add-vocals``, ``add-instrumental``), a section
replaced (``replace-section``), and what a finished track can be turned into (``stems``,
``wav``, ``video``, ``persona``)."""

from __future__ import annotations

import argparse

from . import _routes as routes
from ._cli_options import (
    Command,
    add_lyrics,
    add_model,
    add_modes,
    add_persona,
    add_saving,
    add_source,
    add_track,
    add_voice,
    not_negative,
    positive,
)
from ._cli_parser_batch import add_batch

_ADD_MODEL = " (V4_5PLUS, the service's default, or V5)"


def add_transform_commands(command: Command) -> None:
    """Add the commands over the transform and export routes."""
    _add_upload_commands(command)
    _add_track_commands(command)


def _add_upload_commands(command: Command) -> None:
    cov = command(
        "upload-cover",
        "make a new version (a cover) of your own recording and save the MP3s and their art",
        routes.UPLOAD_COVER,
    )
    _add_recording(cov, "the recording (up to 8 minutes)", optional=True)
    add_modes(cov)
    add_lyrics(cov, "what the song is about (custom mode: the lyrics, or use --lyrics)")
    add_voice(cov)
    add_batch(cov, "recording (a file or a URL)")

    ext = command(
        "upload-extend",
        "continue your own recording and save the longer song",
        routes.UPLOAD_EXTEND,
    )
    _add_recording(ext, "the recording to continue")
    ext.add_argument(
        "--continue-at",
        type=positive,
        metavar="SECONDS",
        help="where in the recording to continue from",
    )
    add_lyrics(ext, "the lyrics of the continuation")
    ext.add_argument("--title", help="the extended song's title")
    ext.add_argument("--style", help="its style tags")
    ext.add_argument("--instrumental", action="store_true", help="no vocals in the continuation")
    add_voice(ext)

    voc = command(
        "add-vocals",
        "sing over your instrumental and save the song's MP3 and art",
        routes.ADD_VOCALS,
    )
    add_source(voc, "the instrumental")
    add_lyrics(voc, "the lyrics and how to sing them (or use --lyrics)")
    voc.add_argument("--title", required=True, help="the song's title")
    voc.add_argument("--style", required=True, help="the music and vocal style")
    add_voice(voc, required=True, avoid="vocal styles or traits to avoid")
    add_model(voc, None, note=_ADD_MODEL)
    add_saving(voc, lrc=True)

    ins = command(
        "add-instrumental",
        "put an accompaniment under your vocals or melody and save the song's MP3 and art",
        routes.ADD_INSTRUMENTAL,
    )
    add_source(ins, "the vocals or melody")
    ins.add_argument("--title", required=True, help="the song's title")
    ins.add_argument(
        "--tags", required=True, help="the accompaniment's style, e.g. 'relaxing, piano'"
    )
    add_voice(ins, required=True)
    add_model(ins, None, note=_ADD_MODEL)
    add_saving(ins, lrc=True)


def _add_recording(parser: argparse.ArgumentParser, what: str, *, optional: bool = False) -> None:
    # What upload-cover and upload-extend share with generate and extend, and the recording
    # (optional: or a list of them, --from).
    if optional:
        parser.add_argument(
            "source",
            nargs="?",
            metavar="FILE|URL",
            help=f"{what}: a local audio file (served to the service while it works) or an "
            "http(s) URL it can fetch; or many with --from",
        )
    else:
        add_source(parser, what)
    add_model(parser, None, required=True)
    add_persona(parser)
    add_saving(parser, lrc=True)


def _add_track_commands(command: Command) -> None:
    rep = command(
        "replace-section",
        "replace a section of a finished track with new music and lyrics, and save the song",
        routes.REPLACE_SECTION,
    )
    add_track(rep)
    rep.add_argument(
        "--start", type=not_negative, required=True, metavar="SECONDS", help="where it starts"
    )
    rep.add_argument(
        "--end",
        type=positive,
        required=True,
        metavar="SECONDS",
        help="where it ends (6 to 60 s after --start, at most half the track)",
    )
    add_lyrics(rep, "the lyrics of the new section (or use --lyrics)")
    rep.add_argument("--tags", required=True, help="the new section's style")
    rep.add_argument("--title", required=True, help="the track's title")
    rep.add_argument(
        "--full-lyrics",
        metavar="FILE",
        help="the whole song's lyrics with the section replaced, from a file (- = stdin)",
    )
    rep.add_argument("--negative-tags", metavar="TAGS", help="styles to avoid")
    add_saving(rep, lrc=True)

    stems = command(
        "stems",
        "split a finished track into vocals and accompaniment (or every stem) and save them",
        routes.VOCAL_REMOVAL,
    )
    add_track(stems)
    stems.add_argument(
        "--all",
        action="store_true",
        help="every stem (vocals, backing vocals, drums, bass, guitar, ...; type split_stem)",
    )
    add_saving(stems, lrc=False, what="MP3s")

    wav = command("wav", "export a finished track as WAV and save it", routes.WAV)
    add_track(wav)
    add_saving(wav, lrc=False, what="WAV")

    video = command(
        "video", "make a music video (MP4) of a finished track and save it", routes.VIDEO
    )
    add_track(video)
    video.add_argument("--author", help="a signature shown on the video (at most 50 characters)")
    video.add_argument(
        "--domain", metavar="NAME", help="a watermark at the bottom (at most 50 characters)"
    )
    add_saving(video, lrc=False, what="MP4")

    persona = command(
        "persona",
        "keep the voice of a finished track as a reusable persona and show its id",
        routes.PERSONA,
    )
    add_track(persona)
    persona.add_argument("--name", required=True, help="the persona's name")
    persona.add_argument("--description", required=True, help="what the voice is like")
    persona.add_argument(
        "--start",
        type=not_negative,
        metavar="SECONDS",
        help="where the voice to learn starts (default 0)",
    )
    persona.add_argument(
        "--end",
        type=not_negative,
        metavar="SECONDS",
        help="where it ends (default 30; 10 to 30 s after --start)",
    )
    persona.add_argument("--style", help="a style label for the persona")
