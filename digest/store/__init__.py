"""Stores: `open_store(url)` picks the backend from the URL (a path means SQLite)."""
from __future__ import annotations

from .base import Store


def open_store(url: str, *, create: bool = True) -> Store:
    """Open (migrating as needed) the store named by `url`; without `create`, a store that
    does not exist yet is an error rather than a new empty one."""
    if url.startswith(("postgresql://", "postgres://")):
        from ..errors import StoreError

        raise StoreError(f"{url}: the PostgreSQL store is not built yet; use a SQLite path")
    from .sqlite import SQLiteStore

    return SQLiteStore(url, create=create)


__all__ = ["Store", "open_store"]
