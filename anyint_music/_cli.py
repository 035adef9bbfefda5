"""The command line: ``anyint-music ...`` or ``python -m anyint_music ...``.

Exit codes: 0 done, 1 the task failed (or another error), 2 bad usage, 3 timed out, 130
interrupted. On a terminal it shows live progress; with ``--json``, or when stdout is not a
terminal, it writes one JSON object per event instead. Errors are one line on stderr (a usage
error: the command's usage and the reason), and a JSON event on stdout only under ``--json``;
``--debug`` adds the traceback and the SDK's log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
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
from ._cli_doctor import POLL_INTERVAL, WAIT_POLL_INTERVAL, Gateway, doctor, polling_note, port_note
from ._cli_options import UsageError, command_parser
from ._cli_output import CommandError, Output, visible
from ._cli_parser import build_parser
from ._cli_session import Session
from ._cli_simulate import simulate
from ._cli_transform import COMMANDS as TRANSFORM_COMMANDS
from ._cli_usage import check
from ._settings import DEFAULT_BASE_URL
from .testing import FakeGateway

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

# Commands that wait for no callback of theirs: no word about how results come. (`wait`
# picks up tasks made by other runs, whose callbacks go elsewhere: it polls in any case.)
_NO_CALLBACKS = frozenset({"timestamps", "style", "persona", "doctor", "status", "wait"})
# The SDK's warning that its receiver cannot be reached: the CLI says it itself, with its
# options (polling_note).
_SAID_BY_THE_CLI = re.compile(r"the receiver listens on \S+, which \S+ cannot reach")


@contextlib.asynccontextmanager
async def _gateway(args: argparse.Namespace) -> AsyncIterator[Gateway]:
    """Where the command sends its requests: a fresh simulator under ``--simulate``."""
    if args.simulate:
        async with FakeGateway(stage_delay=args.stage_delay) as gateway:
            yield Gateway(gateway.url, gateway.api_key)
    else:
        url = (os.environ.get("ANYINT_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        yield Gateway(url, os.environ.get("ANYINT_API_KEY") or None)


def _new_client(args: argparse.Namespace, gateway: Gateway) -> AnyIntMusic:
    # Without a key only doctor gets here; it says so, and its client only probes its receiver.
    return AnyIntMusic(
        api_key=gateway.api_key or "not-set",
        base_url=gateway.url,
        timeout=args.timeout or 900.0,
        # `wait` reads a re-attached task's record sooner than a server would (2 s, growing).
        poll_interval=WAIT_POLL_INTERVAL if args.command == "wait" else POLL_INTERVAL,
        public_url=args.public_url,
        callback_host=args.callback_host,
        callback_port=args.callback_port,
    )


@contextlib.asynccontextmanager
async def _client(args: argparse.Namespace, gateway: Gateway) -> AsyncIterator[AnyIntMusic]:
    client = _new_client(args, gateway)
    try:
        await client.open()
    except OSError as exc:
        raise CommandError(
            f"the callback receiver cannot listen on {args.callback_host}:{args.callback_port}: "
            f"{exc.strerror or exc}; choose another --callback-port (or 0 for any free one)"
        ) from exc
    try:
        yield client
    finally:
        await client.aclose()


def _tell_about_callbacks(args: argparse.Namespace, gateway: Gateway, out: Output) -> None:
    """Say once, before anything is sent, when results cannot come by callback."""
    if args.command in _NO_CALLBACKS:
        return
    for note in (
        polling_note(gateway.url, args.public_url),
        port_note(args.public_url, args.callback_port),
    ):
        if note is not None:
            out.notice(note)


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
            async with _gateway(args) as gateway:
                if args.simulate:
                    out.say(
                        "Using the built-in simulator: nothing is sent to AnyInt; files are tiny."
                    )
                if args.command == "doctor":
                    await doctor(args, out, gateway, lambda: _new_client(args, gateway))
                    return
                _tell_about_callbacks(args, gateway, out)
                async with _client(args, gateway) as client:
                    await _command(Session(client, out, args.timeout, http=http), args)


async def _command(session: Session, args: argparse.Namespace) -> None:
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
        message = record.getMessage()
        if not _SAID_BY_THE_CLI.match(message):
            self.out.notice(message)


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


def _asked_json(argv: Sequence[str]) -> bool:
    """Whether ``--json`` (or an abbreviation argparse takes for it) is among the options."""
    options = argv[: list(argv).index("--")] if "--" in argv else argv
    return any(len(arg) >= 3 and "--json".startswith(arg) for arg in options)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments, with the rules between them checked; a :class:`UsageError` from the
    parser of the command at fault."""
    args, extra = parser.parse_known_args(argv)
    where = command_parser(parser, args.command) if args.command else parser
    if extra:
        where.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is not None:
        check(where, args)
    return args


def _usage_error(error: UsageError, json_asked: bool) -> int:
    """The parser's usage and the reason on stderr; under ``--json`` then a JSON error event."""
    error.parser.print_usage(sys.stderr)
    sys.stderr.write(f"{error.parser.prog}: error: {visible(error.message)}\n")
    if json_asked:
        Output(json_lines=True).emit(
            "error", type="UsageError", message=error.message, exit=EXIT_USAGE
        )
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except UsageError as error:
        return _usage_error(error, _asked_json(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    out = Output(
        json_lines=args.json or not sys.stdout.isatty(),
        json_asked=args.json,
        # `timestamps > song.srt`: stdout is the document, so notes go to stderr.
        document=args.command == "timestamps" and args.out is None and not args.json,
    )
    _configure_logging(out, args.debug)
    needs_key = args.command not in ("simulate", "download", "doctor") and not args.simulate
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
