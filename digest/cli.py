"""`digest ...`: the command-line face. Thin: parse arguments, call the stages, print.

Stage modules are imported inside the command functions so that `digest --help` and
`digest search` start fast. Every DigestError becomes one line on stderr and exit status 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import DigestError

if TYPE_CHECKING:
    from .config import Settings
    from .store import Store


def _settings(args: argparse.Namespace) -> Settings:
    from .config import load_settings

    return load_settings(config=args.config, store=args.store)


def _rules(settings: Settings) -> Any:
    """The classification rules the configuration names (bundled, or its rules file)."""
    from .classify import load_rules

    return load_rules(settings.classify.rules or None, settings.classify.threshold)


def _open_store(url: str, *, create: bool = False) -> closing[Store]:
    """The store named by `url`, closed when the `with` block ends. Only commands that add
    mail create one (a SQLite path gets its folder created first); the others refuse a store
    that does not exist."""
    from .store import open_store

    return closing(open_store(_ingest_store_url(url) if create else url, create=create))


@contextmanager
def _progress(args: argparse.Namespace) -> Iterator[Callable[[int], None] | None]:
    """A running count of messages as a tqdm bar on a terminal (None elsewhere or with
    --no-progress), closed whatever happens."""
    if args.no_progress or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(unit=" messages", file=sys.stderr, dynamic_ncols=True, leave=False)
    try:
        yield lambda done: bar.update(max(0, done - bar.n))
    finally:
        bar.close()


def _print_json(obj: Any) -> None:
    """JSON output is one object per line (DESIGN.md)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=False, default=str) + "\n")


# --- commands -------------------------------------------------------------------------------

def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest local archives (format sniffed from content) into the store."""
    from .ingest import ingest_paths

    settings = _settings(args)
    rules = _rules(settings)
    with _open_store(settings.store, create=True) as store, _progress(args) as progress:
        summary = ingest_paths(args.paths, store, list_name=args.list_name,
                               workers=args.workers, rules=rules, progress=progress)
    shown = 20
    for defect in summary.defects[:shown]:
        print(f"digest: {defect}", file=sys.stderr)
    if len(summary.defects) > shown:
        print(f"digest: ... and {len(summary.defects) - shown} more (digest stats --defects)",
              file=sys.stderr)
    if summary.conflicts:
        print(f"digest: {summary.conflicts} messages share a Message-ID with a different stored "
              f"message; both kept (e.g. digest show '{summary.conflict_keys[0]}')",
              file=sys.stderr)
    print(summary.line())
    return 0 if summary.messages else 1


def _ingest_store_url(url: str) -> str:
    """A SQLite path gets its folder created, so a first ingest just works."""
    if "://" not in url or url.startswith("sqlite:///"):
        from pathlib import Path

        folder = Path(url.removeprefix("sqlite:///")).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DigestError(f"{folder}: cannot create the store's folder: "
                              f"{exc.strerror or exc}") from None
    return url


def cmd_stats(args: argparse.Namespace) -> int:
    """Counts by list and month; with --defects, every recorded defect."""
    with _open_store(_settings(args).store) as store:
        stats = store.stats()
        defects = store.defects() if args.defects else []
    if args.json:
        if args.defects:
            stats = {**stats, "defect_list": [
                {"line": str(d), "kind": d.kind, "detail": d.detail, "source": d.source,
                 "index": d.index, "offset": d.offset, "message_id": d.message_id}
                for d in defects]}
        _print_json(stats)
        return 0
    if args.defects:
        for defect in defects:
            print(defect)
        return 0
    print(_stats_table(stats))
    return 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _stats_table(stats: dict) -> str:
    """Totals, then per list one row per year with a column per month."""
    lines = [f"{_count(stats['messages'], 'message')} in {_count(stats['threads'], 'thread')}, "
             f"{_count(stats['links'], 'link')}, "
             f"{_count(stats['partnership'], 'partnership announcement')}, "
             f"{_count(stats['defects'], 'defect')}"
             + (f", {_count(stats['conflicts'], 'Message-ID conflict')}"
                if stats.get("conflicts") else "")]
    for name, entry in sorted(stats["lists"].items()):
        lines += ["", f"{name}: {_count(entry['messages'], 'message')} in "
                      f"{_count(entry['threads'], 'thread')}, "
                      f"{_count(entry.get('defects', 0), 'defect')}",
                  "  year " + "".join(f"{m:>6}" for m in _MONTHS) + "   total"]
        messages, undated = _by_year(entry["months"])
        defects, undated_defects = _by_year(entry.get("defect_months", {}))
        for year, counts in sorted(messages.items()):
            cells = "".join(f"{c or '.':>6}" for c in counts)
            lines.append(f"  {year}{cells}{sum(counts):>8}")
            if year in defects:  # the year's defects, under its messages
                cells = "".join(f"{c or '.':>6}" for c in defects[year])
                lines.append(f"  defects{cells[3:]}{sum(defects[year]):>8}")
        if undated:
            lines.append(f"  undated: {_count(undated, 'message')}"
                         + (f", {_count(undated_defects, 'defect')}" if undated_defects else ""))
    if stats.get("defects_unplaced"):
        lines += ["", f"{_count(stats['defects_unplaced'], 'defect')} of no stored message "
                      f"(a whole file, or a message that could not be stored): "
                      f"digest stats --defects"]
    return "\n".join(lines)


def _by_year(months: dict[str, int]) -> tuple[dict[str, list[int]], int]:
    """{YYYY-MM: n} as twelve counts per year, and the count of the undated."""
    years: dict[str, list[int]] = {}
    undated = 0
    for month, count in months.items():
        if len(month) == 7 and month[4] == "-":
            years.setdefault(month[:4], [0] * 12)[int(month[5:]) - 1] += count
        else:
            undated += count
    return years, undated


def cmd_show(args: argparse.Namespace) -> int:
    """One stored message with its parts, links and verdict."""
    from dataclasses import asdict

    with _open_store(_settings(args).store) as store:
        record = store.get(args.ident)
        thread_size = len(store.thread(record.thread_id)) if record else 0
    if record is None:
        raise DigestError(f"{args.ident}: no such message in the store (try a Message-ID, "
                          f"a Message-ID-Hash or an archive URL)")
    if args.json:
        _print_json({**asdict(record), "thread_size": thread_size})
    else:
        sys.stdout.write(_show_text(record, thread_size, args.full))
    return 0


def _show_text(record: Any, thread_size: int, full: bool) -> str:
    """A stored message as a reader wants it: headers, where it lives, its parts, links, verdict."""
    m = record.message
    out = [f"Message-ID:   <{m.message_id}>" if m.message_id else f"Key:          {m.key}",
           f"Hash:         {m.msgid_hash}",
           f"Subject:      {m.subject}",
           f"From:         {m.from_name} <{m.from_addr}>"
           + ("  (obfuscated in the archive)" if m.obfuscated else ""),
           f"Date:         {m.date.strftime('%Y-%m-%d %H:%M:%S UTC') if m.date else 'unknown'}",
           f"Lists:        {', '.join(m.lists) or '-'}"]
    if m.key != m.message_id:
        out.append(f"Stored as:    {m.key}")
    for n, url in enumerate(record.archive_urls):
        out.append(f"{'Archive:' if n == 0 else '':<14}{url}")
    if m.in_reply_to:
        out.append(f"In-Reply-To:  <{m.in_reply_to}>")
    if m.references:
        out.append(f"References:   {len(m.references)} messages")
    out.append(f"Thread:       {record.thread_id} ({thread_size} messages, "
               f"{record.replies} after this one)")
    for a in m.attachments:
        where = f" {a.url}" if a.url else ""
        out.append(f"Attachment:   {a.filename or '(unnamed)'} ({a.content_type}, "
                   f"{a.size} bytes){where}")
    for d in m.defects:
        out.append(f"Defect:       {d.kind}: {d.detail}")
    out += ["", m.new_text.rstrip(), ""]
    for name, text in (("quoted text", m.quoted_text), ("signature", m.signature),
                       ("footer", m.footer)):
        if not text:
            continue
        size = f"{len(text.splitlines())} lines, {len(text)} characters"
        if full or name == "signature":
            out += [f"--- {name} ({size}) ---", text.rstrip(), ""]
        else:
            out.append(f"--- {name}: {size} (--full shows it) ---")
    if m.html is not None:
        out.append(f"--- HTML part: {len(m.html)} characters ---")
    out.append("")
    out.append(f"Links ({len(record.links)}):" if record.links else "Links: none")
    for n, link in enumerate(record.links, 1):
        flags = [f for f, on in (("boilerplate", link.boilerplate), ("quoted", link.quoted),
                                 ("truncated", link.truncated)) if on]
        ref = f" [{link.ref}]" if link.ref is not None else ""
        label = f" \"{link.label}\"" if link.label else ""
        flag_text = f" ({', '.join(flags)})" if flags else ""
        out.append(f"  {n:>3}.{ref} {link.url}  {link.kind.value}{label}{flag_text}")
    verdict = record.verdict
    out.append("")
    if verdict is None:
        out.append("Verdict: none (not classified)")
    else:
        out.append(f"Verdict: {'partnership' if verdict.partnership else 'not a partnership'} "
                   f"(score {verdict.score:.2f}, rules {verdict.rules or 'unknown'})")
        out += [f"  {reason}" for reason in verdict.reasons]
        if verdict.partners:
            out.append(f"  partners: {', '.join(verdict.partners)}")
    return "\n".join(out) + "\n"


def cmd_links(args: argparse.Namespace) -> int:
    """Links of each message in an archive file, without storing."""
    from .links import extract_links
    from .model import Defect
    from .parse import parse_message
    from .sources.local import read_path

    for item in read_path(args.path):
        if isinstance(item, Defect):
            print(f"digest: warning: {item}", file=sys.stderr)
            continue
        message = parse_message(*item)
        links = extract_links(message)
        if args.json:
            _print_json({"message_id": message.message_id, "subject": message.subject,
                         "links": [{"url": lk.url, "display": lk.display, "label": lk.label,
                                    "ref": lk.ref, "kind": lk.kind.value,
                                    "boilerplate": lk.boilerplate, "quoted": lk.quoted,
                                    "truncated": lk.truncated} for lk in links]})
            continue
        print(message.subject or f"<{message.message_id or message.key}>")
        for n, lk in enumerate(links, 1):
            flags = [f for f, on in (("boilerplate", lk.boilerplate), ("quoted", lk.quoted),
                                     ("truncated", lk.truncated)) if on]
            ref = f"[{lk.ref}] " if lk.ref is not None else ""
            label = f" - {lk.label}" if lk.label else ""
            extra = f" ({', '.join(flags)})" if flags else ""
            print(f"  {n:>3}. {ref}{lk.url} [{lk.kind.value}]{label}{extra}")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """Partnership verdicts of each message in an archive file, without storing."""
    from .classify import explain_lines, verdict_json
    from .ingest import process_raw
    from .model import Defect
    from .sources.local import read_path

    settings = _settings(args)
    rules = _rules(settings)
    for item in read_path(args.path):
        if isinstance(item, Defect):
            print(f"digest: warning: {item}", file=sys.stderr)
            continue
        done = process_raw(*item, rules)
        message, verdict = done.message, done.verdict
        subject = message.subject or "(no subject)"
        if args.json:
            _print_json({"message_id": message.message_id or message.key, "subject": subject,
                         **verdict_json(verdict)})
            continue
        print(f"{verdict.score:.2f} {'yes' if verdict.partnership else 'no ':3} {subject}")
        if args.explain:
            for line in explain_lines(verdict):
                print(line)
            if verdict.partners:
                print(f"    partners: {', '.join(verdict.partners)}")
    return 0


def cmd_reclassify(args: argparse.Namespace) -> int:
    """Classify every stored message again with the current rules; list the verdicts that flip."""
    from .reclassify import reclassify

    settings = _settings(args)
    rules = _rules(settings)
    with _open_store(settings.store) as store, _progress(args) as progress:
        summary = reclassify(store, rules, everything=args.all, dry_run=args.dry_run,
                             progress=progress)
    for flip in summary.flips:
        if args.json:
            _print_json({"message_id": flip.key, "subject": flip.subject, "date": flip.date,
                         "partnership": flip.after.partnership,
                         "score_before": flip.before.score if flip.before else None,
                         "score": flip.after.score})
        else:
            print(flip.line())
    print(summary.line(), file=sys.stderr if args.json else sys.stdout)
    return 0


def _templates_dir(args: argparse.Namespace, settings: Settings) -> str | None:
    """--templates, else the config's digest.templates (relative to the config file)."""
    if args.templates:
        return str(args.templates)
    if not settings.digest.templates:
        return None
    from pathlib import Path

    base = Path(settings.config_path).parent if settings.config_path else Path()
    return str(base / settings.digest.templates)


def cmd_build(args: argparse.Namespace) -> int:
    """Build one period's digest in one format."""
    from pathlib import Path

    from .compose import compose, entry_messages, parse_period
    from .render import render

    settings = _settings(args)
    templates = _templates_dir(args, settings)
    with _open_store(settings.store) as store:
        period = parse_period(args.week, args.date_from, args.date_to, settings.digest.timezone,
                              store, lists=settings.digest.lists)
        digest = compose(store, period, settings.digest)
        _warn_stale_verdicts(store, settings)
        messages = entry_messages(store, digest) if args.format == "mime-digest" else None
    out = render(digest, args.format, settings=settings.digest, templates_dir=templates,
                 messages=messages)
    data = out if isinstance(out, bytes) else out.encode("utf-8")
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            raise DigestError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def _warn_stale_verdicts(store: Store, settings: Settings) -> None:
    """A digest picks announcements by their stored verdicts: say so when the rules in use now
    did not make them all (the rules file changed, or digest was upgraded)."""
    rules = _rules(settings)
    stale = store.stale_verdicts(rules.fingerprint)
    if stale:
        print(f"digest: warning: {stale} stored verdicts were made by other classification "
              f"rules than the current ones; run `digest reclassify` to bring them up to date",
              file=sys.stderr)


def cmd_send(args: argparse.Namespace) -> int:
    """Build and deliver a period's digest to the configured recipients, exactly once."""
    from email import message_from_bytes, policy

    from .compose import compose, parse_period
    from .deliver import send
    from .errors import DeliveryError

    settings = _settings(args)
    templates = _templates_dir(args, settings)
    with _open_store(settings.store) as store:
        period = parse_period(args.week, getattr(args, "date_from", None),
                              getattr(args, "date_to", None), settings.digest.timezone, store,
                              lists=settings.digest.lists)
        digest = compose(store, period, settings.digest)
        _warn_stale_verdicts(store, settings)
        report = send(digest, store, settings, dry_run=args.dry_run, templates_dir=templates,
                      on_result=lambda rcpt, outcome: print(f"{rcpt}: {outcome}",
                                                            file=sys.stderr))
    if args.dry_run and report.message:
        for rcpt in report.would_send:
            print(f"would send to {rcpt}")
        for rcpt, state in report.already:
            print(f"already {state}: {rcpt}")
        mail = message_from_bytes(report.message, policy=policy.default)
        print()
        for name, value in mail.items():
            if name.lower() not in ("content-type", "mime-version", "content-transfer-encoding"):
                print(f"{name}: {value}")
        body = mail.get_body(("plain",))
        print()
        print(body.get_content() if body is not None else "", end="")
    print(f"{digest.period}: {report.summary()}")
    if report.failed or report.deferred:
        first = (report.failed or report.deferred)[0][1]
        raise DeliveryError(f"{digest.period}: not delivered to every recipient ({first})")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    """Fetch new parts of the configured remote archives, then ingest them."""
    from .sync import selected, sync

    settings = _settings(args)
    selected(settings, args.list_name)   # a config mistake is reported before the store opens
    show_bars = not args.no_progress and sys.stderr.isatty()

    def bar(label: str) -> Any:
        """A tqdm bar per list, fed the list's running count of messages."""
        from tqdm import tqdm

        t = tqdm(desc=label, unit=" messages", file=sys.stderr, dynamic_ncols=True, leave=False)

        class Report:
            def __call__(self, done: int) -> None:
                t.update(max(0, done - t.n))

            def close(self) -> None:
                t.close()

        return Report()

    with _open_store(settings.store, create=True) as store:
        summaries = sync(settings, store, list_name=args.list_name, offline=args.offline,
                         with_html=args.with_html, progress_factory=bar if show_bars else None)
    for summary in summaries:
        print(summary.line())
    return 1 if summaries and all(s.error for s in summaries) else 0


# --- parser ---------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="Partnership announcements from the Wikimedia mailing lists: "
                    "archive, search and weekly digests.")
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    parser.add_argument("--store", metavar="URL",
                        help="store: a path means SQLite (default: $DIGEST_STORE, the config's "
                             "store, or a file in the user's data directory)")
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: $DIGEST_CONFIG or ./digest.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("ingest", help="ingest local archives into the store")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="mbox, Maildir, .eml, pipermail .txt(.gz), HyperKitty .mbox.gz")
    p.add_argument("--list", dest="list_name", metavar="NAME",
                   help="list the messages belong to, when the archive does not say")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parser processes (default: one per core)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("stats", help="counts by list and month")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--defects", action="store_true", help="list every recorded defect")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("show", help="one message with its links and verdict")
    p.add_argument("ident", metavar="MESSAGE-ID",
                   help="Message-ID, Message-ID-Hash or archive URL")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--full", action="store_true",
                   help="also print the quoted text and the list footer")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("links", help="links of each message in an archive, without storing")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.set_defaults(func=cmd_links)

    p = sub.add_parser("classify", help="partnership verdicts for an archive, without storing")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--json", action="store_true", help="one JSON object per message")
    p.add_argument("--explain", action="store_true", help="show each reason with its weight")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("reclassify",
                       help="classify the stored messages again after the rules changed")
    p.add_argument("--all", action="store_true",
                   help="every message, not only those whose verdict other rules made")
    p.add_argument("--dry-run", action="store_true",
                   help="show the verdicts that would flip, write nothing")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per flipped verdict (the summary goes to stderr)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_reclassify)

    p = sub.add_parser("build", help="build a weekly digest")
    p.add_argument("--week", default=None,
                   help="ISO week such as 2017-W22, or 'latest' (default: last complete week)")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="period start (inclusive)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="period end (inclusive)")
    p.add_argument("--format", default="text",
                   choices=["text", "html", "wikitext", "markdown", "atom", "json", "eml",
                            "mime-digest"])
    p.add_argument("--templates", metavar="DIR", help="folder of templates overriding the bundled")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("send", help="build and deliver a digest to the configured recipients")
    p.add_argument("--week", default=None, help="ISO week, or 'latest' (default: last complete week)")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    p.add_argument("--templates", metavar="DIR", help="folder of templates overriding the bundled")
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("sync", help="fetch new remote archive parts, then ingest them")
    p.add_argument("--list", dest="list_name", metavar="NAME", help="only this configured list")
    p.add_argument("--offline", action="store_true",
                   help="re-ingest the download cache without the network")
    p.add_argument("--with-html", action="store_true",
                   help="also read pipermail per-message pages (link targets, HTML mail)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sync)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DigestError as exc:
        print(f"digest: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digest: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
