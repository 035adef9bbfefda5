"""Where the client keeps what it knows about its tasks.

- :class:`MemoryStore` (default): the process's own memory; lost on exit.
- :class:`SQLiteStore`: a SQLite file; a restarted worker takes over its tasks.

Any object with the methods of :class:`TaskStore` can be passed as ``AnyIntMusic(store=...)``.
"""

from ._base import StoredTask, TaskStore
from ._memory import MemoryStore
from ._sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "StoredTask", "TaskStore"]
