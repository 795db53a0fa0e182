"""The pipeline: raw messages -> parse -> links -> classify -> store, in batches, on every core.

Worker processes run the pure stages on chunks of raw messages while this process reads the
sources and writes batches to the store, one transaction each. Chunks stay in order, so the
store ends the same whichever way the work was split, and queues are bounded, so memory does
not grow with the archive. One bad message becomes a Defect; it never stops an ingest.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any

from .classify import classify, load_rules
from .errors import DigestError
from .links import extract_links
from .model import Defect, SourceHints
from .parse import parse_message
from .store.base import AddResult, Ingested, Store

CHUNK_MESSAGES = 32              # raw messages per task sent to a worker
CHUNK_BYTES = 4 * 1024 * 1024    # ... or fewer when they are large
BATCH_MESSAGES = 500             # messages per store transaction
PENDING_PER_WORKER = 4          # chunks in flight per worker: bounds memory

Item = tuple[bytes, SourceHints] | Defect
Progress = Callable[[int], Any]  # called with the number of messages done so far
Prepare = Callable[[Ingested], Any]  # a store's pure `prepare`: Ingested -> rows it writes
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*<?([^>\s]+)", re.IGNORECASE | re.MULTILINE)


@dataclass
class IngestSummary:
    """What an ingest did, added up over its batches."""

    messages: int = 0
    new: int = 0
    duplicates: int = 0
    merged: int = 0
    conflicts: int = 0
    defects: list[Defect] = field(default_factory=list)
    lists: set[str] = field(default_factory=set)
    seconds: float = 0.0
    files_failed: int = 0
    conflict_keys: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The one summary line the CLI prints. Merged copies are duplicates to a reader and
        conflicting copies are stored as new messages."""
        return (f"ingested {_count(self.messages, 'message')} ({self.new + self.conflicts} new, "
                f"{_count(self.duplicates + self.merged, 'duplicate')}, "
                f"{_count(len(self.defects), 'defect')}) "
                f"from {_count(len(self.lists), 'list')} in {self.seconds:.1f} s")

    def add(self, result: AddResult) -> None:
        self.new += result.new
        self.duplicates += result.duplicates
        self.merged += result.merged
        self.conflicts += result.conflicts
        self.conflict_keys.extend(result.conflict_keys)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- the pure stages ------------------------------------------------------------------------

def process_raw(raw: bytes, hints: SourceHints, rules: Any) -> Ingested:
    """parse -> links -> classify for one raw message."""
    message = parse_message(raw, hints)
    links = tuple(extract_links(message))
    return Ingested(message, links, classify(message, links, rules))


def default_rules(path: str | None = None, threshold: float | None = None) -> Any:
    """The classifier's rules: bundled, or from `path`."""
    return load_rules(path, threshold)


def _process_one(raw: bytes, hints: SourceHints, rules: Any) -> Ingested | Defect:
    try:
        return process_raw(raw, hints, rules)
    except Exception as exc:  # noqa: BLE001 - one bad message must never stop an ingest
        return _failure(raw, hints, "processing-error", f"{type(exc).__name__}: {exc}")


def _process_chunk(chunk: list[Item], rules: Any, prepare: Prepare | None = None) -> list[Any]:
    """A worker's task. Source defects ride along in the chunk so that they are recorded in
    the order they were found. With the store's `prepare`, results go back as its rows."""
    results = [item if isinstance(item, Defect) else _process_one(*item, rules)
               for item in chunk]
    if prepare is None:
        return results
    return [item if isinstance(item, Defect) else _prepare_one(item, prepare)
            for item in results]


def _prepare_one(item: Ingested, prepare: Prepare) -> Any:
    try:
        return prepare(item)
    except Exception:  # noqa: BLE001 - the store then prepares it itself, and says what fails
        return item


def _failure(raw: bytes, hints: SourceHints, kind: str, detail: str) -> Defect:
    found = _MESSAGE_ID.search(raw[:65536])
    message_id = found.group(1).decode("latin-1") if found else None
    return Defect(kind=kind, detail=detail[:500], source=hints.source, offset=hints.offset,
                  index=hints.index, message_id=message_id)


# --- the pipeline ---------------------------------------------------------------------------

def ingest_stream(items: Iterable[Item], store: Store, *, workers: int | None = None,
                  progress: Progress | None = None, source: str = "",
                  rules: Any = None) -> IngestSummary:
    """Ingest raw messages (and source defects) from any source into `store`."""
    summary = IngestSummary()
    _run(items, store, summary, workers=workers, progress=progress, source=source, rules=rules)
    return summary


def ingest_paths(paths: Sequence[str | os.PathLike[str]], store: Store, *,
                 list_name: str | None = None, workers: int | None = None,
                 progress: Progress | None = None, rules: Any = None) -> IngestSummary:
    """Ingest local archives; a path that cannot be read is a defect, the others go on."""
    from .sources.local import read_path

    summary = IngestSummary()

    def items() -> Iterator[Item]:
        for path in paths:
            try:
                yield from read_path(path, list_name)
            except (DigestError, OSError) as exc:
                summary.files_failed += 1
                detail = _one_line(exc).removeprefix(f"{os.fspath(path)}: ")
                yield Defect(kind="unreadable", detail=detail, source=os.fspath(path))

    _run(items(), store, summary, workers=workers, progress=progress, source="", rules=rules)
    return summary


def _run(items: Iterable[Item], store: Store, summary: IngestSummary, *, workers: int | None,
         progress: Progress | None, source: str, rules: Any) -> None:
    started = time.monotonic()
    if rules is None:
        rules = default_rules()
    with _Pipeline(store, summary, workers, progress, source, rules) as pipeline:
        for item in items:
            pipeline.feed(item)
    summary.seconds = time.monotonic() - started


class _Pipeline:
    """Chunks to workers in order, results to the store in batches."""

    def __init__(self, store: Store, summary: IngestSummary, workers: int | None,
                 progress: Progress | None, source: str, rules: Any) -> None:
        self.store, self.summary, self.progress = store, summary, progress
        self.source, self.rules = source, rules
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self.pool: ProcessPoolExecutor | None = None
        self.pending: deque[tuple[Future[list[Ingested | Defect]] | None, list[Item]]] = deque()
        self.chunk: list[Item] = []
        self.chunk_bytes = 0
        self.batch: list[Any] = []  # Ingested, or rows from the store's prepare
        self.batch_defects: list[Defect] = []
        self.done = 0
        self.writer = _Writer(store, summary)
        # a store that can take its rows ready-made has them made by the workers
        self.prepare: Prepare | None = getattr(store, "prepare", None)

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None:
                self._submit()
                while self.pending:
                    self._collect()
                self._flush()
        finally:
            try:
                self.writer.close()
            finally:
                if self.pool is not None:
                    self.pool.shutdown(wait=exc_type is None, cancel_futures=True)

    def feed(self, item: Item) -> None:
        if isinstance(item, Defect):
            if self.source and not item.source:
                item = replace(item, source=self.source)
            self.chunk.append(item)
        else:
            raw, hints = item
            if self.source and not hints.source:
                hints = replace(hints, source=self.source)
            self.chunk.append((raw, hints))
            self.chunk_bytes += len(raw)
        if len(self.chunk) >= CHUNK_MESSAGES or self.chunk_bytes >= CHUNK_BYTES:
            self._submit()

    def _submit(self) -> None:
        if not self.chunk:
            return
        chunk, self.chunk, self.chunk_bytes = self.chunk, [], 0
        if self.workers == 0:
            self.pending.append((None, chunk))
        else:
            self.pending.append((self._pool().submit(_process_chunk, chunk, self.rules,
                                                     self.prepare), chunk))
        while len(self.pending) > max(1, self.workers) * PENDING_PER_WORKER:
            self._collect()

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = ProcessPoolExecutor(self.workers,
                                            mp_context=multiprocessing.get_context(method))
        return self.pool

    def _collect(self) -> None:
        future, chunk = self.pending.popleft()
        if future is None:
            results = _process_chunk(chunk, self.rules, self.prepare)
        else:
            try:
                results = future.result()
            except BrokenProcessPool:
                results = self._rescue(chunk)
        for result in results:
            if isinstance(result, Defect):
                self._defect(result)
            else:
                self._message(result)
        self.done += sum(1 for item in chunk if not isinstance(item, Defect))
        if self.progress is not None:
            self.progress(self.done)

    def _rescue(self, chunk: list[Item]) -> list[Ingested | Defect]:
        """A worker died (a message crashed the interpreter or exhausted memory): redo the
        chunk one message at a time, so only the guilty message is lost, as a defect."""
        results: list[Ingested | Defect] = []
        for item in chunk:
            if isinstance(item, Defect):
                results.append(item)
                continue
            raw, hints = item
            self._restart_pool()
            try:
                results.extend(self._pool().submit(_process_chunk, [item], self.rules,
                                                   self.prepare).result())
            except BrokenProcessPool:
                results.append(_failure(raw, hints, "worker-crashed",
                                        "processing this message killed its worker process"))
                self._restart_pool()
        return results

    def _restart_pool(self) -> None:
        if self.pool is not None and getattr(self.pool, "_broken", False):
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None

    def _message(self, item: Any) -> None:
        """`item` is an Ingested, or what the store's `prepare` made of one (it has the
        message's `lists` and `defects` too)."""
        self.summary.messages += 1
        source = item.message if isinstance(item, Ingested) else item
        self.summary.lists.update(source.lists)
        for defect in source.defects:
            self._defect(defect)
        self.batch.append(item)
        if len(self.batch) >= BATCH_MESSAGES:
            self._flush()

    def _defect(self, defect: Defect) -> None:
        self.summary.defects.append(defect)
        self.batch_defects.append(defect)

    def _flush(self) -> None:
        if self.batch or self.batch_defects:
            self.writer.put(self.batch, self.batch_defects)
            self.batch, self.batch_defects = [], []


class _Writer:
    """Writes batches on a thread of its own: SQLite releases the GIL while it works, so
    reading the source and feeding the workers go on meanwhile. The queue is short, so a slow
    store holds the whole pipeline back rather than filling memory."""

    def __init__(self, store: Store, summary: IngestSummary) -> None:
        self.store, self.summary = store, summary
        self.queue: queue.Queue[tuple[list[Any], list[Defect]] | None] = queue.Queue(1)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="digest-ingest-writer",
                                       daemon=True)
        self.thread.start()

    def put(self, batch: list[Any], defects: list[Defect]) -> None:
        self._raise()
        self.queue.put((batch, defects))

    def close(self) -> None:
        """Wait for every queued batch to be written; raise what the writer met."""
        self.queue.put(None)
        self.thread.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _run(self) -> None:
        while (work := self.queue.get()) is not None:
            if self.error is not None:
                continue  # drain: nothing more is written after a failure
            batch, defects = work
            try:
                if batch:
                    self.summary.add(self.store.add(batch))
                if defects:
                    self.store.add_defects(defects)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self.error = exc


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


__all__ = ["IngestSummary", "default_rules", "ingest_paths", "ingest_stream", "process_raw"]

