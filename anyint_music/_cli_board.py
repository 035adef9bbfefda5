"""What a batch shows while its tasks run.

On a terminal: the lines that matter (each task's id when submitted, each file saved, each task
done or failed) stay, prefixed with the task's line in the list (``#12``), and below them a live
block is redrawn in place: one line per running task (what it waits for, or its download's bar)
and an overall line (done, failed, running, queued, elapsed). Otherwise every event of every
task is a JSON line with its ``task_id`` and ``line``, as a single command writes them.

Each task's :class:`~anyint_music._cli_session.Session` reports through its own
:class:`TaskView`, so the commands' code runs unchanged inside a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ._cli_output import human_bytes, visible
from ._cli_session import Reporter
from ._download import FileProgress

_SPINNER = ("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏", "|/-\\")
# Events a terminal shows on the task's live line only: the stages, the tags written.
_LIVE_ONLY = frozenset({"stage", "tagged"})


@attrs.define(eq=False)
class Row:
    """One task of a batch as shown: ``line`` in the ``--from`` list (``None`` for ``wait``'s
    ids), ``label`` the prompt (or source, or id), named ``field`` in JSON events."""

    line: int | None
    label: str
    field: str | None = None
    task_id: str | None = None
    state: str = "queued"  # queued, running, saving, done, failed, timed_out
    doing: str = "queued"
    render: Callable[[], str] | None = None
    started: float = 0.0
    error: str | None = None
    files: list[str] = attrs.Factory(list)

    @property
    def key(self) -> str:
        return f"#{self.line}" if self.line is not None else (self.task_id or self.label)[:8]


class Board:
    """The batch's display over the command's reporter ``out`` (see the module's doc)."""

    def __init__(self, out: Reporter, rows: Sequence[Row], *, debug: bool) -> None:
        self.out = out
        self.rows = rows
        self.live = not out.json_lines
        self._debug = debug
        self._stream = sys.stdout
        encoding = (getattr(self._stream, "encoding", None) or "").lower().replace("-", "")
        self._frames = _SPINNER[0] if encoding == "utf8" else _SPINNER[1]
        self._frame = 0
        self._drawn = 0
        self._start = time.monotonic()
        self._ticker: asyncio.Task[None] | None = None

    # --- what the tasks report ---

    def emit(self, row: Row, event: str, text: str | None, fields: dict[str, Any]) -> None:
        fields.setdefault("task_id", row.task_id)
        if row.line is not None:
            fields["line"] = row.line
        if event in ("submitted", "attached") and row.field is not None:
            fields[row.field] = row.label
        if not self.live:
            self.out.emit(event, **fields)
        elif event == "stage" and text is not None:
            row.doing = text.split("   ")[0]
        elif event not in _LIVE_ONLY and text is not None:
            self.above(lambda: self.out.emit(event, f"{row.key:<4} {text}"))

    def say(self, row: Row, text: str, lines: bool) -> None:
        if self.live:
            shown = f"{row.key:<4} {text}" if text and not lines else text
            self.above(lambda: self.out.say(shown, lines=lines))

    def notice(self, row: Row | None, message: str) -> None:
        if not self.live:
            where = {} if row is None else {"task_id": row.task_id, "line": row.line}
            self.out.emit("notice", message=message, **where)
        else:
            self.above(lambda: self.out.notice(message if row is None else f"{row.key}: {message}"))

    def above(self, write: Callable[[], None]) -> None:
        """A permanent line, written above the live block."""
        self._erase()
        write()
        self._draw()

    # --- the live block (terminal only) ---

    def _erase(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K" + "\x1b[1A\x1b[K" * (self._drawn - 1))
            self._stream.flush()
            self._drawn = 0

    def _draw(self) -> None:
        if not self.live:
            return
        size = shutil.get_terminal_size((80, 24))
        width = max(size.columns - 1, 10)
        running = [r for r in self.rows if r.state in ("running", "saving")]
        room = max(size.lines - 3, 1)
        lines = [self._row_line(r) for r in running[:room]]
        if len(running) > room:
            lines.append(f"     ... and {len(running) - room} more running")
        lines.append(self._overall())
        self._stream.write("\n".join(visible(line)[:width] for line in lines))
        self._stream.flush()
        self._drawn = len(lines)

    def _spin(self) -> str:
        return self._frames[self._frame % len(self._frames)]

    def _row_line(self, row: Row) -> str:
        label = row.label if len(row.label) <= 28 else row.label[:27] + "…"
        if row.render is not None:
            what = row.render()
        else:
            what = f"{self._spin()} {row.doing}  {time.monotonic() - row.started:.1f}s"
        return f"{row.key:<4} {label:<28}  {what}"

    def _overall(self) -> str:
        shown = ("done", "failed", "running", "saving", "queued")
        count = {state: 0 for state in (*shown, "timed_out")}
        for row in self.rows:
            count[row.state] += 1
        parts = [f"{count[s]} {s}" for s in shown if count[s]]
        if count["timed_out"]:
            parts.append(f"{count['timed_out']} timed out")
        elapsed = time.monotonic() - self._start
        return f"{self._spin()} {len(self.rows)} tasks: {', '.join(parts)}  {elapsed:.1f}s"

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            self._frame += 1
            self._erase()
            self._draw()

    @contextlib.asynccontextmanager
    async def shown(self) -> AsyncIterator[None]:
        """While inside, the live block is drawn and redrawn (on a terminal)."""
        if not self.live:
            yield
            return
        logger = logging.getLogger("anyint_music")
        if not self._debug:
            # The SDK's warnings go above the block too (else they would tear it).
            logger.addFilter(self._log_above)
        ticker = asyncio.get_running_loop().create_task(self._tick())
        self._draw()
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            logger.removeFilter(self._log_above)
            self._erase()

    def _log_above(self, record: logging.LogRecord) -> bool:
        def write() -> None:
            # The logger's own handlers write it, with the live block out of the way.
            for handler in logging.getLogger("anyint_music").handlers:
                handler.handle(record)

        self.above(write)
        return False


class TaskView:
    """One task's view of a :class:`Board`: the reporter its session writes to."""

    def __init__(self, board: Board, row: Row) -> None:
        self._board = board
        self._row = row
        self.json_lines = board.out.json_lines

    def emit(self, event: str, text: str | None = None, /, **fields: Any) -> None:
        self._board.emit(self._row, event, text, fields)

    def say(self, text: str = "", *, lines: bool = False) -> None:
        self._board.say(self._row, text, lines)

    def raw(self, text: str) -> None:
        self._board.say(self._row, text, True)

    def notice(self, message: str) -> None:
        self._board.notice(self._row, message)

    def waiting(self, what: str) -> None:
        self._row.doing = what
        self._row.render = None

    def status(self, render: Callable[[], str] | None) -> None:
        self._row.render = render

    def progress(self, label: str) -> FileProgress:
        bar = _Bar(label)
        self._row.render = bar.render
        return bar


class _Bar(FileProgress):
    """A download on a task's live line: ``track 1 audio: song.mp3  [####------]  40%``."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._done = self._total = 0

    def __call__(self, done: int, total: int | None) -> None:
        self._done, self._total = done, total or 0

    def file(self, path: Path) -> None:
        self._label += f": {path.name}"

    def render(self) -> str:
        done, total = self._done, self._total
        if not total:
            return f"{self._label}  {human_bytes(done)}"
        filled = min(10, done * 10 // total)
        meter = "#" * filled + "-" * (10 - filled)
        return f"{self._label}  [{meter}] {done * 100 // total:3d}%  {human_bytes(total)}"
