"""digest: weekly partnership digests from the Wikimedia mailing lists."""

__version__ = "0.1.0"
