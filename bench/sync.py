#!/usr/bin/env python3
"""How fast `digest sync` goes against a local mirror, and how many requests it needs.

Serves an invented pipermail archive and the same mail as a HyperKitty list on 127.0.0.1 (the
tests' real HTTP server), syncs each into a fresh SQLite store twice (first sync, then a sync with
nothing new) and prints wall time, requests and messages per second. The politeness limit is
lifted (1000 requests/s) so the figures are the client's own; at the default 1 request/s a sync
takes at least as many seconds as it sends requests, which is why the request counts matter.

    .venv/bin/python bench/sync.py [MONTHS] [MESSAGES_PER_MONTH]
"""
from __future__ import annotations

import gzip
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from localweb import LocalWeb  # noqa: E402
from mailman_sites import HyperKittySite, mail  # noqa: E402

from digest.config import HttpSettings, ListSource, Settings  # noqa: E402
from digest.ingest import ingest_paths  # noqa: E402
from digest.sources.http import HttpClient  # noqa: E402
from digest.store import open_store  # noqa: E402
from digest.sync import sync  # noqa: E402


def pipermail_text(mails) -> bytes:
    out = []
    for m in mails:
        who = m.sender.replace("@", " at ")
        out.append(f"From {who}  {m.when.strftime('%a %b %d %H:%M:%S %Y')}\n"
                   f"From: {who} ({m.name})\nDate: {m.when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\n"
                   f"Subject: {m.subject}\nMessage-ID: <{m.message_id}>\n\n{m.body}\n\n")
    return "".join(out).encode()


def main() -> None:
    months = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    per_month = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    first = date(2019, 1, 1)
    today = date(first.year + (months - 1) // 12, (months - 1) % 12 + 1, 28)
    with LocalWeb() as web, tempfile.TemporaryDirectory() as tmp:
        site = HyperKittySite(web)
        rows = []
        n = 0
        for i in range(months):
            y, mo = first.year + i // 12, i % 12 + 1
            batch = []
            for k in range(per_month):
                n += 1
                when = datetime(y, mo, 1, tzinfo=timezone.utc) + timedelta(
                    minutes=k * (38000 // per_month))
                batch.append(mail(n, when))
            site.mails.extend(batch)
            name = datetime(y, mo, 1).strftime("%Y-%B")
            body = gzip.compress(pipermail_text(batch), mtime=0)
            web.file(f"/pipermail/bench/{name}.txt.gz", body, etag=f'"{name}-{len(body)}"')
            rows.append(f'<tr><td><A href="{name}.txt.gz">[ Gzip\'d Text ]</a></td></tr>')
        web.file("/pipermail/bench/", ("<table>" + "".join(reversed(rows)) + "</table>").encode())
        sources = {
            "pipermail": ListSource("bench", "pipermail", web.url + "/pipermail/bench/"),
            "hyperkitty": ListSource("bench", "hyperkitty", site.url, first.isoformat()),
        }
        print(f"archive: {months} months x {per_month} messages = {n} messages")
        for kind, src in sources.items():
            settings = Settings(store=f"{tmp}/{kind}.sqlite3",
                                http=HttpSettings(contact="bench@example.org",
                                                  requests_per_second=1000.0,
                                                  cache_dir=f"{tmp}/cache-{kind}"),
                                lists=(src,))
            with open_store(settings.store) as store:
                for run in ("first sync", "second sync"):
                    client = HttpClient(settings.http)
                    started = time.perf_counter()
                    [summary] = sync(settings, store, client=client, today=today)
                    seconds = time.perf_counter() - started
                    client.close()
                    rate = summary.messages / seconds if seconds else 0.0
                    print(f"{kind:10} {run:11}: {seconds:6.2f} s, {client.requests:3d} requests, "
                          f"{summary.messages:5d} messages read ({rate:7.0f}/s); {summary.line()}")
            # the same cached files through `digest ingest`: what sync adds to plain ingest
            files = sorted(p for p in Path(f"{tmp}/cache-{kind}").rglob("*")
                           if p.is_file() and not p.name.endswith(".meta.json"))
            with open_store(f"{tmp}/{kind}-local.sqlite3") as local:
                started = time.perf_counter()
                done = ingest_paths(files, local, list_name="bench")
                seconds = time.perf_counter() - started
            print(f"{kind:10} baseline   : {seconds:6.2f} s for `digest ingest` of the same "
                  f"{len(files)} cached files ({done.messages / seconds:7.0f} messages/s)")


if __name__ == "__main__":
    main()
