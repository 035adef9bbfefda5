"""The command line's arguments for many tasks at once (``--from FILE``, ``-j N``) and for
picking a task up again by id (``wait``, ``status``)."""

from __future__ import annotations

import argparse

from ._cli_options import Command

# The kinds of task a route reads back by id (a persona has none): --kind's choices.
KINDS = ("music", "lyrics", "cover", "stems", "wav", "video")
DEFAULT_JOBS = 4


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be 1..100, got {text}")
    return value


def add_batch(parser: argparse.ArgumentParser, each: str) -> None:
    """``--from FILE`` (one ``each`` a line) and ``-j N``."""
    parser.add_argument(
        "--from",
        dest="from_list",
        metavar="FILE",
        help=f"many at once: one {each} a line, each its own task (blank lines and # comments "
        "skipped; - = stdin)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"with --from: up to N tasks at once (default {DEFAULT_JOBS})",
    )


def add_resume_commands(command: Command) -> None:
    """``wait`` and ``status``."""
    wait = command(
        "wait",
        "pick up tasks again by id (after Ctrl-C, a timeout, another machine): wait for each "
        "and save its files as the command that made it would have",
        None,
    )
    wait.add_argument("task_ids", nargs="+", metavar="TASK_ID", help="the task (or several)")
    _add_kind(wait)
    wait.add_argument(
        "--out",
        metavar="DIR",
        help="where to save the files (default: here; lyrics are saved only with --out)",
    )
    wait.add_argument(
        "--no-download", action="store_true", help="only show the result URLs, save nothing"
    )
    wait.add_argument(
        "--lrc", action="store_true", help="music: also save each song's timed lyrics (.lrc)"
    )
    wait.add_argument(
        "--song",
        metavar="TASK_ID",
        help="cover: the music task the art is for, which names the images as cover does",
    )

    status = command(
        "status",
        "show a task's current stage and result without waiting (one read of its record)",
        None,
    )
    status.add_argument("task_id", metavar="TASK_ID", help="the task")
    _add_kind(status)


def _add_kind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default="music",
        help="what the task makes (default music: generate, extend, the upload, add and "
        "replace commands)",
    )
