"""The only HTTP client of the project: polite, patient, and careful with what it writes to disk.

Wikimedia's User-Agent policy wants a contact in every request, its servers want at most a
request a second, and real archive servers stall, rate-limit, fail with 5xx and cut gzip files
short. Everything that copes with that lives here, so the sources only say *what* to fetch.
"""
from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import os
import random
import time
import zlib
from contextlib import closing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import __version__
from ..config import HttpSettings
from ..errors import ConfigError, FetchError

GZIP_MAGIC = b"\x1f\x8b"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
META_SUFFIX = ".meta.json"


class HttpStatusError(FetchError):
    """The server answered with a final error status (404, 403, ...): not worth a retry."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"{url}: HTTP {status}")
        self.url, self.status = url, status


class BadAnswerError(FetchError):
    """The server answered, but not with what was asked for (not JSON, wrong shape)."""


class _Retryable(Exception):
    """A failure worth another attempt; `wait` is the server's Retry-After, when it gave one."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


@dataclass(frozen=True)
class Download:
    """What `HttpClient.download` left in the cache: a verified file, new or unchanged."""

    url: str
    path: Path
    changed: bool          # False when the server answered 304 Not Modified
    size: int              # bytes on disk (as sent, still compressed when gzip)
    sha256: str            # of the file on disk: the cursor compares it to what was ingested
    gzipped: bool
    etag: str | None = None
    last_modified: str | None = None


def user_agent(contact: str) -> str:
    """`digest/<version> (<contact>) httpx/<version>`, as Wikimedia's policy asks."""
    return f"digest/{__version__} ({contact}) httpx/{httpx.__version__}"


def read_meta(path: Path) -> dict[str, Any]:
    """The sidecar of a cached file (validators, hash); empty when absent or unreadable."""
    try:
        data = json.loads(Path(str(path) + META_SUFFIX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def check_gzip(path: Path, *, max_bytes: int, max_ratio: float, ratio_floor: int,
               source: str) -> int:
    """Decompress `path` fully without keeping it; the decompressed size.

    A truncated or corrupt stream raises _Retryable (a new download may succeed); a stream that
    inflates past `max_bytes`, or past `max_ratio` times its compressed size once above
    `ratio_floor`, is a gzip bomb and raises FetchError at once.
    """
    compressed = max(path.stat().st_size, 1)
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                total += len(chunk)
                if total > max_bytes or (total > ratio_floor and total / compressed > max_ratio):
                    raise FetchError(f"{source}: refused: gzip inflates past "
                                     f"{total} bytes from {compressed} (gzip bomb guard)")
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise _Retryable(f"truncated or corrupt gzip ({exc})") from None
    return total


class HttpClient:
    """One client for every remote source: rate limit per host, retries, conditional GET.

    `clock`, `sleep`, `now` and `rng` are injectable so tests run at full speed and can see
    every wait the client decided on.
    """

    def __init__(self, settings: HttpSettings, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 rng: Callable[[], float] = random.random,
                 backoff_base: float = 1.0,
                 max_backoff: float = 120.0,
                 max_retry_after: float = 900.0,
                 max_gzip_ratio: float = 200.0,
                 gzip_ratio_floor: int = 8 << 20) -> None:
        contact = settings.contact.strip()
        if not contact:
            raise ConfigError("http.contact is not set: Wikimedia's User-Agent policy requires "
                              "a contact (an e-mail address or URL) before any remote request")
        if not all(32 <= ord(c) < 127 for c in contact):
            raise ConfigError(f"http.contact {contact!r} must be plain ASCII text on one line "
                              f"(it goes into the User-Agent header)")
        if settings.requests_per_second <= 0:
            raise ConfigError("http.requests_per_second must be greater than 0")
        self.settings = settings
        self.user_agent = user_agent(contact)
        self.max_bytes = int(settings.max_download_mb * 1024 * 1024)
        self.max_gzip_ratio = max_gzip_ratio
        self.gzip_ratio_floor = gzip_ratio_floor
        self._clock, self._sleep, self._now, self._rng = clock, sleep, now, rng
        self._backoff_base, self._max_backoff = backoff_base, max_backoff
        self._max_retry_after = max_retry_after
        self._interval = 1.0 / settings.requests_per_second
        self._next_slot: dict[str, float] = {}
        self.requests = 0      # requests sent, for summaries and benchmarks
        self._client = httpx.Client(
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "identity"},
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=True)

    # --- public -------------------------------------------------------------------------

    def get_text(self, url: str, params: Mapping[str, Any] | None = None) -> str:
        """A small document (index page, JSON), decoded; size-limited like any download."""
        body, encoding = self._with_retries(url, lambda: self._fetch_small(url, params))
        return body.decode(encoding or "utf-8", errors="replace")

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        text = self.get_text(url, params)
        try:
            return json.loads(text)
        except ValueError:
            raise BadAnswerError(f"{url}: the answer is not JSON") from None

    def download(self, url: str, dest: Path, *, conditional: bool = True) -> Download:
        """Fetch `url` into `dest` atomically; a 304 leaves the cached copy in place.

        The body goes to a temporary file beside `dest`, is checked (size; gzip fully
        decompressible and no bomb), then renamed over `dest`; validators and the hash go to a
        sidecar `dest.meta.json`. A truncated body is retried, never left behind as `dest`.
        """
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FetchError(f"{url}: cannot create the cache folder {dest.parent}: "
                             f"{exc.strerror or exc}") from None
        meta = read_meta(dest) if conditional and dest.is_file() else {}
        headers: dict[str, str] = {}
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
        try:
            return self._with_retries(url, lambda: self._fetch_file(url, dest, headers, meta))
        except OSError as exc:   # the cache, not the network: disk full, permissions
            raise FetchError(f"{url}: cannot write {dest}: {exc.strerror or exc}") from None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------

    def _with_retries(self, url: str, attempt: Callable[[], Any]) -> Any:
        tries = max(0, self.settings.retries) + 1
        for n in range(tries):
            try:
                return attempt()
            except _Retryable as exc:
                if n == tries - 1:
                    raise FetchError(f"{url}: {exc} (gave up after {tries} attempts)") from None
                if exc.wait is not None:
                    if exc.wait > self._max_retry_after:
                        raise FetchError(f"{url}: {exc}; the server asks to wait "
                                         f"{exc.wait:.0f} s, more than "
                                         f"{self._max_retry_after:.0f} s") from None
                    delay = exc.wait
                else:
                    delay = min(self._max_backoff, self._backoff_base * 2 ** n)
                    delay *= 0.5 + self._rng()   # jitter: 50%..150%
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _wait_turn(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        now = self._clock()
        slot = self._next_slot.get(host, now)
        if slot > now:
            self._sleep(slot - now)
            now = slot
        self._next_slot[host] = now + self._interval
        self.requests += 1

    def _open(self, url: str, params: Mapping[str, Any] | None,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        self._wait_turn(url)
        request = self._client.build_request("GET", url, params=params, headers=headers)
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__}: {exc})") from None
        if response.status_code in RETRY_STATUSES:
            response.close()
            wait = None
            if response.status_code in (429, 503):
                wait = parse_retry_after(response.headers.get("Retry-After"), self._now())
            raise _Retryable(f"HTTP {response.status_code}", wait)
        if response.status_code >= 400:
            response.close()
            raise HttpStatusError(url, response.status_code)
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            response.close()
            raise FetchError(f"{url}: refused: {length} bytes is more than the limit of "
                             f"{self.max_bytes} (http.max_download_mb)")
        return response

    def _chunks(self, url: str, response: httpx.Response):
        """The body as sent on the wire, with the size limit and read errors handled."""
        total = 0
        try:
            for chunk in response.iter_raw():
                total += len(chunk)
                if total > self.max_bytes:
                    raise FetchError(f"{url}: refused: more than {self.max_bytes} bytes "
                                     f"(http.max_download_mb)")
                yield chunk
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out while reading ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection broken while reading ({type(exc).__name__})") from None

    def _fetch_small(self, url: str, params: Mapping[str, Any] | None) -> tuple[bytes, str | None]:
        response = self._open(url, params)
        with closing(response):
            body = b"".join(self._chunks(url, response))
            _check_length(response, len(body))
            encoding = response.charset_encoding
        if body[:2] == GZIP_MAGIC:
            body = self._gunzip_small(url, body)
        return body, encoding

    def _gunzip_small(self, url: str, body: bytes) -> bytes:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(body, self.max_bytes + 1)
        except zlib.error as exc:
            raise _Retryable(f"corrupt gzip ({exc})") from None
        if len(out) > self.max_bytes or d.unconsumed_tail:
            raise FetchError(f"{url}: refused: gzip inflates past {self.max_bytes} bytes")
        if not d.eof:
            raise _Retryable("truncated gzip")
        return out

    def _fetch_file(self, url: str, dest: Path, headers: Mapping[str, str],
                    meta: Mapping[str, Any]) -> Download:
        response = self._open(url, None, headers)
        with closing(response):
            if response.status_code == 304 and dest.is_file():
                return Download(url=url, path=dest, changed=False, size=dest.stat().st_size,
                                sha256=meta.get("sha256") or _sha256(dest),
                                gzipped=bool(meta.get("gzipped")),
                                etag=meta.get("etag"), last_modified=meta.get("last_modified"))
            if response.status_code != 200:
                raise FetchError(f"{url}: unexpected HTTP {response.status_code}")
            tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
            digest = hashlib.sha256()
            size = 0
            try:
                with open(tmp, "wb") as fh:
                    for chunk in self._chunks(url, response):
                        fh.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
                _check_length(response, size)
                with open(tmp, "rb") as fh:
                    gzipped = fh.read(2) == GZIP_MAGIC
                if gzipped:
                    check_gzip(tmp, max_bytes=self.max_bytes * 10, max_ratio=self.max_gzip_ratio,
                               ratio_floor=self.gzip_ratio_floor, source=url)
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
            result = Download(url=url, path=dest, changed=True, size=size,
                              sha256=digest.hexdigest(), gzipped=gzipped,
                              etag=response.headers.get("ETag"),
                              last_modified=response.headers.get("Last-Modified"))
        _write_meta(result)
        return result


def _check_length(response: httpx.Response, received: int) -> None:
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) != received:
        raise _Retryable(f"short body: {received} of {length} bytes")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_meta(result: Download) -> None:
    """Write the sidecar atomically, after the file itself, so it never vouches for a file
    that is not there."""
    meta = {"url": result.url, "etag": result.etag, "last_modified": result.last_modified,
            "sha256": result.sha256, "size": result.size, "gzipped": result.gzipped,
            "fetched": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    target = Path(str(result.path) + META_SUFFIX)
    tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
    tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    os.replace(tmp, target)
