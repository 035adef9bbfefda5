"""The default store: nothing beyond the process's own memory."""

from __future__ import annotations

from collections.abc import Sequence

from .._models import TaskEvent, TaskKind
from ._base import EventHandler, ResyncHandler, StoredTask


class MemoryStore:
    """Keeps nothing beyond the client's own memory, where tokens, waiters and results already
    live; they are lost with the process. Use :class:`SQLiteStore` to survive restarts."""

    owner_id: str | None = None

    def __repr__(self) -> str:
        return "MemoryStore()"

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def save_token(self, token: str, kind: TaskKind, created_at: float) -> None:
        return None

    async def bind(self, token: str, task_id: str) -> Sequence[TaskEvent]:
        return ()

    async def forget(self, token: str) -> None:
        return None

    async def add_event(self, token: str, event: TaskEvent) -> bool:
        return True

    async def load_token(self, token: str) -> StoredTask | None:
        return None

    async def load_task(self, task_id: str) -> StoredTask | None:
        return None

    async def pending(self) -> list[StoredTask]:
        return []

    async def prune(self, *, finished_before: float, unfinished_before: float) -> int:
        return 0

    async def listen(self, on_event: EventHandler, on_resync: ResyncHandler) -> None:
        return None
