"""What the remote sources hand to `digest.sync`: parts to ingest, each with the cursor to store
once its messages are committed.

A remote archive is synced part by part (a pipermail month, a HyperKitty date window, one mbox
file). Committing a part's messages and only then its cursor is what makes a sync killed at any
point resume without loss and without duplicates.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from ..config import ListSource
from ..errors import ConfigError
from ..model import Defect, SourceHints

Item = tuple[bytes, SourceHints] | Defect


@dataclass(frozen=True)
class Part:
    """One unit of a remote archive, ready to ingest.

    `items` is called once, lazily, so reading the cached file happens while ingesting.
    `cursor` is None when this part must not move the cursor (a failed month, a broken range).
    """

    label: str                                  # "2021-June", "2021-06-01..2021-07-01"
    source: str                                 # URL, for ingest's summary and defects
    items: Callable[[], Iterable[Item]]
    cursor: str | None = None


@dataclass
class Tally:
    """What a source did on the network during one sync, for the summary line."""

    unit: str                                   # "month", "window", "file"
    checked: int = 0                            # parts asked of the server
    downloaded: int = 0                         # parts that came back changed
    defects: list[Defect] = field(default_factory=list)


def read_cached(path: Path, url: str, list_name: str | None,
                annotate: Callable[[bytes, SourceHints], SourceHints] | None = None
                ) -> Iterator[Item]:
    """The raw messages of a cached archive file, labelled with the URL it came from.

    An empty file is a quiet month or window, not a defect in anybody's mail: it yields nothing.
    """
    from .local import read_path

    for item in read_path(path, list_name=list_name):
        if isinstance(item, Defect):
            if item.kind != "empty":
                yield replace(item, source=url)
            continue
        raw, hints = item
        hints = replace(hints, source=url, list_name=hints.list_name or list_name)
        if annotate is not None:
            hints = annotate(raw, hints)
        yield raw, hints


def mbox_parts(client, source: ListSource, cache: Path, cursor: str | None,
               tally: Tally) -> Iterator[Part]:
    """One mbox(.gz) URL (kind "mbox-url"): downloaded when changed, ingested when not yet
    ingested as it is; the cursor is the file's hash. `client` None means offline."""
    from urllib.parse import urlsplit

    from .http import read_meta

    name = urlsplit(source.url).path.rsplit("/", 1)[-1] or "archive.mbox"
    path = cache / name
    if client is not None:
        tally.checked += 1
        got = client.download(source.url, path)
        tally.downloaded += int(got.changed)
        sha = got.sha256
    else:
        if not path.is_file():
            return
        sha = read_meta(path).get("sha256") or ""
    if client is not None and sha == cursor:
        return
    yield Part(name, source.url, lambda: read_cached(path, source.url, source.name), cursor=sha)


def parse_since(source: ListSource) -> date | None:
    """The configured first day of a list (`since`), or None; a bad date is a ConfigError."""
    if not source.since:
        return None
    try:
        return date.fromisoformat(source.since)
    except ValueError:
        raise ConfigError(f"lists[{source.name}].since {source.since!r} is not a date "
                          f"(YYYY-MM-DD)") from None


def json_cursor(value: str | None) -> dict:
    """A stored cursor read as a JSON object; none, or one that is not a JSON object, is {}."""
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
