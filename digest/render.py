"""Digest -> text | html | wikitext | markdown | atom | json | eml | mime-digest.

The only module that loads templates. Layout lives in templates/ (overridable folder first, the
bundled `digest.templates` second); everything that needs care (wrapping at 72 columns without
breaking URLs, escaping for wikitext and Markdown, citation links) is a Python filter registered on
the environment, so an overriding template gets it for free.
"""
from __future__ import annotations

import hashlib
import json
import re
import textwrap
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, parseaddr
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import (ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError,
                    TemplateNotFound)
from markupsafe import Markup, escape

from .compose import digest_key
from .config import DigestSettings
from .errors import DigestError
from .model import Digest, Entry, Message, Reference

FORMATS = ("text", "html", "wikitext", "markdown", "atom", "json", "eml", "mime-digest")
WIDTH = 72
TEMPLATES = {"text": "digest.txt.j2", "html": "digest.html.j2", "wikitext": "digest.wikitext.j2",
             "markdown": "digest.md.j2", "atom": "feed.atom.j2"}
CONTENTS_TEMPLATE = "digest.contents.txt.j2"   # first part of a MIME digest: contents + references

LIST_NAMES = {"wikimediaannounce-l": "WikimediaAnnounce-l", "wikimedia-l": "Wikimedia-l",
              "foundation-l": "Foundation-l"}
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


# --- entry point --------------------------------------------------------------------------------

def render(digest: Digest, fmt: str, *, settings: DigestSettings,
           templates_dir: str | None = None,
           messages: Mapping[str, Message] | None = None) -> str | bytes:
    """The digest in one format: str for the textual ones, bytes for eml and mime-digest."""
    if fmt == "json":
        return to_json(digest)
    if fmt == "eml":
        return email_message(digest, settings, templates_dir=templates_dir).as_bytes()
    if fmt == "mime-digest":
        return mime_digest(digest, settings, messages or {}, templates_dir=templates_dir).as_bytes()
    if fmt not in TEMPLATES:
        raise DigestError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    return render_template(TEMPLATES[fmt], digest, settings, templates_dir)


def subject(digest: Digest, settings: DigestSettings) -> str:
    """`[Partnerships digest] 2017-W22: 3 announcements`."""
    n = len(digest.entries)
    count = "no announcements" if n == 0 else f"{n} announcement{'s' if n != 1 else ''}"
    return f"{settings.subject_prefix} {digest.period}: {count}".strip()


# --- templates ----------------------------------------------------------------------------------

def bundled_templates() -> Path:
    """The templates shipped with the package (top-level templates/ in a checkout)."""
    return Path(str(files("digest.templates")))


def environment(templates_dir: str | None = None) -> Environment:
    """A Jinja2 environment: the override folder first, then the bundled templates."""
    loaders = []
    if templates_dir:
        if not Path(templates_dir).is_dir():
            raise DigestError(f"{templates_dir}: templates folder not found")
        loaders.append(FileSystemLoader(templates_dir))
    loaders.append(FileSystemLoader(str(bundled_templates())))
    env = Environment(loader=ChoiceLoader(loaders), autoescape=_autoescape, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined)
    env.filters.update(wrap=wrap, ref_text=ref_text, list_name=list_name,
                       lists_phrase=lists_phrase, lists_line=lists_line, day=day,
                       period_line=period_line, cites=cites, cite_html=cite_html, href=href,
                       wiki=wiki, wiki_url=wiki_url, wiki_cite=wiki_cite, md=md, md_cite=md_cite,
                       md_url=md_url,
                       rfc3339=rfc3339, plural=plural)
    return env


def _autoescape(name: str | None) -> bool:
    return bool(name) and any(part in name for part in (".html", ".atom", ".xml"))


def render_template(name: str, digest: Digest, settings: DigestSettings,
                    templates_dir: str | None = None) -> str:
    env = environment(templates_dir)
    try:
        template = env.get_template(name)
        return template.render(**context(digest, settings))
    except TemplateNotFound as exc:
        raise DigestError(f"template {exc.name} not found") from None
    except TemplateError as exc:
        where = getattr(exc, "filename", None) or getattr(exc, "name", None) or name
        line = getattr(exc, "lineno", None)
        raise DigestError(f"{where}{f':{line}' if line else ''}: {exc.message}") from None


def context(digest: Digest, settings: DigestSettings) -> dict[str, Any]:
    """What every template sees."""
    refs = {r.number: r for r in digest.references}
    return {
        "digest": digest, "settings": settings, "refs": refs, "subject": subject(digest, settings),
        "entries": digest.entries, "references": digest.references,
        "feed_id": stable_urn(digest_key(digest)),
        "entry_ids": {e.key: stable_urn(e.msgid_hash or e.message_id or e.key)
                      for e in digest.entries},
        "updated": max((e.date for e in digest.entries), default=digest.start),
        "rule": "-" * 70, "width": WIDTH,
        "sender_name": next((part for part in parseaddr(settings.sender) if part), "digest"),
    }


# --- filters: text ------------------------------------------------------------------------------

def wrap(text: Any, width: int = WIDTH, indent: int = 0, subsequent: int | None = None) -> str:
    """Wrap at `width` columns, never inside a word: a URL longer than a line stands alone."""
    first = " " * indent
    rest = " " * (indent if subsequent is None else subsequent)
    out: list[str] = []
    for para in str(text).split("\n"):
        if not para.strip():
            out.append("")
            continue
        out.extend(textwrap.wrap(para, width, initial_indent=first, subsequent_indent=rest,
                                 break_long_words=False, break_on_hyphens=False))
    return "\n".join(out)


def ref_text(ref: Reference, width: int = WIDTH) -> str:
    """`[n] label` then the URL alone on the next line; `[n] URL` when there is no label."""
    head = f"[{ref.number}]"
    if ref.label:
        return wrap(f"{head} {ref.label}", width, 0, 4) + "\n    " + ref.url
    return f"{head} {ref.url}"


def list_name(name: str) -> str:
    return LIST_NAMES.get(name.lower(), name[:1].upper() + name[1:])


def lists_phrase(names: Sequence[str]) -> str:
    shown = [list_name(n) for n in names]
    if not shown:
        return "the lists"
    if len(shown) == 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def plural(n: int, word: str, many: str = "") -> str:
    """`1 reply`, `2 replies` (`many` for a plural that is not word + "s")."""
    return f"{n} {word if n == 1 else many or word + 's'}"


def lists_line(entry: Entry) -> str:
    """`WikimediaAnnounce-l, also posted to Wikimedia-l - 6 replies`."""
    line = list_name(entry.lists[0]) if entry.lists else ""
    if len(entry.lists) > 1:
        line += ", also posted to " + lists_phrase(entry.lists[1:])
    if entry.replies:
        line += f" - {plural(entry.replies, 'reply', 'replies')}"
    return line


def day(value: datetime, weekday: bool = True, year: bool = True) -> str:
    """`Wed 10 May 2017`, in English whatever the locale."""
    text = f"{value.day} {_MONTHS[value.month - 1][:3] if weekday else _MONTHS[value.month - 1]}"
    if weekday:
        text = f"{_DAYS[value.weekday()][:3]} {text}"
    return f"{text} {value.year}" if year else text


def period_line(digest: Digest) -> str:
    """`Week 19 of 2017 (Monday 8 May - Sunday 14 May, UTC)`."""
    first, last = digest.start, digest.end - timedelta(days=1)
    same_year = first.year == last.year

    def long(d: datetime, with_year: bool) -> str:
        text = f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]}"
        return f"{text} {d.year}" if with_year else text

    span = f"{long(first, not same_year)} - {long(last, not same_year)}"
    match = re.fullmatch(r"(\d{4})-W(\d{2})", digest.period)
    if match:
        return f"Week {int(match.group(2))} of {match.group(1)} ({span}, {digest.timezone})"
    if same_year:
        span += f" {last.year}"
    return f"{span} ({digest.timezone})"


def cites(numbers: Sequence[int]) -> str:
    return " ".join(f"[{n}]" for n in numbers)


# --- filters: html ------------------------------------------------------------------------------

_MARK = re.compile(r"\[(\d+)\]")
_CITE_STYLE = "color:#3366cc;text-decoration:none;font-size:0.85em;"


def href(url: str | None) -> str:
    """Only web links become hrefs; anything else is neutralised."""
    return url if url and url.lower().startswith(("http://", "https://")) else "#"


def cite_html(text: str, refs: Mapping[int, Reference]) -> Markup:
    """Escape message text, then turn its [n] markers into links to the numbered references."""
    def link(match: re.Match[str]) -> str:
        ref = refs.get(int(match.group(1)))
        if ref is None:
            return match.group(0)
        title = f' title="{escape(ref.label)}"' if ref.label else ""
        return (f'<a href="{escape(href(ref.url))}"{title} style="{_CITE_STYLE}" '
                f'class="cite">[{ref.number}]</a>')

    return Markup(_MARK.sub(link, str(escape(text))))


# --- filters: wikitext --------------------------------------------------------------------------

_WIKI_CHARS = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "&#91;", "]": "&#93;", "{": "&#123;",
               "}": "&#125;", "|": "&#124;", "'": "&#39;", "~": "&#126;", "=": "&#61;",
               "_": "&#95;"}
_WIKI_URL = {" ": "%20", "[": "%5B", "]": "%5D", "<": "%3C", ">": "%3E", '"': "%22", "{": "%7B",
             "}": "%7D", "|": "%7C", "'": "%27"}


def _wiki_escape(text: str) -> str:
    out = "".join(_WIKI_CHARS.get(c, c) for c in text)
    return out.replace("://", "&#58;//")             # no free external links from prose


def _wiki_line_start(text: str) -> str:
    if text[:1] in ("*", "#", ":", ";", "-", " "):
        return f"&#{ord(text[0])};{text[1:]}"
    return text


def wiki(text: Any) -> str:
    """Message text made inert in wikitext: no markup, templates, links or signatures."""
    return _wiki_line_start(_wiki_escape(" ".join(str(text).split())))


def wiki_url(url: str) -> str:
    return "".join(_WIKI_URL.get(c, c) for c in href(url))


def wiki_cite(text: str, refs: Mapping[int, Reference]) -> str:
    """Escaped text whose [n] markers are external links to the referenced URLs."""
    def piece(part: str) -> str:
        match = _MARK.fullmatch(part)
        if not match:
            return _wiki_escape(part)
        ref = refs.get(int(match.group(1)))
        if ref is None:
            return _wiki_escape(part)
        return f"[{wiki_url(ref.url)} &#91;{ref.number}&#93;]"

    pieces = re.split(r"(\[\d+\])", " ".join(str(text).split()))
    return _wiki_line_start("".join(piece(p) for p in pieces))


# --- filters: markdown --------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md(text: Any) -> str:
    """Message text with Markdown's inline syntax escaped."""
    out = _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    out = re.sub(r"^([#+\-]|\d+[.)])", r"\\\1", out)
    return out


def md_cite(text: str, refs: Mapping[int, Reference]) -> str:
    """Escaped text whose [n] markers link to the referenced URLs."""
    def link(number: str) -> str:
        ref = refs.get(int(number))
        if ref is None:
            return md(f"[{number}]")
        return f"[\\[{ref.number}\\]](<{md_url(ref.url)}>)"

    pieces = re.split(r"(\[\d+\])", " ".join(str(text).split()))
    return "".join(link(p[1:-1]) if _MARK.fullmatch(p) else md_inline(p) for p in pieces)


def md_url(url: str) -> str:
    """A URL safe inside Markdown's <...> (link destination or autolink)."""
    return href(url).replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def md_inline(text: str) -> str:
    """Like md() but keeps edge spaces (pieces of a sentence)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


# --- filters: atom ------------------------------------------------------------------------------

def rfc3339(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat()


def stable_urn(name: str) -> str:
    """A UUID URN derived from a stable name (Message-ID-Hash, digest key): same input, same id."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"digest:{name}").urn


# --- json ---------------------------------------------------------------------------------------

def to_json(digest: Digest) -> str:
    """One JSON object on one line (the CLI's JSON convention)."""
    data = asdict(digest)
    return json.dumps(data, ensure_ascii=False, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --- email --------------------------------------------------------------------------------------

def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _domain(settings: DigestSettings) -> str:
    addr = parseaddr(settings.sender)[1]
    return addr.rpartition("@")[2] or "digest.invalid"


def message_id(digest: Digest, settings: DigestSettings) -> str:
    """Deterministic: the same digest always has the same Message-ID."""
    return f"<digest.{_hash(digest_key(digest))[:24]}@{_domain(settings)}>"


def _headers(msg: EmailMessage, digest: Digest, settings: DigestSettings,
             to: Sequence[str] | None) -> None:
    recipients = list(to if to is not None else settings.recipients)
    msg["Subject"] = subject(digest, settings)
    msg["From"] = settings.sender
    msg["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    msg["Date"] = format_datetime(digest.end)
    msg["Message-ID"] = message_id(digest, settings)
    if settings.list_unsubscribe:
        msg["List-Unsubscribe"] = settings.list_unsubscribe
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "bulk"


def email_message(digest: Digest, settings: DigestSettings, *, templates_dir: str | None = None,
                  to: Sequence[str] | None = None) -> EmailMessage:
    """The digest as one email: multipart/alternative of the text and HTML renderings, UTF-8,
    with boundaries derived from the digest so the bytes are reproducible."""
    text = render_template(TEMPLATES["text"], digest, settings, templates_dir)
    html = render_template(TEMPLATES["html"], digest, settings, templates_dir)
    msg = EmailMessage(policy=SMTP_POLICY)
    _headers(msg, digest, settings, to)
    msg.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    msg.set_boundary(f"=_alt_{_hash(digest_key(digest) + text + html)[:20]}")
    return msg


def rfc822(message: Message, number: int, permalink: str | None = None) -> EmailMessage:
    """A stored message regenerated as mail (the headers Mailman keeps in digests)."""
    msg = EmailMessage(policy=SMTP_POLICY)
    if message.date is not None:
        msg["Date"] = format_datetime(message.date)
    msg["From"] = formataddr((message.from_name, message.from_addr)) if message.from_addr \
        else (message.from_name or "unknown")
    if message.lists:
        msg["To"] = ", ".join(f"{name}@lists.wikimedia.org" for name in message.lists)
    msg["Subject"] = message.subject or "(no subject)"
    if message.message_id:
        msg["Message-ID"] = f"<{message.message_id}>"
    if message.in_reply_to:
        msg["In-Reply-To"] = f"<{message.in_reply_to}>"
    if message.references:
        msg["References"] = " ".join(f"<{r}>" for r in message.references)
    if permalink:
        msg["Archived-At"] = f"<{permalink}>"
    msg["Message"] = str(number)
    msg.set_content(message.text or message.new_text or "", subtype="plain", charset="utf-8",
                    cte="quoted-printable")
    return msg


def mime_digest(digest: Digest, settings: DigestSettings, messages: Mapping[str, Message], *,
                templates_dir: str | None = None, to: Sequence[str] | None = None) -> EmailMessage:
    """A burstable digest as Mailman sends them: multipart/mixed of the contents and references
    (text/plain) and a multipart/digest of the original messages as message/rfc822 parts."""
    missing = [e.key for e in digest.entries if e.key not in messages]
    if missing:
        raise DigestError(
            f"mime-digest: message {missing[0]!r} was not given (read it from the store)")
    contents = render_template(CONTENTS_TEMPLATE, digest, settings, templates_dir)
    outer = EmailMessage(policy=SMTP_POLICY)
    _headers(outer, digest, settings, to)
    outer.make_mixed()
    first = EmailMessage(policy=SMTP_POLICY)
    first.set_content(contents, subtype="plain", charset="utf-8", cte="quoted-printable")
    first["Content-Description"] = f"Contents ({plural(len(digest.entries), 'message')})"
    outer.attach(first)
    if digest.entries:
        inner = EmailMessage(policy=SMTP_POLICY)
        inner.set_type("multipart/digest")
        del inner["MIME-Version"]
        for number, entry in enumerate(digest.entries, 1):
            part = EmailMessage(policy=SMTP_POLICY)
            part.set_content(rfc822(messages[entry.key], number, entry.permalink))
            inner.attach(part)
        inner.set_boundary(f"=_digest_{_hash(digest_key(digest) + 'digest')[:20]}")
        outer.attach(inner)
    outer.set_boundary(f"=_mixed_{_hash(digest_key(digest) + contents)[:20]}")
    return outer
