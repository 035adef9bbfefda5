"""Where the client keeps what it knows about its tasks.

- :class:`MemoryStore` (default): the process's own memory; lost on exit.
- :class:`SQLiteStore`: a SQLite file; a restarted worker takes over its tasks.
- :class:`RedisStore`: Redis shared by several workers behind one load balancer
  (``pip install 'anyint-music[redis]'``).

Any object with the methods of :class:`TaskStore` can be passed as ``AnyIntMusic(store=...)``.
One whose ``add_event`` also takes a keyword ``source`` (with a default) is given the callback
body each event came in, and can keep it and read the event back with
:func:`event_from_callback`.
"""

from typing import TYPE_CHECKING, Any

from ._base import StoredTask, TaskStore, event_from_callback
from ._memory import MemoryStore
from ._sqlite import SQLiteStore

if TYPE_CHECKING:
    from ._redis import RedisStore

__all__ = [
    "MemoryStore",
    "RedisStore",
    "SQLiteStore",
    "StoredTask",
    "TaskStore",
    "event_from_callback",
]


def __getattr__(name: str) -> Any:
    # RedisStore needs the optional redis package: import it only when asked for.
    if name == "RedisStore":
        from ._redis import RedisStore

        return RedisStore
    raise AttributeError(f"module 'anyint_music.stores' has no attribute {name!r}")
