"""Many tasks in one command: ``generate --from FILE``, ``lyrics --from FILE``,
``upload-cover --from FILE`` (one prompt, or recording, a line) and ``wait TASK_ID...``.

Up to ``-j N`` tasks run at once (the client's rate handling applies to their submits); each is
followed and saved as the single command does it, and a failed task stops none of the others.
``--timeout`` counts for each task from its submit. The batch ends with a ``summary`` event and
exits 0 when every task succeeded, 1 when any failed (else 3 when any timed out); Ctrl-C and
SIGTERM end it with the same summary, naming the unfinished tasks (see ``_cli_stop``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs

from . import AnyIntError, Task, TaskTimeoutError
from ._cli_board import Board, Row, TaskView
from ._cli_output import CommandError, visible
from ._cli_session import Session, read_text
from ._cli_stop import EXIT_TIMEOUT, resume_fields, stop

# What each line of --from is, by command.
EACH = {"generate": "prompt", "lyrics": "prompt", "upload-cover": "source"}

Start = Callable[[Session], Awaitable[Task[Any]]]
Finish = Callable[[Session, Any, argparse.Namespace], Awaitable[None]]


@attrs.define(eq=False)
class Job:
    """One task of a batch: how it starts (a submit, or ``client.task`` for ``wait``), what
    its live line says first, and how its result is saved."""

    row: Row
    start: Start
    first_wait: str
    finish: Finish


def check_lists(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    source: Callable[[argparse.ArgumentParser, str], None],
) -> None:
    """``--from FILE``: its rules, and its lines read now into ``args.listed`` (``(line
    number, text)`` each), so that a bad list is a usage error (exit 2) before anything is
    sent. ``source`` checks one recording of ``upload-cover``'s list."""
    path = getattr(args, "from_list", None)
    single = {"generate": args.command == "generate" and (args.prompt or args.custom)}
    if args.command == "lyrics":
        single["lyrics"] = bool(args.prompt)
    if args.command == "upload-cover":
        single["upload-cover"] = args.source is not None
    if path is None:
        if args.command == "lyrics" and not args.prompt:
            parser.error("lyrics needs a PROMPT (or --from FILE: one prompt a line)")
        if args.command == "upload-cover" and args.source is None:
            parser.error("upload-cover needs a FILE|URL (or --from FILE: one a line)")
        return
    if args.command == "generate" and args.custom:
        parser.error("--from makes songs in simple mode (one description a line), not --custom")
    if single.get(args.command):
        given = "FILE|URL" if args.command == "upload-cover" else "PROMPT"
        parser.error(f"give either a {given} or --from {path}, not both")
    if path == "-" and "-" in (getattr(args, "lyrics", None), getattr(args, "full_lyrics", None)):
        parser.error("only one option can read stdin (-)")
    try:
        text = read_text(path)
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        parser.error(f"cannot read --from {path}: {reason or exc}")
    args.listed = [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.strip().startswith("#")
    ]
    if not args.listed:
        parser.error(f"--from {path}: no {EACH[args.command]} in it (blank and # lines skipped)")
    if args.command == "upload-cover":
        for _, recording in args.listed:
            source(parser, recording)


async def run_batch(
    session: Session, args: argparse.Namespace, jobs: Sequence[Job], *, concurrency: int
) -> None:
    """Run ``jobs``, at most ``concurrency`` at once; end with the summary (see the module)."""
    rows = [job.row for job in jobs]
    board = Board(session.out, rows, debug=args.debug)
    session.shared.on_stop = lambda kind, code, fields: _summary(session, rows, code, fields, kind)
    slots = asyncio.Semaphore(concurrency)
    saving = asyncio.Semaphore(concurrency)
    async with board.shown():
        running = [
            asyncio.create_task(_run(session, args, job, board, slots, saving)) for job in jobs
        ]
        try:
            await asyncio.gather(*running)
        except asyncio.CancelledError:
            for each in running:
                each.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise
    failed = [r for r in rows if r.state == "failed"]
    late = [r for r in rows if r.state == "timed_out"]
    said = []
    if failed:
        where = "line" if failed[0].line is not None else "task"
        keys = ", ".join(str(r.line) if r.line is not None else r.key for r in failed)
        said.append(
            f"{len(failed)} of {len(rows)} failed ({where}{'s' * (len(failed) > 1)} {keys})"
        )
    if late:
        said.append(f"{len(late)} of {len(rows)} have no result after {session.timeout:g} s")
    if said:
        kind, code = ("BatchFailed", 1) if failed else ("TaskTimeoutError", EXIT_TIMEOUT)
        stop(session, args, kind, code, "; ".join(said))
    _summary(session, rows, 0, resume_fields(session, args), None)


async def _run(
    parent: Session,
    args: argparse.Namespace,
    job: Job,
    board: Board,
    slots: asyncio.Semaphore,
    saving: asyncio.Semaphore,
) -> None:
    """One job: start it, follow it, save it; what goes wrong ends this job only."""
    row = job.row
    session: Session | None = None
    try:
        async with slots:
            session = parent.child(TaskView(board, row), row.line)  # --timeout counts from now
            row.state, row.doing, row.started = "running", "starting", time.monotonic()
            task = await job.start(session)
            row.task_id = task.id
            result = await session.follow(task, job.first_wait)
        row.state, row.doing = "saving", "saving"
        async with saving:
            await job.finish(session, result, args)
    except TaskTimeoutError as exc:
        row.state, row.error = ("timed_out" if row.task_id else "failed"), str(exc)
        board.emit(row, "timeout", f"no result      {exc}", {"message": str(exc)})
    except Exception as exc:  # the task failed, or a bug: this task ends, the others go on
        if args.debug and not isinstance(exc, AnyIntError | CommandError | OSError):
            shown = visible(traceback.format_exc(), lines=True)
            board.above(lambda: print(shown, end="", file=sys.stderr))
        _failed(parent, board, row, exc)
    else:
        row.state = "done"
        parent.settle(task.id)
    finally:
        row.render = None
        row.files = session.files if session is not None else []


def _failed(parent: Session, board: Board, row: Row, exc: BaseException) -> None:
    row.state, row.error = "failed", str(exc) or type(exc).__name__
    if row.task_id is not None:
        parent.settle(row.task_id)
    text = f"failed         {row.error}"
    board.emit(row, "failed", text, {"type": type(exc).__name__, "message": row.error})


def _summary(
    session: Session, rows: Sequence[Row], code: int, fields: dict[str, Any], why: str | None
) -> None:
    """The batch's final event: counts, each task's outcome and files, and the ``wait``
    commands for those unfinished (``why``: what stopped it early, if anything)."""
    count = {s: sum(r.state == s for r in rows) for s in ("done", "failed")}
    unsent = [r for r in rows if r.state == "queued" or (r.state == "running" and not r.task_id)]
    count["queued"] = len(unsent)
    unfinished = len(fields["task_ids"])
    files = [f for r in rows for f in r.files]
    parts = [f"{count['done']} done"]
    if count["failed"]:
        parts.append(f"{count['failed']} failed")
    if unfinished:
        parts.append(f"{unfinished} unfinished")
    if count["queued"]:
        parts.append(f"{count['queued']} not submitted")
    text = f"summary        {len(rows)} tasks: {', '.join(parts)}; {len(files)} files"
    tasks = [
        {
            "line": r.line,
            r.field or "label": r.label,
            "task_id": r.task_id,
            "state": r.state,
            "error": r.error,
            "files": r.files,
        }
        for r in rows
    ]
    extra = {"stopped": why} if why in ("KeyboardInterrupt", "Terminated") else {}
    session.out.emit(
        "summary",
        text,
        total=len(rows),
        done=count["done"],
        failed=count["failed"],
        unfinished=unfinished,
        not_submitted=count["queued"],
        files=files,
        tasks=tasks,
        exit=code,
        **extra,
        **fields,
    )
    for row in rows:
        if row.state == "failed":
            session.out.say(f"  {row.key:<4} {row.label}: {row.error}")
    if unsent:
        session.out.say(f"  not submitted: {', '.join(r.key for r in unsent)}")
