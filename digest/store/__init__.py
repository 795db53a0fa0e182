"""Stores: `open_store(url)` picks the backend from the URL (a path means SQLite)."""
from __future__ import annotations

from .base import Store


def open_store(url: str) -> Store:
    """Open (creating and migrating as needed) the store named by `url`."""
    if url.startswith(("postgresql://", "postgres://")):
        from ..errors import StoreError

        raise StoreError(f"{url}: the PostgreSQL store is not built yet; use a SQLite path")
    from .sqlite import SQLiteStore

    return SQLiteStore(url)


__all__ = ["Store", "open_store"]
