"""A store in one SQLite file, so a restarted worker can take over its tasks."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, TypeVar

from .._models import TaskEvent, TaskKind
from ._base import (
    EventHandler,
    ResyncHandler,
    StoredTask,
    event_from_callback,
    event_from_json,
    event_to_json,
)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    token TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    task_id TEXT UNIQUE,
    created_at REAL NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS tasks_open ON tasks (finished, created_at);
CREATE TABLE IF NOT EXISTS events (
    token TEXT NOT NULL REFERENCES tasks (token) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (token, stage)
);
"""


# Tokens per UPDATE, events per INSERT: within the 999 bound parameters of older SQLite builds.
_MARKED_AT_ONCE = 500
_INSERTED_AT_ONCE = 249

# An event is stored only if its token is known, once per stage; its seq orders the events of
# its token (the count before it, plus the rows of its token earlier in the same statement).
_INSERT_HEAD = (
    "INSERT OR IGNORE INTO events (token, stage, seq, body) "
    "SELECT v.column1, v.column2, "
    "v.column3 + (SELECT COUNT(*) FROM events AS e WHERE e.token = v.column1), v.column4 "
    "FROM (VALUES "
)
_INSERT_TAIL = ") AS v WHERE EXISTS (SELECT 1 FROM tasks AS t WHERE t.token = v.column1)"


class _Mixed(Exception):
    """A statement of several events stored some of them and refused others."""


class _Write(NamedTuple):
    """An ``add_event`` waiting for the next group commit."""

    token: str
    stage: str
    body: str | bytes
    final: bool
    added: asyncio.Future[bool]


# (token, stage, body, final): an event write as the database thread sees it.
_Row = tuple[str, str, "str | bytes", bool]


class SQLiteStore:
    """Tokens, task ids, stages and results in a SQLite file (WAL mode).

    Every write is in one transaction, committed before the client answers the callback that
    caused it, so a process killed at any moment leaves either the whole write or none of it.
    Events that arrive while a commit is under way are committed together in the next one; a
    row the database refuses fails only its own write.
    A worker restarted with the same file and the same ``public_url`` accepts the service's
    retried callbacks for its old tokens and resumes its waits (``client.pending()``).

    All database work runs on one background thread, never on the event loop.

    A callback's event is stored as the body the service sent (bytes, as received) and read
    back from it, which spares encoding it again on every callback; an event that came
    otherwise (a poll) is stored as JSON. Files written by earlier versions read as before.

    Args:
        path: the database file; created with its tables if missing, readable by its owner
            only (mode 0600: the callback tokens in it are secrets). SQLite gives its ``-wal``
            and ``-shm`` files the same mode; an existing file keeps the mode it has.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._queue: list[_Write] = []
        self._flushing: asyncio.Future[Sequence[bool | Exception]] | None = None  # under way

    owner_id: str | None = None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None:
            raise RuntimeError("the SQLiteStore is not open")

        def call() -> T:
            assert self._db is not None
            return fn(self._db)

        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anyint-sqlite")

        def connect() -> None:
            if self.path not in ("", ":memory:"):
                # The callback tokens in it are secrets: create it readable by its owner only.
                # SQLite gives the -wal and -shm files the mode of the database file.
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write.
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode loses nothing when the process dies, only on power loss.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
            self._db = db

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    async def close(self) -> None:
        if self._executor is None:
            return

        def disconnect(db: sqlite3.Connection) -> None:
            db.close()

        # Queued events were promised a commit: let them have it before the connection goes.
        # asyncio.wait, unlike awaiting the job, neither raises its error nor cancels it.
        while self._flushing is not None:
            await asyncio.wait([self._flushing])
        try:
            await self._run(disconnect)
        finally:
            self._db = None
            executor, self._executor = self._executor, None
            executor.shutdown(wait=True)

    async def save_token(self, token: str, kind: TaskKind, created_at: float) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR IGNORE INTO tasks (token, kind, created_at) VALUES (?, ?, ?)",
                (token, kind.value, created_at),
            )

        await self._run(write)

    async def bind(self, token: str, task_id: str) -> Sequence[TaskEvent]:
        def write(db: sqlite3.Connection) -> Sequence[TaskEvent]:
            db.execute("UPDATE tasks SET task_id = ? WHERE token = ?", (task_id, token))
            stored = self._load(db, "token", token)
            return stored.events if stored is not None else ()

        return await self._run(write)

    async def forget(self, token: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM tasks WHERE token = ?", (token,))

        await self._run(write)

    async def add_event(self, token: str, event: TaskEvent, *, source: bytes | None = None) -> bool:
        """Store ``event`` (see :class:`TaskStore`); ``source``, the callback body it came in,
        is stored as received in its place, and the event is read back from it."""
        if self._executor is None:
            raise RuntimeError("the SQLiteStore is not open")
        # The body received is kept as it is (a BLOB) rather than the event encoded anew (TEXT,
        # JSON): encoding is the costliest step of a callback's path.
        if source is None:
            body: str | bytes = json.dumps(event_to_json(event), separators=(",", ":"))
        else:
            body = source
        added: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append(_Write(token, event.stage.value, body, event.is_final, added))
        if self._flushing is None:
            self._flush()
        return await added

    def _flush(self) -> None:
        """Commit everything queued in one transaction, on the database thread."""
        # A caller cancelled while queued writes nothing, as its own executor job would not.
        batch = [w for w in self._queue if not w.added.done()]
        self._queue = []
        self._flushing = None
        if not batch:
            return
        if self._executor is None:  # closed while these were queued
            for w in batch:
                w.added.set_exception(RuntimeError("the SQLiteStore is not open"))
            return
        rows = [(w.token, w.stage, w.body, w.final) for w in batch]  # no futures off the loop
        job = asyncio.get_running_loop().run_in_executor(self._executor, lambda: self._commit(rows))
        job.add_done_callback(lambda done: self._flushed(batch, done))
        self._flushing = job

    def _flushed(
        self, batch: list[_Write], job: asyncio.Future[Sequence[bool | Exception]]
    ) -> None:
        if job.cancelled():  # nobody cancels the job; if it ever is, nobody must hang
            for w in batch:
                w.added.cancel()
        elif (error := job.exception()) is not None:
            for w in batch:
                if not w.added.done():
                    w.added.set_exception(error)
        else:
            for w, outcome in zip(batch, job.result(), strict=True):
                if w.added.done():
                    continue
                if isinstance(outcome, Exception):
                    w.added.set_exception(outcome)
                else:
                    w.added.set_result(outcome)
        self._flush()  # what was queued meanwhile

    def _commit(self, rows: list[_Row]) -> Sequence[bool | Exception]:
        try:
            try:
                return self._transaction(rows, _INSERTED_AT_ONCE)
            except _Mixed:
                # Some rows were refused and some not: which ones, one statement a row tells.
                return self._transaction(rows, 1)
        except sqlite3.Error:
            if len(rows) == 1:
                raise
        # One bad row must not fail the others: each again in its own transaction.
        outcomes: list[bool | Exception] = []
        for row in rows:
            try:
                outcomes.extend(self._transaction([row], 1))
            except sqlite3.Error as exc:
                outcomes.append(exc)
        return outcomes

    def _transaction(self, rows: list[_Row], at_once: int) -> list[bool]:
        """Store ``rows`` in one transaction, ``at_once`` rows a statement; raises ``_Mixed``
        (having rolled back) if a statement of several rows stored some and refused others."""
        db = self._db
        assert db is not None
        try:
            db.execute("BEGIN IMMEDIATE")
            added = self._insert(db, rows, at_once)
            # The tasks that reached their end, marked in one statement a batch rather than one
            # a row: every statement gives the interpreter lock back to the event loop.
            ended = [row[0] for row, new in zip(rows, added, strict=True) if new and row[3]]
            now = time.time()
            for at in range(0, len(ended), _MARKED_AT_ONCE):
                chunk = ended[at : at + _MARKED_AT_ONCE]
                db.execute(
                    "UPDATE tasks SET finished = 1, finished_at = ? "
                    f"WHERE token IN ({', '.join('?' * len(chunk))})",
                    (now, *chunk),
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # some errors (disk full, I/O) have rolled back already
                db.execute("ROLLBACK")
            raise
        return added

    @staticmethod
    def _insert(db: sqlite3.Connection, rows: list[_Row], at_once: int) -> list[bool]:
        """Insert the events of ``rows`` in order, inside the caller's transaction; whether
        each was new (its task known, its stage not stored yet)."""
        added: list[bool] = []
        for at in range(0, len(rows), at_once):
            chunk = rows[at : at + at_once]
            # The seq of an event counts the events stored for its token before it; the rows of
            # one statement all see the table as it was, so each adds the rows of its token
            # that precede it here. Many rows in one statement: each statement gives the
            # interpreter lock back to the event loop and waits to take it again.
            params: list[str | bytes | int] = []
            before: dict[str, int] = {}
            for token, stage, body, _ in chunk:
                earlier = before.get(token, 0)
                before[token] = earlier + 1
                params += (token, stage, earlier, body)
            values = ", ".join(("(?, ?, ?, ?)",) * len(chunk))
            cur = db.execute(_INSERT_HEAD + values + _INSERT_TAIL, params)
            if cur.rowcount == len(chunk):
                added += (True,) * len(chunk)
            elif cur.rowcount == 0:
                added += (False,) * len(chunk)
            else:
                raise _Mixed
        return added

    @staticmethod
    def _load(db: sqlite3.Connection, where: str, key: str) -> StoredTask | None:
        row = db.execute(
            f"SELECT token, kind, task_id, created_at FROM tasks WHERE {where} = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        bodies = db.execute(
            "SELECT body FROM events WHERE token = ? ORDER BY seq", (row[0],)
        ).fetchall()
        kind = TaskKind(row[1])
        # A BLOB is a callback body as received; TEXT, an event as JSON.
        events = tuple(
            event_from_callback(kind, b) if isinstance(b, bytes) else event_from_json(json.loads(b))
            for (b,) in bodies
        )
        return StoredTask(row[0], kind, row[2], row[3], events)

    async def load_token(self, token: str) -> StoredTask | None:
        return await self._run(lambda db: self._load(db, "token", token))

    async def load_task(self, task_id: str) -> StoredTask | None:
        return await self._run(lambda db: self._load(db, "task_id", task_id))

    async def pending(self) -> list[StoredTask]:
        def read(db: sqlite3.Connection) -> list[StoredTask]:
            tokens = db.execute(
                "SELECT token FROM tasks WHERE finished = 0 AND task_id IS NOT NULL "
                "ORDER BY created_at"
            ).fetchall()
            found = (self._load(db, "token", t) for (t,) in tokens)
            return [t for t in found if t is not None]

        return await self._run(read)

    async def listen(self, on_event: EventHandler, on_resync: ResyncHandler) -> None:
        return None  # one worker per file: nobody else stores events for our tokens

    async def prune(self, *, finished_before: float, unfinished_before: float) -> int:
        def write(db: sqlite3.Connection) -> int:
            cur = db.execute(
                "DELETE FROM tasks WHERE (finished = 1 AND finished_at < ?) "
                "OR (finished = 0 AND created_at < ?)",
                (finished_before, unfinished_before),
            )
            return cur.rowcount

        return await self._run(write)
