"""The command line: ``anyint-music ...`` or ``python -m anyint_music ...``.

Exit codes: 0 done, 1 the task failed (or another error), 2 bad usage, 3 timed out, 130
interrupted. On a terminal it shows live progress; with ``--json``, or when stdout is not a
terminal, it writes one JSON object per event instead. Errors are one line on stderr; ``--debug``
adds the traceback and the SDK's log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp

from . import (
    AnyIntError,
    AnyIntMusic,
    APIError,
    ConfigurationError,
    InvalidRequestError,
    Model,
    TaskFailedError,
    TaskTimeoutError,
    VocalGender,
    __version__,
)
from . import _cli_commands as commands
from . import _routes as routes
from ._cli_output import CommandError, Output, visible
from ._cli_session import Session, read_text
from ._cli_simulate import simulate
from .testing import simulated_client

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130

DEFAULT_SIM_PORT = 8787

_NO_KEY = (
    "ANYINT_API_KEY is not set: export your AnyInt API key, "
    "or add --simulate to run against the built-in simulator"
)

# SDK argument names as the command line spells them, for InvalidRequestError messages.
_OPTIONS = {
    "prompt": "PROMPT/--lyrics",
    "style": "--style",
    "title": "--title",
    "persona_id": "--persona",
    "continue_at": "--continue-at",
    "audio_id": "AUDIO_ID",
    "task_id": "TASK_ID",
    "negative_tags": "--negative-tags",
    "vocal_gender": "--vocal-gender",
    "model": "--model",
}


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


_positive = _seconds(allow_zero=False)
_not_negative = _seconds(allow_zero=True)


def _byte_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of bytes: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
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
        type=_positive,
        metavar="SECONDS",
        default=default(None),
        help="wait at most this long for the result (default 900)",
    )
    group.add_argument(
        "--stage-delay",
        type=_not_negative,
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


def _add_music_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=Model.V5.value,
        choices=[m.value for m in Model],
        help="the model (default V5)",
    )
    parser.add_argument("--persona", metavar="ID", help="a saved persona's id")
    parser.add_argument(
        "--out", default=".", metavar="DIR", help="where to save the files (default: here)"
    )
    parser.add_argument(
        "--no-download", action="store_true", help="only show the result URLs, save nothing"
    )
    parser.add_argument(
        "--lrc", action="store_true", help="also save each song's timed lyrics as a .lrc file"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``anyint-music``."""
    parser = argparse.ArgumentParser(
        prog="anyint-music",
        description="Make songs with AnyInt's AI Music service and save them.",
        epilog="Without ANYINT_API_KEY, add --simulate to try everything against a simulator.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, help_text: str, route: routes.Route[..., Any] | None = None
    ) -> argparse.ArgumentParser:
        # The route a command calls, from the table the client's methods read too.
        calls = f" (POST {route.path})" if route is not None else ""
        cmd = sub.add_parser(name, help=help_text, description=help_text + calls)
        _add_common(cmd, top=False)
        return cmd

    gen = command(
        "generate", "make a song (two tracks) and save the MP3s and their art", routes.GENERATE
    )
    gen.add_argument(
        "prompt",
        nargs="*",
        metavar="PROMPT",
        help="what the song is about (custom mode: the lyrics, or use --lyrics)",
    )
    _add_music_options(gen)
    gen.add_argument("--instrumental", action="store_true", help="no vocals")
    gen.add_argument(
        "--custom", action="store_true", help="custom mode: your lyrics, --title and --style"
    )
    gen.add_argument("--title", help="the song's title (custom mode)")
    gen.add_argument("--style", help="style tags, e.g. 'indie pop, warm' (custom mode)")
    gen.add_argument("--lyrics", metavar="FILE", help="the lyrics to sing (custom mode; - = stdin)")
    gen.add_argument("--negative-tags", metavar="TAGS", help="styles to avoid")
    gen.add_argument(
        "--vocal-gender", choices=[g.value for g in VocalGender], help="preferred voice"
    )

    ext = command("extend", "continue a track and save the longer song", routes.EXTEND)
    ext.add_argument("audio_id", metavar="AUDIO_ID", help="the track to continue (its id)")
    _add_music_options(ext)
    ext.add_argument(
        "--continue-at", type=_positive, metavar="SECONDS", help="where to continue from"
    )
    ext.add_argument("--prompt", help="the lyrics of the continuation")
    ext.add_argument("--lyrics", metavar="FILE", help="the lyrics from a file (- = stdin)")
    ext.add_argument("--title", help="the extended song's title")
    ext.add_argument("--style", help="its style tags")

    lyr = command("lyrics", "write lyrics (several variants) from a description", routes.LYRICS)
    lyr.add_argument("prompt", nargs="+", metavar="PROMPT", help="what the lyrics are about")
    lyr.add_argument("--out", metavar="DIR", help="also save each variant as a .txt file")

    sty = command("style", "turn a rough style hint into a richer style description", routes.STYLE)
    sty.add_argument("hint", nargs="+", metavar="HINT", help="e.g. 'sad piano, rain'")

    cov = command("cover", "make cover art for a finished music task and save it", routes.COVER)
    cov.add_argument("task_id", metavar="TASK_ID", help="the music task")
    cov.add_argument("--out", default=".", metavar="DIR", help="where to save the images")
    cov.add_argument("--no-download", action="store_true", help="only show the image URLs")

    stamps = command(
        "timestamps", "a track's word timings as lyrics or subtitle file", routes.TIMESTAMPED_LYRICS
    )
    stamps.add_argument("task_id", metavar="TASK_ID", help="the task that made the track")
    stamps.add_argument("audio_id", metavar="AUDIO_ID", help="the track's id")
    stamps.add_argument(
        "--format", choices=("lrc", "srt", "vtt", "json"), default="lrc", help="default lrc"
    )
    stamps.add_argument("--word-level", action="store_true", help="lrc: time every word")
    stamps.add_argument(
        "--out", metavar="PATH", help="a file or a directory to write (default: stdout)"
    )

    down = command("download", "save result files by URL (resumes an interrupted download)")
    down.add_argument("urls", nargs="+", metavar="URL", help="a track's audio_url, an image URL")
    down.add_argument(
        "--out",
        default=".",
        metavar="PATH",
        help="a directory (default: here; a new one if PATH ends in /) or a file name",
    )
    down.add_argument(
        "--max-bytes",
        type=_byte_count,
        metavar="N",
        help="refuse a file larger than N bytes (default: no limit)",
    )

    sim = command("simulate", "run the simulator as a server for apps in any language")
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
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Rules between options, reported as usage errors before anything is sent."""
    if args.command in ("generate", "extend") and args.lyrics is not None:
        try:
            args.lyrics_text = read_text(args.lyrics)
        except OSError as exc:
            parser.error(f"cannot read --lyrics {args.lyrics}: {exc.strerror or exc}")
    if args.command == "generate":
        if not args.custom:
            extra = [f"--{n}" for n in ("title", "style", "lyrics", "persona") if getattr(args, n)]
            if extra:
                parser.error(f"{', '.join(extra)} need --custom (custom mode)")
            if not args.prompt:
                parser.error("generate needs a PROMPT describing the song (or use --custom)")
        else:
            if args.prompt and args.lyrics is not None:
                parser.error("give the lyrics either as PROMPT or with --lyrics, not both")
            if not (args.title and args.style):
                parser.error("--custom needs --title and --style")
            if not (args.prompt or args.lyrics or args.instrumental):
                parser.error(
                    "--custom needs the lyrics (PROMPT or --lyrics FILE) or --instrumental"
                )
    if args.command == "extend":
        if args.prompt is not None and args.lyrics is not None:
            parser.error("give the lyrics either with --prompt or with --lyrics, not both")
        given = [args.continue_at, args.prompt or args.lyrics, args.style, args.title]
        if any(v is not None for v in given) and not all(v is not None for v in given):
            parser.error(
                "extend with new parameters needs --continue-at, --style, --title and the lyrics "
                "(--prompt or --lyrics); give none of them to inherit everything from the track"
            )
    if args.command == "simulate" and not 0 <= args.port <= 65535:
        parser.error(f"--port must be 0..65535, got {args.port}")


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace) -> AsyncIterator[AnyIntMusic]:
    if args.simulate:
        async with simulated_client(stage_delay=args.stage_delay) as client:
            yield client
    else:
        async with AnyIntMusic(timeout=args.timeout or 900.0) as client:
            yield client


async def _run(args: argparse.Namespace, out: Output) -> None:
    async with out:
        if args.command == "simulate":
            await simulate(args, out)
            return
        # Result files live on other hosts: fetched on a session without the API key.
        timeout = aiohttp.ClientTimeout(sock_read=60)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            if args.command == "download":
                # No client, no receiver, no key.
                await commands.download(Session(None, out, args.timeout, http=http), args)
                return
            async with _client(args) as client:
                if args.simulate:
                    out.say(
                        "Using the built-in simulator: nothing is sent to AnyInt; files are tiny."
                    )
                session = Session(client, out, args.timeout, http=http)
                if args.command == "timestamps":
                    await commands.timestamps(session, args, explicit_json=args.json)
                else:
                    await getattr(commands, args.command)(session, args)


def _classify(exc: BaseException, args: argparse.Namespace) -> tuple[int, str]:
    """The exit code and the one-line message for an error."""
    if isinstance(exc, TaskTimeoutError):
        if exc.task_id is None:
            return EXIT_TIMEOUT, f"no task id within {exc.timeout:g} s; a task may still exist"
        return EXIT_TIMEOUT, (
            f"task {exc.task_id} has no result after {exc.timeout:g} s; it may still finish: "
            "pass a larger --timeout"
        )
    if isinstance(exc, TaskFailedError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, InvalidRequestError):
        option = _OPTIONS.get(exc.field or "")
        return EXIT_USAGE, f"{option}: {exc}" if option else str(exc)
    if isinstance(exc, ConfigurationError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, CommandError):
        return exc.exit_code, str(exc)
    if isinstance(exc, APIError) and args.simulate and 404 in (exc.status, exc.code):
        return EXIT_FAILED, (
            f"{exc} (--simulate starts an empty simulator for each command; to use ids from "
            "an earlier command, run 'anyint-music simulate' and point ANYINT_BASE_URL and "
            "ANYINT_API_KEY at it)"
        )
    if isinstance(exc, AnyIntError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return EXIT_FAILED, f"{exc.strerror or exc}{where}"
    return EXIT_FAILED, (
        f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"
    )


class _Visible(logging.Formatter):
    """--debug log lines, with text from the network made safe for the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record), lines=True)


class _ToOutput(logging.Handler):
    def __init__(self, out: Output) -> None:
        super().__init__(logging.WARNING)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        self.out.notice(record.getMessage())


def _configure_logging(out: Output, debug: bool) -> None:
    logger = logging.getLogger("anyint_music")
    if debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Visible("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.basicConfig(level=logging.DEBUG, handlers=[handler])
        return
    logger.addHandler(_ToOutput(out))
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _check(parser, args)
    out = Output(json_lines=args.json or not sys.stdout.isatty())
    _configure_logging(out, args.debug)
    needs_key = args.command not in ("simulate", "download") and not args.simulate
    if needs_key and not os.environ.get("ANYINT_API_KEY"):
        out.error("ConfigurationError", _NO_KEY, EXIT_USAGE)
        return EXIT_USAGE
    try:
        asyncio.run(_run(args, out))
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly, and keep Python's own final
        # flush of stdout from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except KeyboardInterrupt:
        if args.command == "simulate":
            return EXIT_OK
        out.error("KeyboardInterrupt", "interrupted", EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except Exception as exc:
        code, message = _classify(exc, args)
        if args.debug:
            sys.stderr.write(visible(traceback.format_exc(), lines=True))
        out.error(type(exc).__name__, message, code)
        return code
    return EXIT_OK
