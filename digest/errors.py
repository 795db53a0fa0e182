"""The project's own few exception types; the CLI turns each into a one-line message.

Every message names what is at fault (a file, a message, a query, a config key), so that
`str(error)` alone is a useful line for a user.
"""
from __future__ import annotations


class DigestError(Exception):
    """Base of every error the CLI reports as one line (exit status 1)."""


class InputError(DigestError):
    """A file, archive or message could not be read at all."""


class ConfigError(DigestError):
    """The configuration is missing, malformed or contradictory."""


class StoreError(DigestError):
    """The store cannot be opened, migrated or written."""


class QueryError(DigestError):
    """A search query is malformed (never a database error leaking through)."""


class FetchError(DigestError):
    """A remote archive could not be fetched after retries."""


class DeliveryError(DigestError):
    """A digest could not be delivered."""
