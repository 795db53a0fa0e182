"""How fast a weekly digest is composed and rendered from a busy week in a real SQLite store.

Generates a week of invented messages (a share of them partnership announcements, some
cross-posted, each with a few links), stores them, then times `compose` and `render` for every
format, and checks the build is byte-identical when repeated. Prints figures; asserts nothing.

    .venv/bin/python bench/digest_build.py [--messages 2000] [--partnerships 100] [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from digest.compose import compose, entry_messages, parse_period  # noqa: E402
from digest.config import DigestSettings  # noqa: E402
from digest.model import Link, LinkKind, Message, Verdict  # noqa: E402
from digest.parse import message_id_hash  # noqa: E402
from digest.render import FORMATS, render  # noqa: E402
from digest.store import open_store  # noqa: E402
from digest.store.base import Ingested  # noqa: E402

MONDAY = datetime(2017, 5, 8, tzinfo=timezone.utc)


def week(messages: int, partnerships: int) -> list[Ingested]:
    """Invented messages spread over 2017-W19; every n-th is a partnership, every 4th of those
    is also posted separately to the other list."""
    items: list[Ingested] = []
    step = max(1, messages // max(1, partnerships))
    for i in range(messages):
        date = MONDAY + timedelta(seconds=(i * 604_000) // messages)
        is_partnership = i % step == 0 and i // step < partnerships
        lists = ("wikimediaannounce-l",) if i % 2 else ("wikimedia-l",)
        subject = f"Partnership {i} with the Example Organisation {i}" if is_partnership \
            else f"Discussion topic {i}"
        urls = [f"https://meta.wikimedia.org/wiki/Example_{i}_{k}" for k in range(3)] + \
            ["https://meta.wikimedia.org/wiki/Partnerships"]
        body = (f"Hi all,\n\nWe are glad to announce that the chapter and Example Organisation {i} "
                f"have signed an agreement [1] to release {i} photographs on Commons [2]. "
                "Volunteers will describe them on Wikidata and the organisation will host "
                f"workshops for its staff [3].\n\nMore at {urls[3]}\n\n"
                + "".join(f"[{k + 1}] {u}\n" for k, u in enumerate(urls[:3])))
        copies = [lists]
        if is_partnership and (i // step) % 4 == 0:
            copies.append(("wikimedia-l",) if lists == ("wikimediaannounce-l",)
                          else ("wikimediaannounce-l",))
        for c, copy_lists in enumerate(copies):
            mid = f"bench-{i}-{c}@example.org"
            msg = Message(key=mid, message_id=mid, msgid_hash=message_id_hash(mid), subject=subject,
                          subject_norm=subject, from_name=f"Sender {i % 50}",
                          from_addr=f"sender{i % 50}@example.org",
                          date=date + timedelta(hours=c), in_reply_to=None, references=(),
                          lists=copy_lists, text=body, new_text=body, quoted_text="",
                          signature="", footer="")
            links = tuple(Link(url=u, raw=u, display=u[8:], label=f"Page {k}",
                               ref=k + 1 if k < 3 else None, position=body.find(u),
                               kind=LinkKind.WIKI) for k, u in enumerate(urls))
            verdict = Verdict(is_partnership, 0.9 if is_partnership else 0.1,
                              partners=(f"Example Organisation {i}",) if is_partnership else ())
            items.append(Ingested(msg, links, verdict))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--partnerships", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = DigestSettings(also_on_lists=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "bench.sqlite3"))
        started = time.perf_counter()
        store.add(week(args.messages, args.partnerships))
        print(f"stored {args.messages} messages in {time.perf_counter() - started:.2f} s")
        period = parse_period("2017-W19", None, None, "UTC", store)
        timings: list[float] = []
        digest = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            digest = compose(store, period, settings)
            timings.append(time.perf_counter() - started)
        assert digest is not None
        print(f"compose: {len(digest.entries)} entries, {len(digest.references)} references, "
              f"{len(digest.also)} other threads; median {statistics.median(timings):.3f} s")
        messages = entry_messages(store, digest)
        for fmt in FORMATS:
            times: list[float] = []
            outputs = set()
            for _ in range(args.repeat):
                started = time.perf_counter()
                out = render(digest, fmt, settings=settings, messages=messages)
                times.append(time.perf_counter() - started)
                outputs.add(out if isinstance(out, bytes) else out.encode("utf-8"))
            size = len(next(iter(outputs)))
            print(f"render {fmt:<11} median {statistics.median(times) * 1000:7.1f} ms, "
                  f"{size / 1024:7.1f} KiB, identical across runs: {len(outputs) == 1}")
        store.close()


if __name__ == "__main__":
    main()
