"""Options several commands share, and the argparse types of their values."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from . import Model, VocalGender
from . import _routes as routes
from ._settings import is_http_url

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


def http_url(text: str) -> str:
    """An argparse type: an http(s) URL with a host (a trailing ``/`` dropped)."""
    if not is_http_url(text):
        raise argparse.ArgumentTypeError(f"not an http(s) URL with a host: {text!r}")
    return text.rstrip("/")


def whole_number(
    lowest: int, highest: int | None = None, *, what: str = "a whole number"
) -> Callable[[str], int]:
    """An argparse type: a whole number from ``lowest`` to ``highest`` (or more, with none);
    ``what`` names it in the message for a value that is not one."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if value < lowest or (highest is not None and value > highest):
            rule = f"at least {lowest}" if highest is None else f"{lowest}..{highest}"
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return parse


byte_count = whole_number(1, what="a whole number of bytes")
port = whole_number(0, 65535, what="a port number")


# The options of every command: (flag, add_argument's arguments, its default). They are on the
# main parser and on each command, so they work before or after the command name; on commands
# they default to SUPPRESS so they never undo the former.
_COMMON: tuple[tuple[str, dict[str, Any], object], ...] = (
    (
        "--simulate",
        {"action": "store_true", "help": "run against a built-in simulator (no API key, no cost)"},
        False,
    ),
    (
        "--json",
        {
            "action": "store_true",
            "help": "JSON lines on stdout (the default when stdout is not a terminal; errors "
            "are JSON events only with --json)",
        },
        False,
    ),
    (
        "--timeout",
        {
            "type": positive,
            "metavar": "SECONDS",
            "help": "wait at most this long for the result (default 900)",
        },
        None,
    ),
    (
        "--stage-delay",
        {
            "type": not_negative,
            "metavar": "SECONDS",
            "help": "with --simulate: seconds between the simulator's stages (default 0.5)",
        },
        0.5,
    ),
    ("--debug", {"action": "store_true", "help": "show tracebacks and the SDK's log"}, False),
)

_RECEIVER: tuple[tuple[str, dict[str, Any], object], ...] = (
    (
        "--public-url",
        {
            "type": http_url,
            "metavar": "URL",
            "help": "the address at which the service reaches this command's callback receiver, "
            "e.g. a tunnel to --callback-port (default $ANYINT_PUBLIC_URL; without one, results "
            "from a remote gateway come by polling, more slowly)",
        },
        None,
    ),
    (
        "--callback-host",
        {
            "metavar": "HOST",
            "help": "the address the receiver binds (default $ANYINT_CALLBACK_HOST, else "
            "127.0.0.1)",
        },
        None,
    ),
    (
        "--callback-port",
        {
            "type": port,
            "metavar": "PORT",
            "help": "the receiver's port, for a tunnel to forward to (default "
            "$ANYINT_CALLBACK_PORT, else any free port)",
        },
        None,
    ),
)


def add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every command takes, on the main parser (``top``) or a command's."""
    for title, options in (("common options", _COMMON), ("callback receiver", _RECEIVER)):
        group = parser.add_argument_group(title)
        for flag, spec, default in options:
            group.add_argument(flag, default=default if top else argparse.SUPPRESS, **spec)


class UsageError(Exception):
    """A usage error found by ``parser`` (a command's own, or the main one): main() prints that
    parser's usage and the message, and exits 2."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are raised as :class:`UsageError` instead of exiting,
    so that the command line can end them with a JSON event under ``--json``. Its commands'
    parsers are of this class too (argparse makes them of the main parser's class)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def command_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of the command ``name`` (to show its usage, not the main one's)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            found: argparse.ArgumentParser = action.choices[name]
            return found
    return parser


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
