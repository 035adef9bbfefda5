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
from collections.abc import AsyncIterator, Sequence

import aiohttp

from . import (
    AnyIntError,
    AnyIntMusic,
    APIError,
    ConfigurationError,
    InvalidRequestError,
    TaskFailedError,
    TaskTimeoutError,
)
from . import _cli_commands as commands
from ._cli_output import CommandError, Output, visible
from ._cli_parser import build_parser
from ._cli_session import Session
from ._cli_simulate import simulate
from ._cli_transform import COMMANDS as TRANSFORM_COMMANDS
from ._cli_usage import check
from .testing import simulated_client

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130

_NO_KEY = (
    "ANYINT_API_KEY is not set: export your AnyInt API key, "
    "or add --simulate to run against the built-in simulator"
)

# SDK argument names as the command line spells them, for InvalidRequestError messages.
_OPTIONS = {
    "prompt": "--prompt/--lyrics",
    "style": "--style",
    "title": "--title",
    "persona_id": "--persona",
    "continue_at": "--continue-at",
    "audio_id": "AUDIO_ID",
    "task_id": "TASK_ID",
    "negative_tags": "--negative-tags",
    "vocal_gender": "--vocal-gender",
    "model": "--model",
    "upload_url": "FILE|URL",
    "tags": "--tags",
    "infill_start_s": "--start",
    "infill_end_s": "--end",
    "full_lyrics": "--full-lyrics",
    "name": "--name",
    "description": "--description",
    "vocal_start": "--start",
    "vocal_end": "--end",
    "author": "--author",
    "domain_name": "--domain",
}
# ... where a command spells one otherwise.
_COMMAND_OPTIONS = {"generate": {"prompt": "PROMPT/--lyrics"}}


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
                elif args.command in TRANSFORM_COMMANDS:
                    await TRANSFORM_COMMANDS[args.command](session, args)
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
        field = exc.field or ""
        option = _COMMAND_OPTIONS.get(args.command, {}).get(field) or _OPTIONS.get(field)
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
    check(parser, args)
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
