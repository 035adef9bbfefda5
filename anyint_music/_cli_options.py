"""Options several commands share, and the argparse types of their values."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from . import Model, VocalGender
from . import _routes as routes

# Makes one command: its name, its help, the route it calls (if any).
Command = Callable[[str, str, "routes.Route[..., Any] | None"], argparse.ArgumentParser]


def _seconds(allow_zero: bool) -> Callable[[str], float]:
    """An argparse type: a number of seconds, more than 0 (or 0 too, with ``allow_zero``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (value >= 0 if allow_zero else value > 0):
            rule = "must not be negative" if allow_zero else "must be more than 0"
            raise argparse.ArgumentTypeError(f"{rule}, got {text}")
        return value

    return parse


positive = _seconds(allow_zero=False)
not_negative = _seconds(allow_zero=True)


def byte_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of bytes: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # The same options on the main parser and on each command, so they work before or after
    # the command name; on commands they default to SUPPRESS so they never undo the former.
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("common options")
    group.add_argument(
        "--simulate",
        action="store_true",
        default=default(False),
        help="run against a built-in simulator (no API key, no cost)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="JSON lines on stdout (the default when stdout is not a terminal)",
    )
    group.add_argument(
        "--timeout",
        type=positive,
        metavar="SECONDS",
        default=default(None),
        help="wait at most this long for the result (default 900)",
    )
    group.add_argument(
        "--stage-delay",
        type=not_negative,
        metavar="SECONDS",
        default=default(0.5),
        help="with --simulate: seconds between the simulator's stages (default 0.5)",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show tracebacks and the SDK's log",
    )


def add_model(
    parser: argparse.ArgumentParser,
    default: str | None,
    *,
    required: bool = False,
    note: str = "",
) -> None:
    """``--model``, with ``default``, or ``required``, or left to the service."""
    said = f" (default {default})" if default else note
    parser.add_argument(
        "--model",
        default=default,
        required=required,
        choices=[m.value for m in Model],
        help=f"the model{said}",
    )


def add_track(parser: argparse.ArgumentParser) -> None:
    """``TASK_ID AUDIO_ID``: a finished track."""
    parser.add_argument("task_id", metavar="TASK_ID", help="the task that made the track")
    parser.add_argument("audio_id", metavar="AUDIO_ID", help="the track's id")


def add_source(parser: argparse.ArgumentParser, what: str) -> None:
    """``FILE|URL``: the audio an upload route starts from."""
    parser.add_argument(
        "source",
        metavar="FILE|URL",
        help=f"{what}: a local audio file (served to the service while it works) or an "
        "http(s) URL it can fetch",
    )


def add_saving(parser: argparse.ArgumentParser, *, lrc: bool, what: str = "files") -> None:
    """``--out``, ``--no-download`` (and ``--lrc`` for songs): where the result's files go."""
    parser.add_argument(
        "--out", default=".", metavar="DIR", help=f"where to save the {what} (default: here)"
    )
    parser.add_argument(
        "--no-download", action="store_true", help="only show the result URLs, save nothing"
    )
    if lrc:
        parser.add_argument(
            "--lrc", action="store_true", help="also save each song's timed lyrics as a .lrc file"
        )


def add_lyrics(parser: argparse.ArgumentParser, prompt_help: str) -> None:
    """``--prompt TEXT`` and ``--lyrics FILE``: the lyrics as text or from a file."""
    parser.add_argument("--prompt", metavar="TEXT", help=prompt_help)
    parser.add_argument("--lyrics", metavar="FILE", help="the lyrics from a file (- = stdin)")


def add_voice(
    parser: argparse.ArgumentParser, *, required: bool = False, avoid: str = "styles to avoid"
) -> None:
    """``--negative-tags`` (``avoid`` says what they are) and ``--vocal-gender``."""
    parser.add_argument("--negative-tags", metavar="TAGS", required=required, help=avoid)
    parser.add_argument(
        "--vocal-gender", choices=[g.value for g in VocalGender], help="preferred voice"
    )


def add_modes(parser: argparse.ArgumentParser) -> None:
    """generate's simple and custom modes: ``--instrumental``, ``--custom``, ``--title``,
    ``--style`` (the lyrics or description are the command's own)."""
    parser.add_argument("--instrumental", action="store_true", help="no vocals")
    parser.add_argument(
        "--custom", action="store_true", help="custom mode: your lyrics, --title and --style"
    )
    parser.add_argument("--title", help="the song's title (custom mode)")
    parser.add_argument("--style", help="style tags, e.g. 'indie pop, warm' (custom mode)")


def add_persona(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--persona", metavar="ID", help="a saved persona's id")
