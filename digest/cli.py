"""`digest ...`: the command-line face. Thin: parse arguments, call the stages, print.

Stage modules are imported inside the command functions so that `digest --help` and
`digest search` start fast. Every DigestError becomes one line on stderr and exit status 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import DigestError

if TYPE_CHECKING:
    from .config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    from .config import load_settings

    return load_settings(config=args.config, store=args.store)


def _print_json(obj: Any) -> None:
    """JSON output is one object per line (DESIGN.md)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=False, default=str) + "\n")


# --- commands -------------------------------------------------------------------------------

def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest local archives (format sniffed from content) into the store."""
    raise DigestError("ingest: not built yet")


def cmd_stats(args: argparse.Namespace) -> int:
    """Counts by list and month; with --defects, every recorded defect."""
    raise DigestError("stats: not built yet")


def cmd_show(args: argparse.Namespace) -> int:
    """One stored message with its parts, links and verdict."""
    raise DigestError("show: not built yet")


def cmd_links(args: argparse.Namespace) -> int:
    """Links of each message in an archive file, without storing."""
    raise DigestError("links: not built yet")


def cmd_classify(args: argparse.Namespace) -> int:
    """Partnership verdicts of each message in an archive file, without storing."""
    raise DigestError("classify: not built yet")


def cmd_build(args: argparse.Namespace) -> int:
    """Build one period's digest in one format."""
    raise DigestError("build: not built yet")


def cmd_send(args: argparse.Namespace) -> int:
    """Build and deliver a period's digest to the configured recipients, exactly once."""
    raise DigestError("send: not built yet")


def cmd_sync(args: argparse.Namespace) -> int:
    """Fetch new parts of the configured remote archives, then ingest them."""
    raise DigestError("sync: not built yet")


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
