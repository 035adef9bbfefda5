"""How a command that has tasks stops early: Ctrl-C, SIGTERM or ``--timeout``.

The service goes on with a task whatever happens to the command that submitted it. So a command
that stops before its task's files are saved names each such task and the exact command that
picks it up again, ``anyint-music wait TASK_ID --kind KIND`` (with the ``--out``, ``--lrc`` or
``--no-download`` it was given), on stderr and, under ``--json``, in its final event:

    {"event": "error", "type": "Terminated", "message": "...", "exit": 143,
     "task_ids": ["..."], "resume": ["anyint-music wait ... --kind music"]}

(a batch's final event is its ``summary``, with the same two fields). Exit codes: 130 for Ctrl-C
(SIGINT), 143 for SIGTERM (128 + 15: what a shell reports for a process SIGTERM ended), 3 for a
timeout. SIGTERM is caught only while such a command runs; it ends the command as Ctrl-C does:
files being written are kept as ``.part`` files to resume, and nothing prints a traceback.

With ``--simulate`` the simulator ends with the command, and its tasks with it: nothing to pick
up, so no ``wait`` command is offered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import shlex
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, NoReturn

from . import TaskKind, TaskTimeoutError
from ._cli_output import visible
from ._cli_session import Pending, Session

EXIT_TIMEOUT = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

Command = Callable[[Session, argparse.Namespace], Awaitable[None]]


def resume_command(task_ids: Sequence[str], kind: TaskKind, args: argparse.Namespace) -> str:
    """``anyint-music wait TASK_ID... --kind KIND`` with the saving options ``args`` has."""
    words = ["anyint-music", "wait", *task_ids, "--kind", kind.value]
    out = getattr(args, "out", None)
    # Lyrics are saved only with --out; everything else goes to --out, "." by default.
    if out is not None and (out != "." or kind is TaskKind.LYRICS):
        words += ["--out", str(out)]
    if getattr(args, "no_download", False):
        words.append("--no-download")
    if getattr(args, "lrc", False) and kind is TaskKind.MUSIC:
        words.append("--lrc")
    song = getattr(args, "song", None) or (args.task_id if args.command == "cover" else None)
    if kind is TaskKind.COVER and song:
        words += ["--song", song]
    return shlex.join(words)


def resume_fields(session: Session, args: argparse.Namespace) -> dict[str, Any]:
    """The unfinished tasks' ids and the commands that pick each up (none under --simulate)."""
    pending = list(session.pending.values())
    commands = [] if args.simulate else [resume_command([p.task_id], p.kind, args) for p in pending]
    fields: dict[str, Any] = {"task_ids": [p.task_id for p in pending], "resume": commands}
    together = _together(pending, args)
    if together is not None:
        fields["resume_all"] = together
    return fields


def _together(pending: Sequence[Pending], args: argparse.Namespace) -> str | None:
    # Several tasks of one kind: one `wait` picks them all up.
    kinds = {p.kind for p in pending}
    if args.simulate or len(pending) < 2 or len(kinds) != 1:
        return None
    return resume_command([p.task_id for p in pending], kinds.pop(), args)


def stop(
    session: Session, args: argparse.Namespace, kind: str, code: int, message: str
) -> NoReturn:
    """End the command with ``code``: the final event, the error line and the ``wait``
    commands for the unfinished tasks on stderr. Raises ``SystemExit`` (the final event is
    written here, so nothing may be written after it)."""
    fields = resume_fields(session, args)
    commands: list[str] = fields["resume"]
    if commands:
        message += f"; {_goes_on(len(commands))} at AnyInt"
    session.out.status(None)
    if session.shared.on_stop is not None:
        session.shared.on_stop(kind, code, fields)  # a batch: its summary is the final event
    elif session.out.json_lines and args.json:
        # As every error: its JSON event only under --json (stdout may be a file being made).
        session.out.emit("error", type=kind, message=message, exit=code, **fields)
    if commands:
        message += f". To pick {'it' if len(commands) == 1 else 'them'} up:"
    lines = [f"error: {visible(message)}", *(f"  {visible(c)}" for c in commands)]
    if "resume_all" in fields:
        lines.append(f"  (or all at once: {visible(fields['resume_all'])})")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()
    raise SystemExit(code)


def _goes_on(count: int) -> str:
    return "the task goes on" if count == 1 else f"the {count} tasks go on"


def resumable(command: Command) -> Command:
    """Run a command that makes or follows tasks so that Ctrl-C, SIGTERM and ``--timeout`` end
    it with the ``wait`` commands for its unfinished tasks (see the module's doc)."""

    @functools.wraps(command)
    async def run(session: Session, args: argparse.Namespace) -> None:
        signals: list[str] = []
        with _terminate_cancels(signals):
            try:
                await command(session, args)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or not task.cancelling():
                    raise  # not a stop of this command: some inner task's own cancellation
                task.uncancel()
                if signals:
                    stop(session, args, "Terminated", EXIT_TERMINATED, "terminated (SIGTERM)")
                stop(session, args, "KeyboardInterrupt", EXIT_INTERRUPTED, "interrupted")
            except TaskTimeoutError as exc:
                if args.simulate or not session.pending:
                    raise  # nothing to pick up: the usual one-line timeout error
                if args.debug:
                    sys.stderr.write(visible(traceback.format_exc(), lines=True))
                ids = ", ".join(session.pending)
                stop(
                    session,
                    args,
                    type(exc).__name__,
                    EXIT_TIMEOUT,
                    f"task {ids} has no result after {exc.timeout:g} s",
                )

    return run


@contextlib.contextmanager
def _terminate_cancels(signals: list[str]) -> Iterator[None]:
    """While inside, SIGTERM cancels the current task as Ctrl-C does, once (a second SIGTERM
    must not cut short the clean-up), and is noted in ``signals``."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def terminate() -> None:
        if not signals:
            signals.append("SIGTERM")
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows; not the main thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
