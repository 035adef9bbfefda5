"""The command line's arguments: ``anyint-music``'s parser, with the commands over the generate,
extend, lyrics, cover, timestamps and style routes, plus ``download``, ``doctor`` and
``simulate``. The commands over the transform and export routes are in
``_cli_parser_transform``; options several commands share in ``_cli_options``.

Each command's help names the route it calls, from the routes table the client reads too.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from . import Model, __version__
from . import _routes as routes
from ._cli_options import (
    Command,
    Parser,
    add_common,
    add_lyrics,
    add_model,
    add_modes,
    add_persona,
    add_saving,
    add_track,
    add_voice,
    byte_count,
    positive,
)
from ._cli_parser_batch import add_batch, add_resume_commands
from ._cli_parser_transform import add_transform_commands

DEFAULT_SIM_PORT = 8787


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions at spaces only, so a route (``/suno/add-vocals``) stays whole."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``anyint-music``."""
    parser = Parser(
        prog="anyint-music",
        description="Make songs with AnyInt's AI Music service and save them.",
        epilog="Without ANYINT_API_KEY, add --simulate to try everything against a simulator.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, help_text: str, route: routes.Route[..., Any] | None = None
    ) -> argparse.ArgumentParser:
        # The route a command calls, from the table the client's methods read too.
        calls = f" (POST {route.path})" if route is not None else ""
        cmd = sub.add_parser(
            name, help=help_text, description=help_text + calls, formatter_class=_Formatter
        )
        add_common(cmd, top=False)
        return cmd

    _add_music_commands(command)
    add_transform_commands(command)
    _add_tool_commands(command)
    add_resume_commands(command)
    return parser


def _add_music_commands(command: Command) -> None:
    gen = command(
        "generate", "make a song (two tracks) and save the MP3s and their art", routes.GENERATE
    )
    gen.add_argument(
        "prompt",
        nargs="*",
        metavar="PROMPT",
        help="what the song is about (custom mode: the lyrics, or use --lyrics)",
    )
    add_model(gen, Model.V5.value)
    add_persona(gen)
    add_saving(gen, lrc=True)
    add_modes(gen)
    gen.add_argument("--lyrics", metavar="FILE", help="the lyrics to sing (custom mode; - = stdin)")
    add_voice(gen)
    add_batch(gen, "description")

    ext = command("extend", "continue a track and save the longer song", routes.EXTEND)
    ext.add_argument("audio_id", metavar="AUDIO_ID", help="the track to continue (its id)")
    add_model(ext, Model.V5.value)
    add_persona(ext)
    add_saving(ext, lrc=True)
    ext.add_argument(
        "--continue-at", type=positive, metavar="SECONDS", help="where to continue from"
    )
    add_lyrics(ext, "the lyrics of the continuation")
    ext.add_argument("--title", help="the extended song's title")
    ext.add_argument("--style", help="its style tags")

    lyr = command("lyrics", "write lyrics (several variants) from a description", routes.LYRICS)
    lyr.add_argument("prompt", nargs="*", metavar="PROMPT", help="what the lyrics are about")
    lyr.add_argument("--out", metavar="DIR", help="also save each variant as a .txt file")
    add_batch(lyr, "description")

    sty = command("style", "turn a rough style hint into a richer style description", routes.STYLE)
    sty.add_argument("hint", nargs="+", metavar="HINT", help="e.g. 'sad piano, rain'")

    cov = command("cover", "make cover art for a finished music task and save it", routes.COVER)
    cov.add_argument("task_id", metavar="TASK_ID", help="the music task")
    cov.add_argument("--out", default=".", metavar="DIR", help="where to save the images")
    cov.add_argument("--no-download", action="store_true", help="only show the image URLs")

    stamps = command(
        "timestamps", "a track's word timings as lyrics or subtitle file", routes.TIMESTAMPED_LYRICS
    )
    add_track(stamps)
    stamps.add_argument(
        "--format", choices=("lrc", "srt", "vtt", "json"), default="lrc", help="default lrc"
    )
    stamps.add_argument("--word-level", action="store_true", help="lrc: time every word")
    stamps.add_argument(
        "--out", metavar="PATH", help="a file or a directory to write (default: stdout)"
    )


def _add_tool_commands(command: Command) -> None:
    down = command("download", "save result files by URL (resumes an interrupted download)", None)
    down.add_argument("urls", nargs="+", metavar="URL", help="a track's audio_url, an image URL")
    down.add_argument(
        "--out",
        default=".",
        metavar="PATH",
        help="a directory (default: here; a new one if PATH ends in /) or a file name",
    )
    down.add_argument(
        "--max-bytes",
        type=byte_count,
        metavar="N",
        help="refuse a file larger than N bytes (default: no limit)",
    )

    command(
        "doctor",
        "check the API key, the gateway and its clock, and that callbacks reach this machine "
        "(--public-url); exit 0 when all pass",
        None,
    )

    sim = command("simulate", "run the simulator as a server for apps in any language", None)
    sim.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1)")
    sim.add_argument(
        "--port",
        type=int,
        default=DEFAULT_SIM_PORT,
        help=f"the port (default {DEFAULT_SIM_PORT}; 0 = any free port)",
    )
    sim.add_argument(
        "--api-key", default="sk-fake-anyint", help="the key clients must send (default shown)"
    )
    sim.add_argument(
        "--fail-tasks", type=int, default=0, metavar="N", help="make the next N tasks fail"
    )
