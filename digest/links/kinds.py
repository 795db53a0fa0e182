"""What a URL points at: its kind (wiki page, blog, phabricator, mailing list, social,
document, contact, other), wiki project and page title, and whether it is list boilerplate;
and url_info, every fact that depends on the written URL alone, computed once per URL.

Digests group and drop links by these facts; they depend on the host far more than on the
path, so the host's share is worked out once per host.
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, unquote

from ..model import LinkKind
from .urls import host_of, normalise, split


@lru_cache(maxsize=8192)
def url_info(written: str) -> tuple[str, str, LinkKind, str | None, str | None, bool] | None:
    """Everything that depends on the URL alone, computed once per distinct URL.

    List footers repeat the same few URLs in thousands of messages, so this cache carries
    much of the load at ingest.
    """
    parts = normalise(written)
    if parts is None:
        return None
    url, display, host, path, query = parts
    kind, project, title = _AS_CONTACT if not host else _kind_of(host, path, query)
    return url, display, kind, project, title, is_boilerplate_url(url)


_WIKI_FAMILIES = frozenset((
    "wikipedia.org", "wiktionary.org", "wikibooks.org", "wikinews.org", "wikiquote.org",
    "wikisource.org", "wikiversity.org", "wikivoyage.org", "wikimedia.org", "wikidata.org",
    "mediawiki.org", "wikimediafoundation.org", "wikispecies.org", "wikifunctions.org"))

_SOCIAL = frozenset((
    "twitter.com", "x.com", "facebook.com", "fb.com", "fb.me", "instagram.com", "youtube.com",
    "youtu.be", "linkedin.com", "mastodon.social", "wikimedia.social", "t.me", "telegram.me",
    "tiktok.com", "vimeo.com", "reddit.com", "flickr.com", "threads.net", "bsky.app", "t.co",
    "meetup.com", "vk.com", "weibo.com"))

_DOC_HOSTS = frozenset(("docs.google.com", "drive.google.com", "dropbox.com", "box.com",
                        "onedrive.live.com", "1drv.ms", "slideshare.net", "scribd.com"))

_DOC_EXT = (".pdf", ".doc", ".docx", ".odt", ".ods", ".odp", ".xls", ".xlsx", ".ppt", ".pptx",
            ".rtf", ".csv", ".epub")

_BLOG_HOSTS = frozenset(("diff.wikimedia.org", "blog.wikimedia.org", "medium.com",
                         "wordpress.com", "blogspot.com", "substack.com"))

_LIST_HOSTS = frozenset(("mail-archive.com", "marc.info", "groups.google.com", "gmane.org"))


def link_kind(url: str) -> tuple[LinkKind, str | None, str | None]:
    """(kind, wiki project, decoded wiki title) of a normalised URL."""
    if url.startswith("mailto:"):
        return LinkKind.CONTACT, None, None
    if "://" not in url:
        return LinkKind.OTHER, None, None
    _, netloc, path, query, _ = split(url)
    return _kind_of(host_of(netloc)[1].lower(), path, query)


_AS_BLOG = (LinkKind.BLOG, None, None)
_AS_PHABRICATOR = (LinkKind.PHABRICATOR, None, None)
_AS_LIST = (LinkKind.MAILING_LIST, None, None)
_AS_SOCIAL = (LinkKind.SOCIAL, None, None)
_AS_DOCUMENT = (LinkKind.DOCUMENT, None, None)
_AS_OTHER = (LinkKind.OTHER, None, None)
_AS_CONTACT = (LinkKind.CONTACT, None, None)


@lru_cache(maxsize=2048)
def _host_kind(host: str) -> tuple[str | None, tuple[LinkKind, None, None] | None]:
    """(wiki project if the host is a wiki's, the first kind the host alone decides): what
    _kind_of needs of a host, worked out once per host rather than once per URL."""
    labels = host.split(".")
    # the host and what follows each of its dots but the last ("a.b.org" -> a.b.org, b.org)
    suffixes: set[str] = set()
    last = host.rfind(".")
    if last >= 0:
        suffixes.add(host)
        dot = host.find(".")
        while dot < last:
            suffixes.add(host[dot + 1:])
            dot = host.find(".", dot + 1)
    wiki = (not suffixes.isdisjoint(_WIKI_FAMILIES)
            and not host.startswith(("lists.", "phabricator.")))
    # in _kind_of's order, each kind it would pick on the host alone
    if not suffixes.isdisjoint(_BLOG_HOSTS) or host.startswith("blog."):
        kind = _AS_BLOG
    elif host.startswith(("phabricator.", "phab.", "bugzilla.")):
        kind = _AS_PHABRICATOR
    elif host.startswith("lists.") or not suffixes.isdisjoint(_LIST_HOSTS):
        kind = _AS_LIST
    elif not suffixes.isdisjoint(_SOCIAL) or host.startswith(("mastodon.", "social.")):
        kind = _AS_SOCIAL
    elif (not suffixes.isdisjoint(_DOC_HOSTS) or "etherpad" in host
          or host.startswith("pad.")):
        kind = _AS_DOCUMENT
    else:
        kind = None
    return (_project(labels) if wiki else None), kind


def _kind_of(host: str, path: str, query: str) -> tuple[LinkKind, str | None, str | None]:
    project, kind = _host_kind(host)
    lpath = path.lower()
    if project is not None:
        title = None
        if path.startswith("/wiki/"):
            title = path[6:]
        elif lpath.startswith("/w/index.php"):
            title = dict(parse_qsl(query)).get("title")
        if title:
            if "%" in title:
                title = unquote(title, errors="replace")
            title = title.replace("_", " ").strip()
            return LinkKind.WIKI, project, title or None
    # blog, phabricator, mailing list, social, document: by host or path, in this order
    if kind is _AS_BLOG or "/blog/" in lpath:
        return _AS_BLOG
    if kind is _AS_PHABRICATOR or kind is _AS_LIST:
        return kind
    if ("/pipermail/" in lpath or "/mailman/" in lpath or "/hyperkitty/" in lpath
            or "/postorius/" in lpath):
        return _AS_LIST
    if kind is not None:
        return kind
    if lpath.endswith(_DOC_EXT):
        return _AS_DOCUMENT
    return _AS_OTHER


def _project(labels: list[str]) -> str:
    """"en.m.wikipedia.org" -> "en.wikipedia", "www.wikidata.org" -> "wikidata"."""
    kept = [x for x in labels if x not in ("www", "m")]
    if kept and kept[-1] == "org":
        kept = kept[:-1]
    return ".".join(kept)


def is_boilerplate_url(url: str) -> bool:
    """List machinery: listinfo/Postorius pages, guidelines, unsubscribe, scrubbed attachments."""
    low = url.lower()
    if low.startswith("mailto:"):
        addr = low[7:]
        return ("unsubscribe" in addr or "-request@" in addr or "-leave@" in addr
                or "-owner@" in addr)
    if ("/mailman/listinfo/" in low or "/mailman/options/" in low or "/postorius/lists/" in low
            or "mailing_lists/guidelines" in low or "unsubscribe" in low):
        return True
    if "/pipermail/" in low and "/attachments/" in low:
        return True
    # HyperKitty: /hyperkitty/list/L/message/H/attachment/N/name
    return "/hyperkitty/" in low and "/attachment/" in low
